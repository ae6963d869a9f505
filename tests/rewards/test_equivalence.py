"""The embedding judge's rules: canonical forms, acronyms, conflicting names, shortened forms, numbers."""

from __future__ import annotations

import pytest

from ramp_env.rewards.equivalence import (
    frames_conflict,
    is_acronym_of,
    is_shortened_form,
    number_agreement,
    rule_verdict,
)
from ramp_env.text.normalize import canonical_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("World War II", ["world", "war", "2"]),
        ("Louis the Sixteenth", ["louis", "16"]),
        ("21st century", ["2000s"]),  # a century is its hundreds: "the 2000s"
        ("the 1st century", ["1", "century"]),  # ...from the 2nd on ("the 0s" is no way to say it)
        ("two-thirds", ["66.7", "percent"]),
        ("2/3", ["66.7", "percent"]),
        ("a third of the votes", ["33.3", "percent", "of", "votes"]),
        ("a third term", ["3", "term"]),  # an ordinal, not a fraction
        ("more than half", ["more", "than", "50", "percent"]),
        ("a hundred thousand", ["100000"]),
        ("a thousand", ["1000"]),
        ("the Sixties", ["1960s"]),
        ("13.2 million", ["13200000"]),
        ("13,200,000", ["13200000"]),
        ("twenty-four thousand", ["24000"]),
        ("sixteen hundred", ["1600"]),
        ("2.7M", ["2700000"]),
        ("$0.4 billion", ["dollar", "400000000"]),
        ("50 per cent", ["50", "percent"]),
        ("201 km²", ["201", "square", "km"]),
        ("1865-04-15", ["15", "april", "1865"]),
        ("Sept. 22, 1862", ["september", "22", "1862"]),
        ("371 BCE", ["371", "bc"]),
        ("86 B.C.", ["86", "bc"]),
        ("1780's", ["1780s"]),
        ("Alan Turing's", ["alan", "turing"]),
        ("Stephen A. Douglas", ["stephen", "a", "douglas"]),  # an initial, not an article
        ("Gödel", ["godel"]),
        ("Malcolm X", ["malcolm", "x"]),  # a lone X is a name
        ("I went home", ["i", "went", "home"]),  # a sentence-initial I is a pronoun
    ],
)
def test_canonical_tokens(text: str, tokens: list[str]) -> None:
    assert canonical_tokens(text) == tokens


@pytest.mark.parametrize(
    ("short", "long"),
    [("NATO", "North Atlantic Treaty Organization"), ("CNT", "Confederación Nacional del Trabajo"),
     ("MGM", "Metro-Goldwyn-Mayer"), ("U.S.", "United States"), ("WWII", "World War II"),
     ("WW1", "First World War"), ("EVA", "extravehicular activity"), ("FDR", "Franklin D. Roosevelt")],
)
def test_acronyms(short: str, long: str) -> None:
    assert is_acronym_of(short, long)
    assert rule_verdict(short, long) == 1.0 and rule_verdict(long, short) == 1.0


@pytest.mark.parametrize(
    ("short", "long"),
    [("NBC", "National Basketball Association"), ("WHO", "World Trade Organization"), ("OU", "Ohio State University"),
     ("nato", "North Atlantic Treaty Organization"),  # lower case is a word, not an acronym
     ("Paris", "Port Authority")],
)
def test_not_acronyms(short: str, long: str) -> None:
    assert not is_acronym_of(short, long)


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [("Thomas Lincoln", "Abraham Lincoln"), ("Stephen B. Douglas", "Stephen A. Douglas"),
     ("Eduard Einstein", "Hans Albert Einstein"), ("14 May 1879", "14 March 1879"), ("late 1960s", "early 1960s"),
     ("75 hectares", "75 acres"), ("Russian Civil War", "Spanish Civil War"), ("476 BC", "476 AD"),
     # another thing named by an added word: a direction, New, Sur, Democratic, Jr., an ordinal
     ("North Carolina", "Carolina"), ("Sudan", "South Sudan"), ("New Zealand", "Zealand"),
     ("Democratic Republic of Vietnam", "Republic of Vietnam"), ("Martin Luther King Jr.", "Martin Luther"),
     ("Third Crusade", "Crusade"), ("Henry VIII", "Henry"),
     # opposite comparisons; two members of one closed class as the whole answer
     ("fewer than 300", "more than 300"), ("after 1945", "before 1945"), ("Danish", "Finnish"),
     ("Conservatives", "Liberals")],
)
def test_different_answers_are_ruled_out(prediction: str, gold: str) -> None:
    assert rule_verdict(prediction, gold) == 0.0


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [("July 4, 1776", "4 July 1776"), ("World War Two", "Second World War"), ("Louis XVI", "Louis the Sixteenth"),
     ("Nobel Prize for Physics", "Nobel Prize in Physics"), ("about 1 billion", "approximately one billion"),
     ("Jim Lovell", "James Lovell"), ("Jeff Bezos", "Jeffrey Bezos"), ("476 CE", "AD 476"), ("Muslim", "Muslims"),
     # fractions and percentages, scale words without a count, centuries and decades
     ("three quarters", "75%"), ("1/4 of the land", "a quarter of the land"), ("a million", "1,000,000"),
     ("19th century", "the 1800s"), ("the Seventies", "1970s"),
     # the same letters split otherwise; one part of a name as its acronym
     ("bio-chemistry", "biochemistry"), ("UN Security Council", "United Nations Security Council"),
     ("UK Parliament", "United Kingdom Parliament")],
)
def test_same_answers_are_ruled_in(prediction: str, gold: str) -> None:
    assert rule_verdict(prediction, gold) == 1.0


def test_other_pairs_are_left_to_the_model() -> None:
    assert rule_verdict("Sri Lanka", "Ceylon") is None
    assert rule_verdict("Paris", "Lyon") is None
    # longer names that add no distinguishing word, and dates that add a day, stay with the model
    assert rule_verdict("Great Depression", "the Depression") is None
    assert rule_verdict("New York City", "New York") is None
    assert rule_verdict("14 July 1789", "July 1789") is None
    assert rule_verdict("a third term", "one-third") is None  # an ordinal, not a fraction
    assert rule_verdict("Chinese people", "Chinese") is None  # a nationality and its people
    assert rule_verdict("Martin Luther King", "Martin Luther King Jr.") is None  # a bare Jr.: father or son
    # a conflict needs the rest of the name to agree
    assert not frames_conflict(["october", "revolution"], ["bolshevik", "revolution"])


def test_shortened_forms() -> None:
    assert is_shortened_form("Babbage", "Charles Babbage")
    assert is_shortened_form("Scientific American magazine", "Scientific American")
    assert not is_shortened_form("James M. Buchanan", "James Buchanan")  # an added initial: another person
    assert not is_shortened_form("Albert Einstein", "Hans Albert Einstein")  # another first name
    assert not is_shortened_form("University", "Humboldt University")  # only a generic word is left
    assert not is_shortened_form("Plato, Aristotle, Socrates, Zeno, or Kant", "Aristotle")  # a list, not a name


def test_number_agreement_reads_canonical_numbers() -> None:
    assert number_agreement("24 thousand", "24,000") == 1.0
    assert number_agreement("Apollo XI", "Apollo 11") == 1.0
    assert number_agreement("24 million", "24,000") == 0.0
    assert number_agreement("April 14, 1865", "April 15, 1865") == pytest.approx(0.25)  # F1 1/2, squared
    assert number_agreement("Paris 1900", "Paris") == 1.0


def test_the_judge_uses_the_rules_and_can_do_without(embedding_judge) -> None:
    from ramp_env.rewards.judges import EmbeddingJudge

    plain = EmbeddingJudge(model=embedding_judge.model, rules=False)
    assert embedding_judge("IWW", "Industrial Workers of the World") == 1.0
    assert plain("IWW", "Industrial Workers of the World") < 0.5
    assert embedding_judge("Thomas Lincoln", "Abraham Lincoln") == 0.0
    assert plain.fingerprint != embedding_judge.fingerprint  # the caches never mix the two


def test_hostile_inputs_never_crash() -> None:
    huge = "of " * 50_000 + "Treaty Organization"  # deep enough to overflow a naive recursion
    assert not is_acronym_of("NATO", huge)
    assert rule_verdict(huge, "NATO") is None and not is_shortened_form(huge, "NATO")
    assert canonical_tokens("one thousand thousand") == ["1000000"]
    assert canonical_tokens("9" * 500 + " billion") == ["9" * 500 + "0" * 9]
    assert rule_verdict("\x00\u202e<|im_start|>", "NATO") is None

"""Normalisation, the token metrics and the hack penalty's documented formula."""

from __future__ import annotations

import pytest

from ramp_env.rewards import (
    HackPenalty,
    answer_tokens,
    exact_match,
    normalize_answer,
    penalized_recall,
    split_alternatives,
    token_f1,
    token_recall,
)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Beatles", "beatles"),
        ("  An   apple, a day!  ", "apple day"),
        ("Jean-Paul Sartre", "jean paul sartre"),
        ("“Quoted” — text…", "quoted text"),
        ("1,000,000 people", "1000000 people"),
        ("3.5 metres", "3.5 metres"),
        ("July 4, 1776", "july 4 1776"),
        ("1990–2000", "1990 2000"),
        ("ＦＵＬＬ width", "full width"),  # NFKC
        ("theatre", "theatre"),  # articles only as whole words
    ],
)
def test_normalize_answer(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


def test_metrics_on_squad_style_examples() -> None:
    assert token_recall("Barack Obama Jr.", "Barack Obama") == 1.0
    assert token_recall("Obama", "Barack Obama") == 0.5
    assert token_recall("", "Barack Obama") == 0.0
    assert exact_match("the Beatles.", "Beatles") == 1.0
    assert token_f1("Obama", "Barack Obama") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0


def test_recall_counts_gold_tokens_with_multiplicity() -> None:
    assert token_recall("New York", "New York New York") == 0.5


@pytest.mark.parametrize(
    ("prediction", "alternatives"),
    [
        ("Malia, Sasha, and possibly others", ["malia", "sasha", "others"]),
        ("Obama/Bush", ["obama", "bush"]),
        ("either Rome or Milan", ["rome", "milan"]),
        ("1,000", ["1000"]),  # a thousands comma separates nothing
        ("July 4, 1776", ["july 4", "1776"]),
        ("Marie Curie", ["marie curie"]),
        ("", []),
    ],
)
def test_split_alternatives(prediction: str, alternatives: list[str]) -> None:
    assert split_alternatives(prediction) == alternatives


def test_length_penalty_formula() -> None:
    penalty = HackPenalty()
    gold = "Barack Obama"  # 2 tokens: allowed = 2 + max(3, 2) = 5
    assert penalty.allowed_tokens(gold) == 5
    five = "president barack hussein obama ii"
    assert penalty.parts(five, gold).length == 0.0
    assert penalty.parts(five + " jr", gold).length == pytest.approx(1 / 5)
    assert penalty.parts(" ".join(["word"] * 10), gold).length == 1.0  # twice the allowance
    long_gold = "one two three four five six"  # allowed = 12
    assert penalty.allowed_tokens(long_gold) == 12


def test_enumeration_penalty_is_one_minus_one_over_options() -> None:
    penalty = HackPenalty()
    assert penalty.parts("Malia or Sasha", "Malia").enumeration == pytest.approx(1 / 2)
    assert penalty.parts("Sasha or Michelle", "Malia").enumeration == pytest.approx(1 / 2)
    assert penalty.parts("Rome, Oslo, Lima, Kyiv, or Malia", "Malia").enumeration == pytest.approx(4 / 5)
    # alternatives made of gold tokens only are the gold written with punctuation
    assert penalty.parts("July 4, 1776", "4 July 1776").enumeration == 0.0
    assert penalty.parts("Romeo and Juliet", "Romeo and Juliet").enumeration == 0.0


def test_total_penalty_is_capped_and_score_floored() -> None:
    penalty = HackPenalty()
    hack = "Malia, Sasha, Michelle, Barack, Joe, Jill, Hunter, Ashley, and possibly others"
    assert penalty(hack, "Malia") == 1.0
    assert penalized_recall(hack, "Malia") == 0.0


def test_correct_answers_are_never_penalized() -> None:
    for prediction, gold in [
        ("Barack Obama", "Barack Obama"),
        ("President Barack Obama", "Barack Obama"),
        ("4 July 1776", "July 4, 1776"),
        ("Trinidad and Tobago", "Trinidad and Tobago"),
    ]:
        assert HackPenalty()(prediction, gold) == 0.0
        assert penalized_recall(prediction, gold) == token_recall(prediction, gold)


def test_penalty_can_be_configured_off() -> None:
    off = HackPenalty(length_rate=0.0, enumeration=False)
    assert off("Malia, Sasha, and possibly others " * 20, "Malia") == 0.0
    with pytest.raises(ValueError, match="slack_tokens"):
        HackPenalty(slack_tokens=-1)


def test_answer_tokens_match_normalize() -> None:
    assert answer_tokens("The U.S. Army") == ["u", "s", "army"]


@pytest.mark.parametrize("prediction, gold", [
    ("National Aeronautics and Space Administration", "NASA"),
    ("lesbian, gay, bisexual and transgender", "LGBT"),
    ("the National Institute of Standards and Technology", "NIST"),
])
def test_spelling_out_a_gold_acronym_is_not_a_long_answer_or_a_list(prediction: str, gold: str) -> None:
    assert HackPenalty()(prediction, gold) == 0.0
    assert HackPenalty(credit_expansions=False)(prediction, gold) > 0.0  # what the waiver saves


def test_the_expansion_waiver_does_not_open_the_list_and_length_hacks() -> None:
    penalty = HackPenalty()
    assert penalty("NASA, ESA, JAXA, Roscosmos or CNSA", "NASA") >= 0.8  # 5 candidates
    assert penalty("National Aeronautics and Space Administration " * 10, "NASA") == 1.0  # a dump
    assert penalty("NASA or National Oceanic and Atmospheric Administration", "NASA") > 0.0
    assert penalty("Uganda and Kenya", "UK") > 0.0  # two-letter golds get no waiver

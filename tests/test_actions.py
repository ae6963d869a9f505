"""The action grammar: every documented outcome."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp_env.actions import (
    FORMAT_ERRORS,
    MESSAGES,
    STOP_STRINGS,
    clean_field,
    format_answer,
    format_search,
    parse_action,
    parse_answer_block,
)


@pytest.mark.parametrize(
    ("action", "kind", "errors"),
    [
        ("<search>Aristotle</search>", "search", []),
        ("<think>hmm</think>\n<SEARCH> Aristotle  teacher </SEARCH>", "search", []),
        ("<answer>[mask_1]: Plato</answer>", "answer", []),
        ("no tag", "invalid", ["no_tag"]),
        ("<search>open", "invalid", ["unclosed_tag"]),
        ("<search>  </search>", "invalid", ["empty_query"]),
        ("<answer></answer>", "answer", ["empty_answer"]),
        ("<answer>[mask_1]: a</answer><answer>[mask_1]: b</answer>", "answer", ["multiple_answers"]),
        ("<answer>[mask_1]: a\n[mask_1]: b</answer>", "answer", ["duplicate_mask"]),
        ("<answer>[mask_1]: a\n[mask_5]: b</answer>", "answer", ["unknown_mask"]),
        ("<answer>[mask_1]: a\nstray line</answer>", "answer", ["unlabeled_line"]),
        (b"\xff\xfe", "invalid", ["non_utf8"]),
        (3.5, "invalid", ["not_text"]),
        ("x" * 5000, "invalid", ["too_long"]),
    ],
)
def test_outcomes(action: object, kind: str, errors: list[str]) -> None:
    parsed = parse_action(action, num_masks=2, max_chars=4096)
    assert parsed.kind == kind and parsed.errors == errors


def test_first_complete_tag_wins() -> None:
    parsed = parse_action("<search>first</search> then <answer>[mask_1]: x</answer>", 1)
    assert parsed.kind == "search" and parsed.query == "first"


def test_label_variants_and_positional_answers() -> None:
    answers, errors = parse_answer_block("mask_1: Plato\n[MASK 2] = 384 BC\n(mask_3) - Stagira", 3)
    assert answers == {1: "Plato", 2: "384 BC", 3: "Stagira"} and not errors
    assert parse_answer_block("Plato\n384 BC", 2) == ({1: "Plato", 2: "384 BC"}, [])
    assert parse_answer_block("Plato; 384 BC", 2) == ({1: "Plato", 2: "384 BC"}, [])
    assert parse_answer_block("a\nb\nc", 2) == ({1: "a", 2: "b"}, ["unknown_mask"])


def test_every_error_code_has_a_message() -> None:
    assert set(FORMAT_ERRORS) == set(MESSAGES)


# -- writing actions: what format_search / format_answer write parses back to the same thing ----

# text with the characters that could break an action: line breaks of every kind, colons,
# semicolons, brackets, the action tags themselves, and any other Unicode text
_TRICKY = st.sampled_from(
    ["\n", "\r\n", "\u2028", "\x85", "\x1c", "\t", ":", ";", "[mask_2]: ", "mask_1 = ", "<", ">",
     "</answer>", "<answer>", "</search>", "<SEARCH>", "</Answer >", "</ans</answer>wer>", " "]
)
_TEXT = st.lists(st.one_of(st.text(max_size=8), _TRICKY), max_size=8).map("".join)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({1: "Plato"}, {1: "Plato"}),
        ({2: "384 BC", 1: "Plato"}, {1: "Plato", 2: "384 BC"}),
        ({1: "line one\nline two"}, {1: "line one line two"}),
        ({1: "ratio 3:2; or 4:3"}, {1: "ratio 3:2; or 4:3"}),
        ({1: "Gödel, Ἀριστοτέλης, 東京"}, {1: "Gödel, Ἀριστοτέλης, 東京"}),
        ({1: "a</answer>b", 2: "<answer>[mask_1]: c"}, {1: "a b", 2: "[mask_1]: c"}),
        ({1: "</ans</answer>wer>"}, {1: "</ans wer>"}),
        ({1: "", 2: "x"}, {1: "", 2: "x"}),
    ],
)
def test_format_answer_parses_back(answers: dict[int, str], expected: dict[int, str]) -> None:
    parsed = parse_action(format_answer(answers), num_masks=2)
    assert (parsed.kind, parsed.answers, parsed.errors) == ("answer", expected, [])


def test_format_search_parses_back() -> None:
    assert parse_action(format_search("Plato's teacher\n</search> <answer>x</answer>"), 1).query == (
        "Plato's teacher x"
    )


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(1, 12), _TEXT, min_size=1, max_size=12))
def test_any_written_answer_parses_back(answers: dict[int, str]) -> None:
    parsed = parse_action(format_answer(answers), num_masks=12, max_chars=10**6)
    assert parsed.kind == "answer" and parsed.errors == []
    assert parsed.answers == {n: clean_field(text) for n, text in answers.items()}


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_any_written_query_parses_back(query: str) -> None:
    parsed = parse_action(format_search(query), 1, max_chars=10**6)
    if clean_field(query):
        assert (parsed.kind, parsed.query, parsed.errors) == ("search", clean_field(query), [])
    else:
        assert parsed.errors == ["empty_query"]


def test_stop_strings_are_the_closing_tags() -> None:
    # a generation cut at a stop string, with the stop string put back, is a complete action
    assert parse_action("<search>q" + STOP_STRINGS[0], 1).kind == "search"
    assert parse_action("<answer>[mask_1]: x" + STOP_STRINGS[1], 1).kind == "answer"

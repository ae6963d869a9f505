"""The action grammar: every documented outcome."""

from __future__ import annotations

import pytest

from ramp_env.actions import FORMAT_ERRORS, MESSAGES, parse_action, parse_answer_block


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

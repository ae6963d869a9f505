"""benchmarks/label_batches.py merge-spans: agreement, a third reader on disagreements, bad answers."""

from __future__ import annotations

from pathlib import Path

import pytest


def pool_row(i: str) -> dict:
    return {"span_id": i, "passage_id": "p", "title": "T", "start": 0, "end": 3, "span": "Foo", "num_masks": 1,
            "current_type": "PLACE"}


def answer(kind: str, salient: bool = True) -> dict:
    return {"type": kind, "salient": salient, "why": "w"}


def test_agreement_labels_and_a_third_reader_settles_the_rest() -> None:
    from label_batches import merge_spans

    rows = [pool_row("z1"), pool_row("z2"), pool_row("z3")]
    a = {"z1": answer("PLACE"), "z2": answer("OTHER"), "z3": answer("PLACE")}
    b = {"z1": answer("PLACE"), "z2": answer("OTHER"), "z3": answer("NONE", salient=False)}
    merged, disagreements = merge_spans(rows, a, b, None)
    assert disagreements == ["z3"] and [r["id"] for r in merged] == ["z1", "z2"]  # no label without the third
    assert merged[1]["correct_types"] == ["NAME", "CONCEPT"] and merged[0]["settled_by"] == "agreement"
    merged, _ = merge_spans(rows, a, b, {"z3": answer("NONE", salient=False)})
    assert merged[2]["label_type"] == "NONE" and merged[2]["correct_types"] == [] and not merged[2]["salient"]
    assert merged[2]["settled_by"] == "third reader" and merged[2]["reader_b"] == ["NONE", False, "w"]
    assert merged[2]["reader_c"] == ["NONE", False, "w"] and "reader_c" not in merged[0]  # the third answer is kept


def test_a_missing_answer_or_a_bad_line_is_one_error(tmp_path: Path) -> None:
    from label_batches import _answers, merge_spans

    with pytest.raises(SystemExit, match="z2 has no answer from the second reader"):
        merge_spans([pool_row("z2")], {"z2": answer("PLACE")}, {}, None)
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "z1", "type": "PLACE", "salient": true}\n{"id": "z2"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"a.jsonl:2: not an answer"):
        _answers(str(path))
    path.write_text('{"id": "z1", "type": "PLACE", "salient": "false"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"a.jsonl:1: not an answer \(field 'salient' must be bool"):
        _answers(str(path))  # a string is not read as a truth value

"""The two-reader span labels that benchmarks/span_quality.py scores the default extractor on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
# set 1 is split in halves by passage; later sets are whole: each is all tuning data or all report
# data (docs/corpus-and-retrieval.md says which)
SETS = ["span_labels.jsonl", "span_labels_v2.jsonl", "span_labels_v3.jsonl", "span_labels_v4.jsonl", "span_labels_v5.jsonl",
        "span_labels_v6.jsonl", "span_labels_v7.jsonl", "span_labels_v8.jsonl", "span_labels_v9.jsonl",
        "span_labels_v10.jsonl"]


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", SETS)
def test_the_span_labels_are_two_readers_settled_by_a_third(name: str) -> None:
    # masked spans typed by two independent readers (docs/labelling.md); a third settles disagreements
    rows = _rows(name)
    assert len(rows) >= 200
    for r in rows:
        a, b = r["reader_a"], r["reader_b"]
        agreed = (a[0], a[1]) == (b[0], b[1])
        assert (r["settled_by"] == "agreement") == agreed
        if r["settled_by"] == "third reader":
            assert [r["label_type"], r["salient"]] == r["reader_c"][:2]
        elif agreed:
            assert [r["label_type"], r["salient"]] == a[:2]
        if name == "span_labels.jsonl":
            digest = int(hashlib.sha256(r["passage_id"].encode()).hexdigest(), 16)
            assert r["half"] == ("tune" if digest % 2 == 0 else "heldout")
        else:
            assert r["half"] == "fresh"


def test_no_span_is_labelled_in_two_sets() -> None:
    seen: dict[tuple, str] = {}
    for name in SETS:
        for r in _rows(name):
            key = (r["passage_id"], r["start"], r["end"])
            assert key not in seen, f"{key} in {seen.get(key)} and {name}"
            seen[key] = name

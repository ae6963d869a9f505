"""The two-reader span labels that benchmarks/span_quality.py scores the default extractor on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def test_the_span_labels_are_two_readers_split_by_passage() -> None:
    # tests/text/fixtures/span_labels.jsonl: masked spans typed by two independent readers
    # (docs/labelling.md); benchmarks/span_quality.py scores the default extractor on it
    path = Path(__file__).parent / "fixtures" / "span_labels.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 200
    for r in rows:
        a, b = r["reader_a"], r["reader_b"]
        agreed = (a[0], a[1]) == (b[0], b[1])
        assert (r["settled_by"] == "agreement") == agreed
        digest = int(hashlib.sha256(r["passage_id"].encode()).hexdigest(), 16)
        assert r["half"] == ("tune" if digest % 2 == 0 else "heldout")

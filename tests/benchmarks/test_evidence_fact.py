"""benchmarks/evidence_fact.py: each labelled set reported on its own, and the sets pooled."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")  # the "fact" criterion needs the llm extra

FIXTURES = Path(__file__).resolve().parents[1] / "masking" / "fixtures"


def _first(path: Path, n: int) -> list[dict]:
    """The set's first ``n`` pairs judged true of the default env's own evidence (some of which "fact" accepts)."""
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return [r for r in rows if r["stratum"] == "v1-top" and r["label"]][:n]


def test_each_set_and_the_pool_are_scored_with_the_same_verdicts(tmp_path, monkeypatch) -> None:
    import evidence_fact

    # the same pair ids in two sets: the pool must keep them apart, not overwrite one with the other
    rows_a = _first(FIXTURES / "evidence_labels_v4.jsonl", 6)
    rows_b = [{**r, "pair_id": a["pair_id"]} for r, a in zip(_first(FIXTURES / "evidence_labels_v5.jsonl", 6), rows_a,
                                                              strict=True)]
    paths = []
    for name, rows in (("set_a.jsonl", rows_a), ("set_b.jsonl", rows_b)):
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths.append(str(path))
    out = tmp_path / "out.json"
    monkeypatch.setattr(sys, "argv", ["evidence_fact.py", "--labels", *paths, "--out", str(out)])
    evidence_fact.main()
    result = json.loads(out.read_text())
    a, b, pooled = (result[k]["fresh"] for k in ("set_a.jsonl", "set_b.jsonl", "pooled"))
    assert pooled["pairs"] == a["pairs"] + b["pairs"] == 12
    for criterion in ("fact", "context"):
        for measure in ("precision", "recall"):
            for count in ("k", "n"):
                assert pooled[criterion][measure][count] == a[criterion][measure][count] + b[criterion][measure][count]
    # "context" is what the fixture recorded when the pairs were drawn
    context_tp = sum(r["accepted_v1"] and r["label"] for r in rows_a)
    assert a["context"]["precision"]["k"] == context_tp
    assert a["context"]["precision"]["n"] == sum(r["accepted_v1"] for r in rows_a)
    assert sum(s["precision"]["n"] for s in pooled["fact_by_stratum"].values()) == pooled["fact"]["precision"]["n"]
    # each set's "fact" verdicts are its own pairs', whatever another set calls its pairs
    for rows, part in ((rows_a, a), (rows_b, b)):
        assert 0 < part["fact"]["precision"]["n"] < len(rows)  # the sample has both verdicts
        accepted = [evidence_fact.verdicts(r, (evidence_fact.THRESHOLD,))[evidence_fact.THRESHOLD][0] for r in rows]
        assert part["fact"]["precision"]["n"] == sum(accepted)
        assert part["fact"]["precision"]["k"] == sum(ok and r["label"] for ok, r in zip(accepted, rows, strict=True))


def test_a_bad_label_line_is_one_error_naming_the_file_and_line(tmp_path, monkeypatch) -> None:
    import evidence_fact

    good = _first(FIXTURES / "evidence_labels_v4.jsonl", 1)[0]
    out = tmp_path / "out.json"
    for name, second in (("broken.jsonl", "{not json\n"), ("missing.jsonl", json.dumps({**good, "start": "12"}) + "\n")):
        path = tmp_path / name
        path.write_text(json.dumps(good) + "\n" + second, encoding="utf-8")
        monkeypatch.setattr(sys, "argv", ["evidence_fact.py", "--labels", str(path), "--out", str(out)])
        with pytest.raises(SystemExit, match=rf"{name}:2: "):
            evidence_fact.main()
    assert not out.exists()

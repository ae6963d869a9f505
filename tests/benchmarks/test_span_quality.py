"""benchmarks/span_quality.py: how kept, dropped, wrong and non-salient spans are counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def row(label: str, salient: bool = True, **extra: object) -> dict[str, object]:
    return {"passage_id": "p", "start": 0, "end": 1, "text": "x", "current_type": "ORG", "label_type": label,
            "salient": salient, **extra}


def test_score_counts_drops_apart_and_rates_the_kept() -> None:
    from benchmarks.span_quality import score

    rows = [row("PLACE"), row("PLACE"), row("NONE", salient=False), row("ORG", salient=False), row("OTHER")]
    result = score(rows, ["PLACE", "ORG", None, "ORG", "NAME"])
    assert result["kept"] == 4 and result["dropped"]["k"] == 1
    assert result["wrong_type"]["k"] == 1  # the second PLACE called ORG; NAME matches OTHER
    assert result["non_salient"]["k"] == 1
    assert result["wrong_type_or_non_salient"]["k"] == 2
    low, high = result["wrong_type_or_non_salient"]["ci95"]
    assert low < 0.5 < high
    assert result["per_type"]["ORG"] == {"kept": 2, "right": 1, "labels": {"ORG": 1, "PLACE": 1}}


def test_correct_types_in_the_file_decide_when_given() -> None:
    from benchmarks.span_quality import type_matches

    assert type_matches("CONCEPT", row("OTHER", correct_types=["NAME", "CONCEPT"]))
    assert not type_matches("ORG", row("OTHER", correct_types=["NAME", "CONCEPT"]))
    assert not type_matches("PERSON", row("NONE"))


def test_bad_label_rows_name_file_and_line(tmp_path: Path) -> None:
    from benchmarks.span_quality import load_labels

    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(row("PLACE")) + "\n" + json.dumps(row("CITY")) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="labels.jsonl:2: label_type 'CITY'"):
        load_labels(path)


@pytest.mark.slow
def test_the_report_span_set_reproduces_its_results_file() -> None:
    """README.md quotes span_quality_v9_v10.json (sets 9 and 10, the report sets of span rules v7); this fails when
    the default extractor changes without the file being rerun (the command is in span_quality.py's docs)."""
    from span_quality import load_labels, new_types, score

    root = Path(__file__).resolve().parents[2]
    results = json.loads((root / "benchmarks" / "results" / "span_quality_v9_v10.json").read_text(encoding="utf-8"))
    names = results["labels"] if isinstance(results["labels"], list) else [results["labels"]]
    rows = [r for name in names for r in load_labels(root / name)]
    types, key = new_types(rows, "auto", "default")
    assert key == results["extractor"]
    pooled = score(rows, types)["wrong_type_or_non_salient"]
    assert (pooled["k"], pooled["n"]) == (results["after"]["wrong_type_or_non_salient"]["k"],
                                         results["after"]["wrong_type_or_non_salient"]["n"])


def test_a_new_span_set_leaves_out_the_spans_labelled_before() -> None:
    from span_label_pool import leave_out_labelled

    drawn = [{"span_id": f"s{i:04d}", "passage_id": p, "start": a, "end": b}
             for i, (p, a, b) in enumerate([("x", 0, 4), ("x", 9, 12), ("y", 0, 4)])]
    kept = leave_out_labelled(drawn, {("x", 9, 12), ("y", 1, 4)}, "v")
    # the same passage at other offsets is a new span; ids are renumbered with the set's prefix
    assert [(r["span_id"], r["passage_id"], r["start"]) for r in kept] == [("v0000", "x", 0), ("v0001", "y", 0)]

"""benchmarks/fact_model_families.py: the target rule, the paired comparison, and the output check."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest


def _row(model: str, target: float, precision: float, recall: float) -> dict:
    return {"model": model, "target_precision": target, "precision": {"value": precision}, "recall": {"value": recall}}


def test_the_target_is_the_most_precise_that_keeps_a_third_of_the_true_pairs() -> None:
    import fact_model_families

    rows = [_row("a", 0.84, 0.84, 0.45), _row("a", 0.86, 0.87, 0.36), _row("a", 0.9, 0.93, 0.2),
            _row("b", 0.84, 0.99, 0.5)]
    assert fact_model_families.chosen_target(rows, "a") == 0.86  # 0.9 is more precise but keeps too few
    with pytest.raises(SystemExit, match="c: no target"):
        fact_model_families.chosen_target([_row("c", 0.9, 0.95, 0.1)], "c")


def test_the_paired_comparison_counts_what_only_one_model_accepts() -> None:
    import fact_model_families

    y = np.array([True] * 20 + [False] * 40)
    old = np.array([i < 8 or i == 20 for i in range(60)])  # 8 true, 1 false accepted
    same = fact_model_families.paired_comparison(y, old, old)
    assert same["recall_difference"] == {"value": 0.0, "ci95": [0.0, 0.0]}
    assert same["true_pairs_only_first_accepts"] == same["true_pairs_only_second_accepts"] == 0
    new = np.array([i < 10 for i in range(60)])  # two more true pairs, without the false one
    out = fact_model_families.paired_comparison(y, new, old)
    assert out["true_pairs_only_first_accepts"] == 2 and out["false_pairs_only_second_accepts"] == 1
    assert out["recall_difference"]["value"] == 0.1 and out["precision_difference"]["value"] == round(1 - 8 / 9, 3)
    low, high = out["recall_difference"]["ci95"]
    # in every resample the first model accepts at least as many true pairs, in most more
    assert 0.0 <= low < 0.1 < high


def test_an_unwritable_output_is_refused_before_reading_labels(tmp_path, monkeypatch) -> None:
    import fact_model_families

    monkeypatch.setattr(fact_model_families, "labelled_pairs", lambda paths: pytest.fail("read before the check"))
    monkeypatch.setattr(sys, "argv", ["fact_model_families.py", "--out", str(tmp_path)])  # a directory
    with pytest.raises(SystemExit, match="is a directory"):
        fact_model_families.main()


def test_a_bad_line_in_the_fresh_set_is_one_error_before_any_parse(tmp_path, monkeypatch) -> None:
    import fact_model_families

    fixtures = Path(__file__).resolve().parents[1] / "masking" / "fixtures"
    with open(fixtures / "evidence_labels_v9.jsonl", encoding="utf-8") as fh:
        good = fh.readline()
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text(good + json.dumps({**json.loads(good), "start": "3"}) + "\n", encoding="utf-8")
    monkeypatch.setattr(fact_model_families, "labelled_pairs", lambda paths: pytest.fail("parsed before the check"))
    monkeypatch.setattr(sys, "argv", ["fact_model_families.py", "--out", str(tmp_path / "out.json"),
                                      "--training", str(fixtures / "evidence_labels_v2.jsonl"), "--fresh", str(fresh)])
    with pytest.raises(SystemExit, match=r"fresh\.jsonl:2: field 'start' must be int"):
        fact_model_families.main()

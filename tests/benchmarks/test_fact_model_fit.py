"""benchmarks/fact_model_fit.py: bad label files and output paths fail before the fit; the
leave-one-set-out comparison pools the held-out sets and can be written as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "masking" / "fixtures"


def _first_rows(n: int) -> list[dict]:
    with open(FIXTURES / "evidence_labels_v8.jsonl", encoding="utf-8") as fh:
        return [json.loads(next(fh)) for _ in range(n)]


@pytest.mark.parametrize(("second", "message"), [
    ("{not json\n", r"bad\.jsonl:2: not JSON"),
    (json.dumps({**_first_rows(1)[0], "label": "yes"}) + "\n", r"bad\.jsonl:2: field 'label' must be bool or NoneType"),
    (json.dumps({**_first_rows(1)[0], "end": "12"}) + "\n", r"bad\.jsonl:2: field 'end' must be int"),
])
def test_a_bad_label_line_is_one_error_naming_file_and_line(tmp_path, monkeypatch, second: str, message: str) -> None:
    import fact_model_fit

    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_first_rows(1)[0]) + "\n" + second, encoding="utf-8")
    out = tmp_path / "fit.json"
    monkeypatch.setattr(sys, "argv", ["fact_model_fit.py", "--labels", str(path), "--out", str(out)])
    # the parse of the first (good) row never runs: rows are all read and checked first
    monkeypatch.setattr(fact_model_fit, "answer_sentences", lambda row: pytest.fail("parsed before the check"))
    with pytest.raises(SystemExit, match=message):
        fact_model_fit.main()
    assert not out.exists()


def test_an_unwritable_output_is_refused_before_reading_labels(tmp_path, monkeypatch) -> None:
    import fact_model_fit

    monkeypatch.setattr(sys, "argv", ["fact_model_fit.py", "--labels", str(tmp_path / "missing.jsonl"),
                                      "--out", str(tmp_path)])  # a directory
    with pytest.raises(SystemExit, match="is a directory"):
        fact_model_fit.main()


def _sets(signal_feature) -> tuple[list[dict], np.ndarray, np.ndarray, list]:
    """Three labelled sets of 120 pairs; a true pair's answer sentence is high on the feature
    ``signal_feature(set index)`` picks; every tenth pair has no answer sentence."""
    rng = np.random.default_rng(0)
    per_pair, rows, X, y = [], [], [], []
    for k, s in enumerate(("a.jsonl", "b.jsonl", "c.jsonl")):
        for i in range(120):
            label = int(i % 3 == 0)
            vector = rng.normal(0.0, 1.0, 3)
            vector[signal_feature(k)] += 3.0 * label
            vectors = [list(vector)] if i % 10 else []
            per_pair.append((s, label, vectors))
            rows.append({"source_id": f"{s}:{i // 2}"})
            if vectors:
                X.append(vectors[0])
                y.append(label)
    return rows, np.array(X), np.array(y), per_pair


@pytest.mark.parametrize("family", ["logistic", "boosted trees"])
def test_leave_one_set_out_scores_each_set_with_a_model_that_never_saw_it(family: str) -> None:
    import fact_model_families
    import fact_model_fit

    models = None if family == "logistic" else {family: fact_model_families.boosted_trees}
    names = ["logistic C=0.3", "logistic C=1.0"] if family == "logistic" else [family]

    def best_precision(signal_feature) -> float:
        rows, X, y, per_pair = _sets(signal_feature)
        out = fact_model_fit.leave_one_set_out(rows, X, y, per_pair, min_accepted=5, models=models)
        json.dumps(out)  # numpy integers would not serialise
        assert [(o["model"], o["target_precision"]) for o in out] == [
            (name, t) for name in names for t in (0.84, 0.85, 0.86, 0.87)]
        for o in out:  # recall counts every true pair of the scored sets, those with no sentence too
            assert o["recall"]["n"] % 40 == 0 and o["recall"]["n"] <= 120
            assert o["precision"]["k"] == o["recall"]["k"] <= o["precision"]["n"]
        return max(o["precision"]["value"] or 0.0 for o in out)

    # the same signal in every set carries over to the set left out
    assert best_precision(lambda k: 0) > 0.8
    # each set's own signal does not: a model that had seen the left-out set would find it
    assert best_precision(lambda k: k) < 0.6

"""Logistic regression against gradient-boosted trees for the ``"fact"`` model, on labels neither saw.

The ``"fact"`` criterion runs a logistic model (``ramp_env/masking/fact_model.py``). This asks
whether a tree ensemble over the same 35 signals does better, the way the shipped model was
chosen and then checked:

1. **Leave one set out** over the training sets (default v2 to v8): for each family and target
   precision, fit on the other sets, pick the threshold out of fold, score the left-out set as
   the env does, pool (``fact_model_fit.leave_one_set_out``). Each family's target is the one
   with the best pooled precision at >= 33% recall, the rule that chose version 4's.
2. **A fresh set** (default v9, labelled after both families were specified, never used to
   choose anything): each family fitted on all training sets at its target, both scored on the
   same pairs, with a paired bootstrap interval of each difference.
3. **Cost.** The share of labelled answer sentences the surface screen (``fit_screen``) could
   spare the parse and the embeddings under each model: what makes a first ``"fact"`` check
   of a passage cheap or dear (the embeddings are most of its time).

    RAMP_ENV_CACHE=... python benchmarks/fact_model_families.py --out benchmarks/results/fact_model_families.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import check_output, rate  # this folder's shared helpers (on sys.path as a script)
from fact_model_fit import (
    fit_screen,
    labelled_pairs,
    leave_one_set_out,
    logistic,
    out_of_fold,
    pick_threshold,
    read_pairs,
)
from sklearn.ensemble import GradientBoostingClassifier

from ramp_env.cache import atomic_path

LABELS = Path(__file__).resolve().parents[1] / "tests" / "masking" / "fixtures"
TRAINING = tuple(LABELS / f"evidence_labels_v{v}.jsonl" for v in range(2, 9))
FRESH = LABELS / "evidence_labels_v9.jsonl"
TARGETS = (0.84, 0.86, 0.88, 0.9)
MIN_RECALL = 0.33  # the selection rule of fact_model_fit's settings


def boosted_trees() -> GradientBoostingClassifier:
    # shallow trees, 20+ pairs per leaf, a row subsample: a few thousand pairs; fixed before v9 was drawn
    return GradientBoostingClassifier(n_estimators=200, max_depth=3, learning_rate=0.05, min_samples_leaf=20,
                                      subsample=0.8, random_state=0)


FAMILIES: dict[str, Callable[[], Any]] = {"logistic C=1": logistic(1.0), "boosted trees": boosted_trees}


def chosen_target(rows: list[dict], family: str) -> float:
    """The target with the best pooled held-out precision among those keeping recall >= MIN_RECALL."""
    ok = [r for r in rows if r["model"] == family and (r["recall"]["value"] or 0.0) >= MIN_RECALL]
    if not ok:
        raise SystemExit(f"{family}: no target keeps pooled recall >= {MIN_RECALL}")
    return max(ok, key=lambda r: r["precision"]["value"])["target_precision"]


def paired_comparison(y: np.ndarray, a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0) -> dict:
    """Model ``a`` against ``b`` accepting pairs (booleans) labelled ``y``: what only one accepts, and
    a paired bootstrap 95% interval (pairs resampled) of the precision and recall differences."""
    y, a, b = (np.asarray(v, dtype=bool) for v in (y, a, b))

    def point(acc: np.ndarray, yy: np.ndarray) -> tuple[float, float]:
        tp = (acc & yy).sum()
        return tp / max(1, acc.sum()), tp / max(1, yy.sum())

    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        (pa, ra), (pb, rb) = point(a[i], y[i]), point(b[i], y[i])
        diffs.append((pa - pb, ra - rb))
    d = np.array(diffs)
    (pa, ra), (pb, rb) = point(a, y), point(b, y)
    return {
        "true_pairs_only_first_accepts": int((a & ~b & y).sum()), "true_pairs_only_second_accepts": int((b & ~a & y).sum()),
        "false_pairs_only_first_accepts": int((a & ~b & ~y).sum()), "false_pairs_only_second_accepts": int((b & ~a & ~y).sum()),
        "precision_difference": {"value": round(float(pa - pb), 3),
                                 "ci95": [round(float(v), 3) for v in np.percentile(d[:, 0], [2.5, 97.5])]},
        "recall_difference": {"value": round(float(ra - rb), 3),
                              "ci95": [round(float(v), 3) for v in np.percentile(d[:, 1], [2.5, 97.5])]},
        "bootstrap": {"resamples": resamples, "seed": seed},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="results JSON to write")
    parser.add_argument("--training", nargs="+", default=[str(p) for p in TRAINING], help="label files to fit on")
    parser.add_argument("--fresh", default=str(FRESH), help="label file to score once")
    parser.add_argument("--min-accepted", type=int, default=30, help="fewest accepted pairs a threshold may rest on")
    args = parser.parse_args()
    started = time.time()
    check_output(args.out)  # before the parses, not after
    # every file read (and checked) before the first parse: a bad --fresh line is not found ten minutes in
    training_rows, fresh_rows = read_pairs(args.training), read_pairs([args.fresh])
    train, fresh = labelled_pairs(training_rows), labelled_pairs(fresh_rows)
    loso = leave_one_set_out(train.rows, train.X, train.y, train.per_pair, args.min_accepted, FAMILIES, TARGETS)
    y_fresh = np.array([label for _, label, _ in fresh.per_pair], dtype=bool)
    families, accepted = {}, {}
    for name, make in FAMILIES.items():
        target = chosen_target(loso, name)
        point = pick_threshold(out_of_fold(train.X, train.y, train.groups, make), train.y, target, args.min_accepted)
        model = make().fit(train.X, train.y)
        # the env's rule: a pair is accepted when any of its answer sentences reaches the threshold
        accepted[name] = np.array([bool(v) and model.predict_proba(np.array(v))[:, 1].max() >= point["threshold"]
                                   for _, _, v in fresh.per_pair])
        tp, n = int((accepted[name] & y_fresh).sum()), int(accepted[name].sum())
        screen = fit_screen(model, train.every_sentence, margin=1.0)
        families[name] = {"target_precision": target, "out_of_fold": point,
                          "fresh": {"precision": rate(tp, n), "recall": rate(tp, int(y_fresh.sum()))},
                          "screen_spares_share_of_labelled_sentences": screen["screened_out_share"]}
    first, second = FAMILIES
    report = {
        "what": "logistic regression against gradient-boosted trees for the \"fact\" model: held-out sets and a fresh one",
        "script": "benchmarks/fact_model_families.py",
        "training": [Path(p).name for p in args.training], "fresh": Path(args.fresh).name,
        "pairs": {"training": len(train.rows), "fresh": len(fresh.rows), "fresh_judged_true": int(y_fresh.sum())},
        "leave_one_set_out": loso, "families": families,
        "fresh_paired": {"first": first, "second": second, **paired_comparison(y_fresh, accepted[first], accepted[second])},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "seconds": round(time.time() - started, 1),
    }
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"families": families, "fresh_paired": report["fresh_paired"]}, indent=1))


if __name__ == "__main__":
    main()

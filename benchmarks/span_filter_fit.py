"""Fit the span extractor's learned filter (:mod:`ramp_env.text.span_filter`) on two-reader span labels.

A span is *bad* when its type is wrong or it is no salient fact slot (``span_quality.py``'s
definition). Features are computed by the package's own code on the labelled passages of
the default corpus, so the fit and the extractor read the same numbers. The settings were
fixed before the report set was labelled: logistic regression with C = 0.01 and balanced
class weights over standardised features; a span is dropped above the 95th percentile of
the in-sample probabilities of the good training spans.

Reports the leave-one-set-out result (each label file scored by a model fitted on the
others, with its own threshold) and writes the model fitted on every file::

    python benchmarks/span_filter_fit.py --labels tests/text/fixtures/span_labels.jsonl \
        tests/text/fixtures/span_labels_v{2,3,4}.jsonl --out benchmarks/results/span_filter_fit.json

The fitted model goes to ``ramp_env/text/data/span_filter.json`` (``--model``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import check_output, machine, rate  # this folder's shared helpers (on sys.path)
from span_quality import labelled_passages, load_labels, type_matches

from ramp_env.cache import atomic_write_json
from ramp_env.text.span_filter import FILTER_FILE, SpanFilter, features

C = 0.01
KEEP_GOOD = 0.95  # threshold: this quantile of the good training spans' in-sample probabilities
FILTER_VERSION = 1
MODEL = Path(__file__).resolve().parent.parent / "ramp_env" / "text" / "data" / FILTER_FILE


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (results files name no home directories)."""
    root = Path(__file__).resolve().parent.parent
    return str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path)


def is_bad(row: dict[str, Any]) -> bool:
    return not row["salient"] or not type_matches(row["current_type"], row)


def label_features(rows: list[dict[str, Any]], corpus_name: str = "default") -> np.ndarray:
    """The filter's features of each labelled span, typed as it was when drawn."""
    extractor, texts = labelled_passages(rows, "auto", corpus_name)
    docs = dict(zip(texts, extractor.nlp.pipe(list(texts.values()), batch_size=64), strict=True))
    spans = []
    for r in rows:
        spans.append((docs[r["passage_id"]].char_span(r["start"], r["end"], alignment_mode="expand"), r["current_type"]))
    return features(spans, extractor.gazetteer)


def fit(x: np.ndarray, y: np.ndarray) -> SpanFilter:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit((x - mean) / scale, y)
    draft = SpanFilter(mean, scale, model.coef_[0], model.intercept_[0], 0.5, FILTER_VERSION)
    threshold = float(np.quantile(draft.probability_bad(x[~y]), KEEP_GOOD))
    return SpanFilter(mean, scale, model.coef_[0], model.intercept_[0], threshold, FILTER_VERSION)


def held_out(kept: np.ndarray, bad: np.ndarray) -> dict[str, Any]:
    return {"before": rate(int(bad.sum()), len(bad)), "after": rate(int((bad & kept).sum()), int(kept.sum())),
            "good_dropped": rate(int((~bad & ~kept).sum()), int((~bad).sum()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, nargs="+", required=True, help="two-reader span label files")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "span_filter_fit.json")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--fresh-from", type=int, default=1,
                        help="label files from this index on were drawn from the cleaned extractor (pooled in the report)")
    args = parser.parse_args()
    if len(args.labels) < 2 or not 0 <= args.fresh_from < len(args.labels):
        parser.error("--labels needs two or more files (each is scored by a model fitted on the others), "
                     "and --fresh-from must index one of them")
    started = time.perf_counter()
    check_output(args.out)
    check_output(args.model)
    per_file = [load_labels(p) for p in args.labels]
    rows = [r for f in per_file for r in f]
    sets = np.array([i for i, f in enumerate(per_file) for _ in f])
    x = label_features(rows)
    y = np.array([is_bad(r) for r in rows])
    report, pooled_kept, pooled_bad = {}, [], []
    for i, path in enumerate(args.labels):
        model = fit(x[sets != i], y[sets != i])
        kept = model.probability_bad(x[sets == i]) <= model.threshold
        report[str(path)] = held_out(kept, y[sets == i])
        if i >= args.fresh_from:
            pooled_kept.append(kept)
            pooled_bad.append(y[sets == i])
    final = fit(x, y)
    atomic_write_json(args.model, final.to_json())
    result = {
        "labels": [str(p) for p in args.labels], "spans": len(rows), "bad": int(y.sum()),
        "settings": {"C": C, "keep_good_quantile": KEEP_GOOD, "class_weight": "balanced"},
        "leave_one_set_out": report,
        "leave_one_set_out_fresh_pooled": held_out(np.concatenate(pooled_kept), np.concatenate(pooled_bad)),
        "model": {"file": _shown(args.model), "threshold": round(final.threshold, 4), "fingerprint": final.fingerprint},
        "machine": machine(), "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(args.out, result)
    pooled = result["leave_one_set_out_fresh_pooled"]
    print(f"leave-one-set-out, fresh sets pooled: bad {pooled['before']['value']} -> {pooled['after']['value']} "
          f"{pooled['after']['ci95']}, good dropped {pooled['good_dropped']['value']}")
    print(f"wrote {args.model} and {args.out}")


if __name__ == "__main__":
    main()

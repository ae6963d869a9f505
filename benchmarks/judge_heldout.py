"""Judge quality on labelled pairs it was not tuned on: ``reward="judge"`` before and after its equivalence rules.

``benchmarks/data/judge_pairs.jsonl`` holds 529 hand-labelled ``(gold, prediction, label)``
pairs. Every gold is a real salient span (spaCy, ``tests/fixtures/wiki_sample.jsonl``,
a sample of the default corpus) of every span type; the predictions are paraphrases,
abbreviations and acronyms, ordinals and Roman numerals, date formats, unit and scale words,
and near-miss wrong answers of the same type (other people sharing a surname, the other
World War, the wrong year). The file was split once (seeded, stratified by category) into a
``tune`` half, the only half the judge's rules and constants were developed on, and a
``test`` half, reported here.

For each judge this prints and saves the accuracy at a 0.5 threshold (score >= 0.5 means
"same answer"), the AUC (label 1 vs label 0, ties counted half), the accuracy per category
and per span type, and the pairs it gets wrong. Judges, all run in the same process on the
same pairs:

* ``before``: the embedding judge without the equivalence rules (``EmbeddingJudge(rules=False)``,
  the judge as it was before issue 15);
* ``after``: ``reward="judge"``'s judge (``EmbeddingJudge()``);
* ``after, as a reward``: the ``reward="judge"`` per-mask score, i.e. the judge minus the hack penalty.

Accuracy has a Wilson 95 % interval, AUC a seeded bootstrap one; before vs after is compared
pair by pair (exact McNemar test). ``ms_per_pair`` is each judge's time for new pairs (each judge embeds every string itself);
``rules_ms_per_pair`` is what the equivalence rules alone cost per pair.

Results go to ``benchmarks/results/judge_heldout.json`` (written atomically).

    python benchmarks/judge_heldout.py                   # test half (the reported numbers)
    python benchmarks/judge_heldout.py --split tune      # the half used for development
    python benchmarks/judge_heldout.py --pairs benchmarks/data/judge_pairs_fresh.jsonl --split all \
        --out benchmarks/results/judge_fresh.json        # a fresh set never used for tuning, whole file

``benchmarks/data/judge_pairs_fresh.jsonl`` (``"split": "fresh"``) was written after the rules were
frozen, from real spans of the default corpus (including CONCEPT and NAME terms), labelled before
the judge was ever run on it, and scored once, whole (``--split all``); rules versions 5-6 were then
written on its error classes, so it is no longer held out. ``judge_pairs_blind.jsonl``
(``"split": "blind"``) was written by someone who never saw the judge's code or results, while
version 5 was being written, and scored after it (version 5, then 6)::

    python benchmarks/judge_heldout.py --pairs benchmarks/data/judge_pairs_blind.jsonl --split all \
        --out benchmarks/results/judge_blind.json
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import labelled_rows  # this folder's shared helpers (on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PAIRS_PATH = Path(__file__).parent / "data" / "judge_pairs.jsonl"
RESULTS_PATH = Path(__file__).parent / "results" / "judge_heldout.json"
THRESHOLD = 0.5
SPLITS = ("tune", "test", "fresh", "blind")  # "fresh", "blind": sets scored whole (see above)
FIELDS = {"gold": str, "prediction": str, "label": int, "category": str, "span_type": str, "split": str}


@dataclasses.dataclass
class Args:
    split: str = dataclasses.field(default="test", metadata={"help": "which labelled pairs to score: test, tune or all"})
    pairs: Path = dataclasses.field(default=PAIRS_PATH, metadata={"help": "the labelled (answer, gold, verdict) pairs file"})
    out: Path | None = dataclasses.field(default=RESULTS_PATH, metadata={"help": (
        "results file (default: benchmarks/results/judge_heldout.json for the test split, none otherwise)"
    )})


def load_pairs(path: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The labelled pairs of ``split`` ("tune", "test" or None for all), checked field by field."""
    rows = []
    for lineno, row in labelled_rows(path, FIELDS):
        if row["label"] not in (0, 1) or row["split"] not in SPLITS:
            raise ValueError(f"{path}:{lineno}: label must be 0/1 and split one of {SPLITS}")
        if split is None or row["split"] == split:
            rows.append(row)
    return rows


def auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve: P(score of a label-1 pair > a label-0 pair), ties half."""
    from scipy.stats import mannwhitneyu

    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    if not pos or not neg:
        return float("nan")
    return float(mannwhitneyu(pos, neg).statistic) / (len(pos) * len(neg))


def auc_ci95(scores: list[float], labels: list[int], resamples: int = 2000, seed: int = 0) -> list[float]:
    """95 % percentile-bootstrap interval of the AUC (pairs resampled with replacement, seeded)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        idx = rng.integers(0, len(scores), len(scores))
        value = auc([scores[i] for i in idx], [labels[i] for i in idx])
        if not math.isnan(value):  # a resample with one class only has no AUC
            values.append(value)
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def summarise(rows: list[dict[str, Any]], scores: list[float]) -> dict[str, Any]:
    from scipy.stats import binomtest

    labels = [r["label"] for r in rows]
    correct = [(s >= THRESHOLD) == bool(y) for s, y in zip(scores, labels)]
    interval = binomtest(sum(correct), len(correct)).proportion_ci(confidence_level=0.95, method="wilson")
    by: dict[str, dict[str, list[bool]]] = {"category": defaultdict(list), "span_type": defaultdict(list)}
    for row, ok in zip(rows, correct):
        by["category"][row["category"]].append(ok)
        by["span_type"][row["span_type"]].append(ok)
    return {
        "accuracy": sum(correct) / len(correct),
        "accuracy_ci95": [float(interval.low), float(interval.high)],
        "auc": auc(scores, labels),
        "auc_ci95": auc_ci95(scores, labels),
        "per_category": {k: {"accuracy": sum(v) / len(v), "n": len(v)} for k, v in sorted(by["category"].items())},
        "per_span_type": {k: {"accuracy": sum(v) / len(v), "n": len(v)} for k, v in sorted(by["span_type"].items())},
        "errors": [
            {"gold": r["gold"], "prediction": r["prediction"], "label": r["label"], "score": round(s, 3),
             "category": r["category"]}
            for r, s, ok in zip(rows, scores, correct) if not ok
        ],
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as the Markdown tables quoted in docs/rewards.md."""
    judges = report["judges"]
    part = f"{report['split']} half" if report["split"] != "all" else f"all of {report['pairs_file']}"
    lines = [(f"{report['pairs']} pairs ({part}, {report['positives']} labelled same), "
              f"accuracy at {report['threshold']} and AUC:"), "",
             "| judge | accuracy (95% CI) | AUC (95% CI) | ms per new pair |", "|---|---|---|---|"]
    for name, res in judges.items():
        ms = f"{res['ms_per_pair']:.1f}" if "ms_per_pair" in res else ""
        acc_lo, acc_hi = res["accuracy_ci95"]
        auc_lo, auc_hi = res["auc_ci95"]
        lines.append(f"| {name} | {res['accuracy']:.3f} ({acc_lo:.3f}-{acc_hi:.3f}) | {res['auc']:.3f} "
                     f"({auc_lo:.3f}-{auc_hi:.3f}) | {ms} |")
    lines += ["", (f"Paired on the same pairs: after is right where before is wrong on {report['fixed']} pairs and "
                   f"wrong where before is right on {report['broken']} (exact McNemar p = {report['mcnemar_p']:.2g}). "
                   f"The rules alone cost {report['rules_ms_per_pair']:.2f} ms per pair; {report['machine']}."), ""]
    for key, title in (("per_category", "category"), ("per_span_type", "span type")):
        first = next(iter(judges.values()))[key]
        lines += [f"| {title} | pairs | " + " | ".join(judges) + " |", "|---|---|" + "---|" * len(judges)]
        for value in first:
            cells = " | ".join(f"{res[key][value]['accuracy']:.2f}" for res in judges.values())
            lines.append(f"| {value} | {first[value]['n']} | {cells} |")
        lines.append("")
    return "\n".join(lines)


def main(args: Args) -> dict[str, Any]:
    from ramp_env.cache import atomic_write_json
    from ramp_env.models import load_embedding_model
    from ramp_env.rewards import JudgeReward, equivalence
    from ramp_env.rewards.judges import EmbeddingJudge

    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)  # fail before the work, not after
    rows = load_pairs(args.pairs, None if args.split == "all" else args.split)
    preds, golds = [r["prediction"] for r in rows], [r["gold"] for r in rows]
    model = load_embedding_model()
    judges = {
        "before": EmbeddingJudge(model=model, rules=False),
        "after": EmbeddingJudge(model=model),
    }
    judges["before"].embed("warm-up")  # the first forward pass of a model is slower: keep it out of the timing
    results: dict[str, Any] = {}
    for name, judge in judges.items():
        start = time.perf_counter()
        scores = judge.score(preds, golds)
        results[name] = summarise(rows, scores)
        results[name]["ms_per_pair"] = 1000 * (time.perf_counter() - start) / len(rows)
    start = time.perf_counter()
    for pred, gold in zip(preds, golds):  # what the rules add to a new pair (no model involved)
        equivalence.rule_verdict(pred, gold)
        equivalence.is_shortened_form(pred, gold)
        equivalence.number_agreement(pred, gold)
    rules_ms = 1000 * (time.perf_counter() - start) / len(rows)
    reward = JudgeReward(judges["after"], "judge")
    reward_scores = [reward([p], [g]).per_mask[0] for p, g in zip(preds, golds)]
    results["after, as a reward"] = summarise(rows, reward_scores)
    correct = {name: {(e["gold"], e["prediction"]) for e in res["errors"]} for name, res in results.items()}
    fixed = len(correct["before"] - correct["after"])  # wrong before, right after
    broken = len(correct["after"] - correct["before"])
    from scipy.stats import binomtest

    report = {
        "fixed": fixed,
        "broken": broken,
        "mcnemar_p": float(binomtest(min(fixed, broken), fixed + broken).pvalue) if fixed + broken else 1.0,
        "split": args.split,
        "pairs": len(rows),
        "positives": sum(r["label"] for r in rows),
        "threshold": THRESHOLD,
        "pairs_file": str(args.pairs.name),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
        f"{os.getloadavg()[0]:.1f} at the end)",
        "judges": results,
        "rules_ms_per_pair": rules_ms,
    }
    print(markdown(report))
    if args.out is not None:
        atomic_write_json(args.out, report)
        print(f"\nwrote {args.out}")
    return report


def parse_args(argv: list[str] | None = None) -> Args:
    help_of = {f.name: f.metadata["help"] for f in dataclasses.fields(Args)}
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--split", choices=["test", "tune", "all"], default="test", help=help_of["split"])
    parser.add_argument("--pairs", type=Path, default=PAIRS_PATH, help=help_of["pairs"])
    parser.add_argument("--out", type=Path, default=None, help=help_of["out"])
    ns = parser.parse_args(argv)
    out = ns.out if ns.out is not None else (RESULTS_PATH if ns.split == "test" else None)
    return Args(split=ns.split, pairs=ns.pairs, out=out)


if __name__ == "__main__":
    main(parse_args())

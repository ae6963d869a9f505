"""Score the ``"fact"`` evidence criterion on two-reader labelled pairs.

Reads labelled sets (default ``tests/masking/fixtures/evidence_labels_v8.jsonl`` and ``_v9``:
518 and 513 (mask, candidate) pairs drawn and labelled after the criterion's model was fitted on
sets v2 to v7, each by two independent readers, disagreements settled by a third;
``docs/labelling.md``) and
reports, for each set and for all of them pooled: precision and recall of the criterion at its
default threshold, per acceptance path and per stratum (``v1-top`` is the default env's own top
evidence), with Wilson 95% intervals, the ``"context"`` criterion (recorded in the fixture when
the pairs were drawn) on the same pairs, and the precision/recall curve over the model's
threshold so users can pick a stricter point.

    RAMP_ENV_CACHE=... python benchmarks/evidence_fact.py --out benchmarks/results/evidence_v9.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import time
from pathlib import Path

from _common import check_output, rate, read_labels  # this folder's shared helpers (on sys.path when run as a script)

from ramp_env.cache import atomic_path
from ramp_env.corpus.passage import Passage
from ramp_env.masking.evidence import CheckedFact
from ramp_env.masking.fact_check import FACT_CHECK_VERSION, SourceFact
from ramp_env.masking.fact_model import THRESHOLD
from ramp_env.text.spans import SalientSpan, SpanType

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "masking" / "fixtures"
# the current model's report sets: none was read by benchmarks/fact_model_fit.py for it
REPORT_SETS = (FIXTURES / "evidence_labels_v8.jsonl", FIXTURES / "evidence_labels_v9.jsonl")
THRESHOLDS = tuple(sorted({0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, THRESHOLD}))

# what verdicts() and summarise() read from each labelled row (``label`` may be None: unsettled)
FIELDS = {"pair_id": str, "source_id": str, "source_title": str, "source_text": str, "evidence_id": str,
          "evidence_title": str, "evidence_text": str, "start": int, "end": int, "span_type": str, "half": str,
          "stratum": str, "accepted_v1": bool, "settled_by": str}


def verdicts(row: dict, scores: tuple[float, ...]) -> dict[float, tuple[bool, str]]:
    """``threshold -> (supported, path)`` for one pair (the parse is shared by all points)."""
    source = Passage(row["source_id"], row["source_title"], row["source_text"])
    evidence = Passage(row["evidence_id"], row["evidence_title"], row["evidence_text"])
    span = SalientSpan(row["start"], row["end"], SpanType(row["span_type"]))
    out = {}
    for m in scores:
        if m == THRESHOLD:
            v = CheckedFact(source, span).verdict(evidence)  # the env's own entry point
        else:
            v = SourceFact(source, span, threshold=m).check(evidence)
        out[m] = (v.supported, v.path)
    return out


def summarise(rows: list[dict], got: dict[str, dict[float, tuple[bool, str]]], scores: tuple[float, ...]) -> dict:
    """Rows carry ``key`` (set and pair id), the key of ``got``."""
    labelled = [r for r in rows if r["label"] is not None]
    true = sum(r["label"] for r in labelled)
    report: dict = {"pairs": len(labelled), "readers_judged_true": true}
    tp = sum(1 for r in labelled if got[r["key"]][THRESHOLD][0] and r["label"])
    acc = sum(1 for r in labelled if got[r["key"]][THRESHOLD][0])
    report["fact"] = {"precision": rate(tp, acc), "recall": rate(tp, true)}
    paths = collections.defaultdict(lambda: [0, 0])
    for r in labelled:
        ok, path = got[r["key"]][THRESHOLD]
        if ok:
            paths[path][0] += r["label"]
            paths[path][1] += 1
    report["fact_by_path"] = {p: rate(k, n) for p, (k, n) in sorted(paths.items())}
    tp1 = sum(1 for r in labelled if r["accepted_v1"] and r["label"])
    acc1 = sum(1 for r in labelled if r["accepted_v1"])
    report["context"] = {"precision": rate(tp1, acc1), "recall": rate(tp1, true)}
    curve = []
    for m in scores:
        k = sum(1 for r in labelled if got[r["key"]][m][0] and r["label"])
        n = sum(1 for r in labelled if got[r["key"]][m][0])
        curve.append({"threshold": m, "precision": rate(k, n), "recall": rate(k, true)})
    report["curve"] = curve
    strata = collections.defaultdict(lambda: [0, 0])
    for r in labelled:
        strata[r["stratum"]][0] += r["label"]
        strata[r["stratum"]][1] += 1
    report["readers_true_by_stratum"] = {s: rate(k, n) for s, (k, n) in sorted(strata.items())}
    by_stratum = collections.defaultdict(lambda: [0, 0, 0])  # accepted and true, accepted, true
    for r in labelled:
        ok = got[r["key"]][THRESHOLD][0]
        by_stratum[r["stratum"]][0] += ok and r["label"]
        by_stratum[r["stratum"]][1] += ok
        by_stratum[r["stratum"]][2] += r["label"]
    report["fact_by_stratum"] = {s: {"precision": rate(k, n), "recall": rate(k, t)}
                                 for s, (k, n, t) in sorted(by_stratum.items())}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, nargs="+", default=list(REPORT_SETS),
                        help="labelled sets (JSONL, docs/labelling.md); each is reported, and all of them pooled")
    parser.add_argument("--out", type=Path, required=True, help="results JSON to write")
    parser.add_argument("--halves", nargs="+", default=["fresh"], help="values of the rows' half field to report")
    args = parser.parse_args()
    check_output(args.out)  # before the parses and embeddings, not after
    sets = {path.name: [{**r, "key": f"{path.name}:{r['pair_id']}"} for r in read_labels(path, FIELDS)]
            for path in args.labels}
    rows = [r for set_rows in sets.values() for r in set_rows]
    scores = THRESHOLDS
    started = time.time()
    got = {r["key"]: verdicts(r, scores) for r in rows if r["half"] in args.halves}
    settled = {name: dict(collections.Counter(r["settled_by"] for r in set_rows)) for name, set_rows in sets.items()}
    result = {
        "what": "the \"fact\" evidence criterion against two-reader labels (docs/labelling.md)",
        "script": "benchmarks/evidence_fact.py",
        "criterion": "fact", "fact_check_version": FACT_CHECK_VERSION,
        "threshold": THRESHOLD,
        "labels": list(sets),
        "agreement": {name: {"pairs": len(sets[name]), "settled": settled[name]} for name in sets},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "seconds": round(time.time() - started, 1),
    }
    parts = sets | ({"pooled": rows} if len(sets) > 1 else {})
    for part, part_rows in parts.items():
        for half in args.halves:
            result.setdefault(part, {})[half] = summarise([r for r in part_rows if r["half"] == half], got, scores)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for part in parts:
        for half in args.halves:
            h = result[part][half]
            print(part, half, "fact", h["fact"], "context", h["context"])


if __name__ == "__main__":
    main()

"""How many masks the evidence criterion leaves: supported spans per passage, v1 against v2.

Draws passages of the default corpus with a fixed seed, computes each maskable span's
evidence under the current criterion (version 2) and the old one (version 1, shared
context words only) through the same engine, and reports the share of supported spans,
the passages that could host a task of 1-4 masks, and the type mix of supported spans.

    RAMP_ENV_CACHE=... python benchmarks/evidence_pool.py --passages 200 --out benchmarks/results/evidence_pool.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from _common import default_corpus_search  # this folder's shared helpers (on sys.path)

from ramp_env.cache import atomic_path
from ramp_env.masking import maskable_spans
from ramp_env.masking.evidence import EvidenceIndex
from ramp_env.masking.near_duplicates import NearDuplicateFinder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=150)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    corpus, table, retriever = default_corpus_search()
    copies = NearDuplicateFinder(retriever)
    indexes = {
        name: EvidenceIndex(retriever, near_duplicates=lambda p: copies.ids(p.id, p.text), criterion=criterion)
        for name, criterion in (("v1", "context"), ("v2", "fact"))
    }
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(np.arange(1, len(corpus.store) + 1), size=args.passages, replace=False)
    counts = {"v1": collections.Counter(), "v2": collections.Counter()}
    types = {"v1": collections.Counter(), "v2": collections.Counter()}
    spans_total = 0
    seconds = {"v1": 0.0, "v2": 0.0}
    for row in rows:
        source = corpus.store.get(int(row))
        spans = maskable_spans(source, table.get(int(row)))
        spans_total += len(spans)
        supported = {}
        for name, index in indexes.items():
            t = time.perf_counter()
            supported[name] = index.supported_spans(source, spans)
            seconds[name] += time.perf_counter() - t
        for name, found in supported.items():
            counts[name][min(len(found), 4)] += 1
            types[name].update(s.label.value for s in found)
    n = len(rows)
    result = {
        "what": "supported spans and task-eligible passages under the context (v1) and fact (v2) evidence criteria, same engine and draws",
        "script": "benchmarks/evidence_pool.py",
        "passages": n, "maskable_spans": spans_total, "seed": args.seed,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
    }
    for name in ("v1", "v2"):
        supported = sum(types[name].values())
        result[name] = {
            "supported_spans": supported,
            "supported_share": round(supported / max(1, spans_total), 3),
            "eligible_share_by_masks": {k: round(sum(c for m, c in counts[name].items() if m >= k) / n, 3) for k in (1, 2, 3, 4)},
            "type_mix": {t: round(c / max(1, supported), 3) for t, c in types[name].most_common()},
            "seconds_per_passage": round(seconds[name] / n, 3),
        }
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("v1", "v2")}, indent=1))


if __name__ == "__main__":
    main()

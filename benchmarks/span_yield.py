"""How many maskable spans the cleaned extractor leaves, against spaCy's raw entities.

On ``--n`` random passages of the default corpus (seeded), counts per span type the spans
and the maskable spans (:func:`ramp_env.masking.maskable_spans`: text once in the passage,
not part of the title) of spaCy's raw entities (the v1 extractor) and of the extractor the
env uses (``make_span_extractor("auto")`` bound to the corpus), and the share of passages
with at least k maskable spans, k = 1..4. Evidence is not checked (that filter is the
same for both). Writes ``benchmarks/results/span_yield.json``.

    python benchmarks/span_yield.py --n 600 --seed 11
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking import maskable_spans
from ramp_env.text.spans import make_span_extractor

RESULTS = Path(__file__).parent / "results" / "span_yield.json"


def summarise(passages, found) -> dict[str, object]:
    spans, maskable = Counter(), Counter()
    at_least = Counter()
    for passage, extracted in zip(passages, found, strict=True):
        spans.update(s.label.value for s in extracted)
        keep = maskable_spans(passage, extracted)
        maskable.update(s.label.value for s in keep)
        for k in range(1, 5):
            at_least[k] += len(keep) >= k
    n = len(passages)
    return {
        "spans": sum(spans.values()), "maskable": sum(maskable.values()),
        "spans_per_type": dict(sorted(spans.items())), "maskable_per_type": dict(sorted(maskable.items())),
        "share_of_passages_with_at_least_k_maskable": {str(k): round(at_least[k] / n, 4) for k in range(1, 5)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started, load = time.perf_counter(), os.getloadavg()
    corpus = PreparedCorpus.open("default", progress=False)
    extractor = corpus.bind_extractor(make_span_extractor("auto"))
    rows = np.random.default_rng(args.seed).choice(len(corpus.store), size=args.n, replace=False) + 1
    passages = corpus.store.get_many([int(r) for r in rows])
    texts = [p.text for p in passages]
    result = {
        "passages": args.n, "seed": args.seed, "extractor": extractor.cache_key,
        "raw_spacy_v1": summarise(passages, list(extractor.raw_entities(texts))),
        "cleaned": summarise(passages, list(extractor.extract_batch(texts))),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average_at_start": load},
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(args.out, result)
    for side in ("raw_spacy_v1", "cleaned"):
        r = result[side]
        print(side, r["maskable"], r["maskable_per_type"], r["share_of_passages_with_at_least_k_maskable"])


if __name__ == "__main__":
    main()

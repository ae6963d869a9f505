"""How fast does a train episode's search hide the test passages? Picks the filter of each backend.

On the default corpus with its passage split (``ramp_env.masking.split``), times
``--queries`` searches (top 3; queries are the first 12 words of seeded random
passages) per way of hiding the test side:

* tantivy: no filter (baseline); one ``MustNot`` term query per test id; one
  ``MustNot`` term-set query (built once); and post-filtering (over-fetch and drop,
  ``FilteredRetriever``: what ``TantivyRetriever.restricted`` uses, the fastest).
* rank_bm25: no filter; ``exclude_ids`` with every test id; the boolean row mask
  (what ``RestrictedBM25`` does).

Writes ``benchmarks/results/split_filter.json`` (median and p95 ms per query).

    RAMP_ENV_CACHE=/work/cache python benchmarks/split_filter.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tantivy

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.split import PassageSplit
from ramp_env.retrieval.restricted import FilteredRetriever

RESULTS = Path(__file__).parent / "results" / "split_filter.json"


def timed(search: Callable[[str], list], queries: list[str]) -> dict[str, float]:
    for q in queries[:5]:  # warm caches
        search(q)
    times = []
    for q in queries:
        start = time.perf_counter()
        search(q)
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(float(np.median(times)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-rank-bm25", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    corpus = PreparedCorpus.open(args.corpus, progress=False)
    split = PassageSplit.for_corpus(corpus, progress=True)
    hidden = split.ids("test", corpus)
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(corpus.store), size=args.queries, replace=False) + 1
    queries = [" ".join(p.text.split()[:12]) for p in corpus.store.get_many(rows.tolist())]
    k = 3
    tv = corpus.retriever("tantivy")
    per_id = [tantivy.Query.term_query(tv._schema, "pid", pid) for pid in sorted(hidden)]
    term_set = [tantivy.Query.term_set_query(tv._schema, "pid", sorted(hidden))]
    restricted = tv.restricted(hidden)
    assert isinstance(restricted, FilteredRetriever)
    results: dict[str, dict[str, float]] = {
        "tantivy_no_filter": timed(lambda q: tv.search(q, k), queries),
        "tantivy_mustnot_per_id": timed(lambda q: tv._search(q, k, (), per_id), queries),
        "tantivy_mustnot_term_set": timed(lambda q: tv._search(q, k, (), term_set), queries),
        "tantivy_post_filter (used)": timed(lambda q: restricted.search(q, k), queries),
    }
    if not args.skip_rank_bm25:
        bm = corpus.retriever("rank_bm25")
        view = bm.restricted(hidden)
        results["rank_bm25_no_filter"] = timed(lambda q: bm.search(q, k), queries)
        results["rank_bm25_exclude_ids"] = timed(lambda q: bm.search(q, k, exclude_ids=hidden), queries)
        results["rank_bm25_row_mask (used)"] = timed(lambda q: view.search(q, k), queries)
    with np.load(PassageSplit.path_for(corpus), allow_pickle=False) as data:
        split_meta = json.loads(str(data["meta"]))  # passages, test share, clusters, clustering seconds
    sizes = np.bincount(np.unique(split.cluster, return_inverse=True)[1])
    split_meta |= {"clusters_of_two_or_more": int((sizes > 1).sum()), "passages_in_them": int(sizes[sizes > 1].sum()),
                   "largest_cluster": int(sizes.max())}
    report = {
        "what": "ms per top-3 search while hiding the test side of the passage split (benchmarks/split_filter.py)",
        "corpus": args.corpus, "passages": len(corpus.store), "hidden_test_passages": len(hidden),
        "queries": args.queries, "seed": args.seed, "split": split_meta, "results": results,
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2),
                    "note": "2 cores shared with ~8 other jobs: absolute times are noisy, ratios less so"},
    }
    atomic_write_json(args.out, report)
    for name, value in results.items():
        print(f"{name:28s} {value['median_ms']:8.2f} ms median {value['p95_ms']:8.2f} ms p95")


if __name__ == "__main__":
    main()

"""Retrieval benchmark: tantivy (default backend) against rank-bm25 (reference), same run.

For each corpus size (10k and 100k passages made from the default corpus by
shuffling sentences, and the default corpus itself) and each backend, in a
fresh subprocess so peak memory is the backend's own:

* build rate: passages indexed per second (rank-bm25: tokenise + BM25Okapi);
* query latency p50/p95 over realistic queries (words around a mask + title);
* peak RSS of the process.

Then ``RAMPEnv.step`` on a search over the default corpus with each backend.
Ratios are against rank-bm25 measured in the same run, so machine load cancels
out to first order. Usage::

    python benchmarks/retrieval.py [--sizes 10000 100000] [--queries 200] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ramp_env.actions import format_search
from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.text.tokenize import sentence_spans


def make_corpus(source: PreparedCorpus, size: int, path: Path, seed: int = 0) -> Path:
    """``size`` passages: the source's, then copies with sentences shuffled and one dropped."""
    rng = random.Random(seed)
    base = list(source.store)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(size):
            p = base[i % len(base)]
            copy = i // len(base)
            text = p.text
            if copy:
                sentences = [p.text[a:b] for a, b in sentence_spans(p.text)]
                rng.shuffle(sentences)
                if len(sentences) > 2:
                    sentences.pop()
                text = " ".join(sentences)
            fh.write(json.dumps({"id": f"{p.id}~{copy}", "title": p.title, "text": text}) + "\n")
    return path


def make_queries(corpus: PreparedCorpus, n: int, seed: int = 0) -> list[str]:
    """Queries as agents write them: the title plus a few words near a random position."""
    rng = random.Random(seed)
    queries = []
    for _ in range(n):
        p = corpus.store.get(rng.randrange(1, len(corpus.store) + 1))
        words = p.text.split()
        at = rng.randrange(max(1, len(words) - 6))
        queries.append(" ".join([p.title, *words[at : at + 6]]))
    return queries


def _measure(backend: str, corpus_dir: str, queries: list[str], out: Any) -> None:
    from ramp_env.retrieval import RankBM25Retriever, Retriever, TantivyRetriever
    from ramp_env.retrieval.tantivy_backend import build_tantivy_index

    corpus = PreparedCorpus(corpus_dir, progress=False)
    with tempfile.TemporaryDirectory() as index_dir:
        # build from scratch (never the cached index) so the build rate is real
        started = time.perf_counter()
        retriever: Retriever
        if backend == "tantivy":
            build_tantivy_index(index_dir, corpus.store)
            retriever = TantivyRetriever(index_dir, corpus.store)
        else:
            retriever = RankBM25Retriever(corpus.store)
        build = time.perf_counter() - started
        latencies = []
        for q in queries:
            t = time.perf_counter()
            retriever.search(q, 5)
            latencies.append(time.perf_counter() - t)
    latencies.sort()
    out.put(
        {
            "build_s": build,
            "rate": len(corpus.store) / build,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def measure(backend: str, corpus: PreparedCorpus, queries: list[str]) -> dict[str, float]:
    ctx = mp.get_context("spawn")  # a fresh interpreter: peak RSS is this backend's alone
    out = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(backend, str(corpus.directory), queries, out))
    proc.start()
    result = out.get()
    proc.join()
    return result


def env_step_seconds(backend: str, queries: list[str], steps: int) -> float:
    from ramp_env.envs.ramp import RAMPEnv

    env = RAMPEnv(num_masks=1, retriever=backend, max_searches=steps, max_steps=steps + 1, progress=False)
    env.reset(seed=0)
    actions = [format_search(q) for q in queries[:steps]]
    started = time.perf_counter()
    for action in actions:
        env.step(action)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args()

    default = PreparedCorpus.open("default")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpora = [("default", default)]
        for size in args.sizes:
            path = make_corpus(default, size, Path(tmp) / f"synthetic-{size}.jsonl")
            corpora.append((f"{size // 1000}k", PreparedCorpus.open(path, cache_dir=tmp, progress=False)))
        for name, corpus in corpora:
            queries = make_queries(corpus, args.queries)
            # rank-bm25 scores every passage per query: cap its queries so 100k stays minutes
            reference = measure("rank_bm25", corpus, queries[: max(20, args.queries * 10_000 // len(corpus.store))])
            fast = measure("tantivy", corpus, queries)
            for backend, r in (("rank_bm25", reference), ("tantivy", fast)):
                rows.append({"corpus": name, "passages": len(corpus.store), "backend": backend, **r})

    queries = make_queries(default, 100, seed=1)
    step_ref = env_step_seconds("rank_bm25", queries, 30)
    step_fast = env_step_seconds("tantivy", queries, 100)

    header = f"{'corpus':>8} {'passages':>9} {'backend':>10} {'build/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'peak MB':>8} {'p50 speed-up':>13}"
    print(header)
    print("-" * len(header))
    for row in rows:
        ref = next(r for r in rows if r["corpus"] == row["corpus"] and r["backend"] == "rank_bm25")
        print(
            f"{row['corpus']:>8} {row['passages']:>9} {row['backend']:>10} {row['rate']:>10.0f} "
            f"{row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['peak_mb']:>8.0f} {ref['p50_ms'] / row['p50_ms']:>12.1f}x"
        )
    ratio = step_ref / step_fast
    print(
        f"\nenv.step(<search>) on the default corpus: rank_bm25 {1000 * step_ref:.2f} ms, "
        f"tantivy {1000 * step_fast:.2f} ms -> {ratio:.1f}x faster (target >= 20x)"
    )
    if args.out:
        atomic_write_json(args.out, {"rows": rows, "env_step_ms": {"rank_bm25": 1000 * step_ref, "tantivy": 1000 * step_fast}})


if __name__ == "__main__":
    main()

"""CPU cost of the heaviest legal ``/retrieve`` request on the rank_bm25 backend, before and after postings.

The request: 256 queries of 256 distinct analysed terms each (the per-query term cap), topk 3,
on the default corpus. "After" is measured whole, as the real server answers it (``ramp-env serve
--retriever rank_bm25`` on 127.0.0.1, the CPU time of the server process for that request).
"Before" is ``BM25Okapi.get_scores`` (the old scoring path, a Python walk over every passage's
term counts per term) timed on ``--old-sample`` of the queries in this process and scaled to 256,
since running it whole takes minutes; the file says so. Usage::

    nice -n 10 python benchmarks/rank_bm25_request.py [--out benchmarks/results/rank_bm25_request.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from _common import stop  # this folder's shared helpers (on sys.path when run as a script)

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.retrieval.base import query_terms

REPO = Path(__file__).resolve().parents[1]


def heavy_queries(corpus: PreparedCorpus, count: int = 256, terms: int = 256) -> list[str]:
    """``count`` queries of ``terms`` distinct words each, drawn in order from the corpus's vocabulary."""
    words: list[str] = []
    seen: set[str] = set()
    for passage in corpus.store:
        for word in passage.text.split():
            if word.isalpha() and word.lower() not in seen:
                seen.add(word.lower())
                words.append(word)
        if len(words) > count * 8 + terms:
            break
    return [" ".join(words[(i * 7 + j) % len(words)] for j in range(terms))[:4096] for i in range(count)]


def served_cpu_seconds(corpus: str, queries: list[str]) -> dict[str, float]:
    command = [sys.executable, "-m", "ramp_env", "serve", "--corpus", corpus, "--retriever", "rank_bm25",
               "--port", "0", "--max-request-cpu-seconds", "3600"]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = (proc.stdout.readline() if proc.stdout else "").split()[1].removesuffix("/retrieve")
        with httpx.Client(trust_env=False, timeout=3600) as client:
            for _ in range(1200):  # the rank_bm25 index is built in memory at start
                try:
                    if client.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.25)
            server = psutil.Process(proc.pid)
            cpu0, t0 = sum(server.cpu_times()[:2]), time.perf_counter()
            reply = client.post(f"{base}/retrieve", json={"queries": queries, "topk": 3})
            wall, cpu = time.perf_counter() - t0, sum(server.cpu_times()[:2]) - cpu0
        if reply.status_code != 200 or len(reply.json()["result"]) != len(queries):
            raise RuntimeError(f"server answered {reply.status_code}: {reply.text[:200]}")
        return {"server_cpu_seconds": round(cpu, 3), "wall_seconds": round(wall, 3)}
    finally:
        stop(proc, timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--old-sample", type=int, default=4, help="queries timed on the old path")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "rank_bm25_request.json"))
    args = parser.parse_args()
    corpus = PreparedCorpus.open(args.corpus)
    queries = heavy_queries(corpus)
    retriever = corpus.retriever("rank_bm25")
    load_before = os.getloadavg()
    started = time.process_time()
    for query in queries[: args.old_sample]:
        retriever._bm25.get_scores(query_terms(query))  # the old per-query scoring
    old_per_query = (time.process_time() - started) / args.old_sample
    started = time.process_time()
    for query in queries:
        retriever.search(query, 3)
    new_in_process = time.process_time() - started
    served = served_cpu_seconds(args.corpus, queries)
    atomic_write_json(Path(args.out), {
        "benchmark": "rank_bm25_request",
        "command": "python benchmarks/rank_bm25_request.py " + " ".join(sys.argv[1:]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                    "note": "shared, loaded machine; CPU times, not wall times, are the comparable figures"},
        "corpus": {"name": corpus.directory.name, "passages": corpus.manifest["passages"]},
        "request": {"queries": len(queries), "terms_per_query": len(query_terms(queries[0])), "topk": 3},
        "old_get_scores": {"cpu_seconds_per_query": round(old_per_query, 3), "queries_timed": args.old_sample,
                           "cpu_seconds_for_the_request_extrapolated": round(old_per_query * len(queries), 1)},
        "postings_in_process_cpu_seconds": round(new_in_process, 3),
        "served": served,
    })
    print(f"old: {old_per_query:.3f} s/query (x{len(queries)} = {old_per_query * len(queries):.0f} s); "
          f"postings: {new_in_process:.2f} s in process; served: {served}")


if __name__ == "__main__":
    main()

"""Load test of ``ramp-env serve`` on loopback, against in-process search in the same run.

Starts the real server (uvicorn, one process) on 127.0.0.1 with a free port, then for each
concurrency level (1, 8, 32 clients by default) sends a fixed number of Search-R1 ``/retrieve``
requests (one query, ``topk=3``, JSON) from that many concurrent asyncio clients and records
queries/s and latency percentiles; every level is repeated ``--repeats`` times (95% CI of the
throughput across repeats). One more row sends the same queries as batches of 32 per request,
and the ``gem`` rows send GEM ``SearchTool``'s request (``{"query": q, "topk": 3,
"return_scores": true}`` as msgpack without a content type, flat reply) from 1 and 16
concurrent clients, which the server batches; those rows also report the engine calls the
server made (from ``/health``), i.e. how many queries each batch held on average.
The baseline is ``retriever.search`` on the same queries in this process, measured in the same
run, so machine load cancels out to first order. The clients share the machine with the server
(2 cores here), so loopback figures are a floor, not a ceiling. Bounded loops; the server is
always stopped. Usage::

    nice -n 10 python benchmarks/serve_load.py [--corpus default] [--requests 400] \
        [--out benchmarks/results/serve_load.json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import msgpack
import numpy as np
from _common import stop  # this folder's shared helpers (on sys.path when run as a script)
from scipy import stats

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus

REPO = Path(__file__).resolve().parents[1]


def make_queries(corpus: PreparedCorpus, count: int, seed: int) -> list[str]:
    """Title plus three words of the passage's text, like an agent's first search."""
    rng = random.Random(seed)
    queries = []
    for row in rng.sample(range(1, len(corpus.store) + 1), k=min(count, len(corpus.store))):
        passage = corpus.store.get(row)
        words = [w for w in passage.text.split() if w.isalpha() and len(w) > 3]
        queries.append(" ".join([passage.title, *rng.sample(words, k=min(3, len(words)))]))
    return queries


def percentiles(latencies: list[float]) -> dict[str, float]:
    values = np.asarray(latencies) * 1000.0
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p95_ms": round(float(np.percentile(values, 95)), 3)}


def mean_ci(values: list[float]) -> dict[str, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": round(mean, 2), "ci95": [round(mean, 2), round(mean, 2)]}
    half = float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values) / len(values) ** 0.5
    return {"mean": round(mean, 2), "ci95": [round(mean - half, 2), round(mean + half, 2)]}


def in_process(corpus: PreparedCorpus, queries: list[str], requests: int) -> dict[str, Any]:
    retriever = corpus.retriever("tantivy")
    latencies = []
    started = time.perf_counter()
    for i in range(requests):
        t0 = time.perf_counter()
        retriever.search(queries[i % len(queries)], 3)
        latencies.append(time.perf_counter() - t0)
    return {"queries_per_second": requests / (time.perf_counter() - started), **percentiles(latencies)}


def _request(shape: str, chunk: list[str]) -> dict[str, Any]:
    """httpx keyword arguments for one request of ``shape`` (``search-r1`` JSON or ``gem`` msgpack)."""
    if shape == "gem":  # GEM's SearchTool: one query, msgpack bytes, no content type
        return {"content": msgpack.packb({"query": chunk[0], "topk": 3, "return_scores": True})}
    return {"json": {"queries": chunk, "topk": 3, "return_scores": True}}


def _ok(shape: str, reply: httpx.Response, batch: int) -> bool:
    if reply.status_code != 200:
        return False
    if shape == "gem":  # a flat list of {"document", "score"} for the one query
        result = msgpack.unpackb(reply.content)["result"]
        return bool(result) and all("document" in item for item in result)
    return len(reply.json()["result"]) == batch


async def load(
    base: str, queries: list[str], requests: int, clients: int, batch: int, shape: str = "search-r1"
) -> dict[str, Any]:
    """``requests`` POSTs of ``batch`` queries each, from ``clients`` concurrent clients."""
    latencies: list[float] = []
    errors = 0
    next_request = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits, trust_env=False) as client:

        async def worker() -> None:
            nonlocal next_request, errors
            while next_request < requests:
                i = next_request
                next_request += 1
                chunk = [queries[(i * batch + j) % len(queries)] for j in range(batch)]
                t0 = time.perf_counter()
                reply = await client.post("/retrieve", **_request(shape, chunk))
                latencies.append(time.perf_counter() - t0)
                if not _ok(shape, reply, batch):
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - started
    return {"queries_per_second": requests * batch / seconds, "errors": errors, **percentiles(latencies)}


def start_server(corpus: str, cache_dir: str | None, extra: list[str]) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "ramp_env", "serve", "--corpus", corpus, "--host", "127.0.0.1", "--port", "0",
               *extra]
    if cache_dir:
        command += ["--cache-dir", cache_dir]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("serving http://"):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    base = line.split()[1].removesuffix("/retrieve")
    deadline = time.monotonic() + 60
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while True:
            try:
                if client.get(f"{base}/health").status_code == 200:
                    return proc, base
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server not healthy: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.05)


def _batching(base: str) -> dict[str, int]:
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        return client.get(f"{base}/health").json()["batching"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--queries", type=int, default=200, help="distinct queries")
    parser.add_argument("--requests", type=int, default=400, help="requests per level and repeat")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batch", type=int, default=32, help="queries per request in the batched row")
    parser.add_argument("--gem-concurrency", type=int, nargs="+", default=[1, 16],
                        help="concurrent clients of the GEM single-query rows")
    parser.add_argument("--batch-window-ms", type=float, default=None, help="passed to ramp-env serve")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "serve_load.json"))
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(out.parent, os.W_OK):
        raise SystemExit(f"cannot write {out}")

    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir)
    corpus.retriever("tantivy")  # build the index before timing anything
    queries = make_queries(corpus, args.queries, args.seed)
    load_before = os.getloadavg()
    extra = ["--batch-window-ms", str(args.batch_window_ms)] if args.batch_window_ms is not None else []
    proc, base = start_server(args.corpus, args.cache_dir, extra)
    rows: list[dict[str, Any]] = []
    try:
        asyncio.run(load(base, queries, 20, 1, 1))  # warm-up: connections, page cache
        levels = [(c, 1, "search-r1") for c in args.concurrency] + [(1, args.batch, "search-r1")]
        levels += [(c, 1, "gem") for c in args.gem_concurrency]
        for clients, batch, shape in levels:
            runs, local = [], []
            before = _batching(base)
            for _ in range(args.repeats):
                requests = max(args.requests // batch, 10)
                runs.append(asyncio.run(load(base, queries, requests, clients, batch, shape)))
                local.append(in_process(corpus, queries, args.requests))
            after = _batching(base)
            served = mean_ci([r["queries_per_second"] for r in runs])
            baseline = mean_ci([r["queries_per_second"] for r in local])
            row = {
                "request": "gem single query (msgpack)" if shape == "gem" else "search-r1 batch (json)",
                "clients": clients,
                "queries_per_request": batch,
                "server_queries_per_second": served,
                "server_p50_ms": round(statistics.fmean(r["p50_ms"] for r in runs), 3),
                "server_p95_ms": round(statistics.fmean(r["p95_ms"] for r in runs), 3),
                "server_errors": sum(r["errors"] for r in runs),
                "in_process_queries_per_second": baseline,
                "in_process_p95_ms": round(statistics.fmean(r["p95_ms"] for r in local), 3),
                "server_over_in_process": round(served["mean"] / baseline["mean"], 4),
            }
            if shape == "gem":
                calls = after["batches"] - before["batches"]
                row["engine_calls"] = calls
                row["mean_queries_per_engine_call"] = round((after["single_queries"] - before["single_queries"])
                                                            / max(calls, 1), 2)
            rows.append(row)
            print(row, flush=True)
    finally:
        stop(proc)
    atomic_write_json(
        out,
        {
            "benchmark": "serve_load",
            "command": "python benchmarks/serve_load.py " + " ".join(sys.argv[1:]),
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "note": "shared, loaded machine; clients and server share its cores",
            },
            "corpus": {"name": corpus.directory.name, "passages": corpus.manifest["passages"]},
            "settings": {
                "requests_per_level": args.requests, "distinct_queries": len(queries), "topk": 3,
                "repeats": args.repeats, "encoding": "json (search-r1 rows), msgpack (gem rows)",
                "server": "uvicorn, 1 process", "batch_window_ms": args.batch_window_ms or "server default",
            },
            "results": rows,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""What the integrity checks of a prepared corpus cost: the cheap check on every open vs ``--verify``.

Prepares a synthetic corpus of ``--passages`` passages (store and tantivy index; no
spans), then times, in the same run and ``--repeats`` times each:

* opening the prepared corpus with the integrity check (sizes, first/last 64 KiB,
  manifest digest) and the tantivy retriever with its record check;
* the same open with the checks replaced by no-ops (the baseline);
* ``PreparedCorpus.verify()`` (SHA-256 of every byte), what ``ramp-env build-index --verify`` runs.

Writes ``benchmarks/results/integrity.json``. The machine is shared and loaded:
compare the ratio, measured alongside, rather than absolute times.

    nice -n 10 python benchmarks/integrity.py --passages 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from ramp_env.cache import atomic_write_json
from ramp_env.corpus import prepared
from ramp_env.corpus.prepared import PreparedCorpus

RESULTS = Path(__file__).parent / "results" / "integrity.json"
WORDS = ("river", "castle", "harbour", "empire", "poem", "engine", "village", "treaty", "comet", "library",
         "battle", "garden", "senate", "island", "bridge", "opera", "glacier", "market", "temple", "railway")


def write_corpus(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = " ".join(WORDS[(i * 7 + j * 3 + j * j) % len(WORDS)] for j in range(90))
            fh.write(json.dumps({"id": f"d{i}", "title": f"Title {i}", "text": f"Name{i} {words} {1800 + i % 200}"}) + "\n")


def open_corpus(directory: Path) -> float:
    started = time.perf_counter()
    corpus = PreparedCorpus(directory, progress=False)
    corpus.retriever("tantivy")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ramp-integrity-") as tmp:
        corpus_file = Path(tmp) / "synthetic.jsonl"
        write_corpus(corpus_file, args.passages)
        corpus = PreparedCorpus.open(corpus_file, cache_dir=Path(tmp) / "cache", progress=False)
        corpus.retriever("tantivy")
        directory = corpus.directory
        sizes = {p.name: p.stat().st_size for p in [directory / "passages.sqlite"]}
        sizes["index-tantivy-v1"] = sum(p.stat().st_size for p in (directory / "index-tantivy-v1").iterdir())
        checked, unchecked, verify = [], [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            checked.append(open_corpus(directory))
            with mock.patch.object(prepared, "check_artefact"), mock.patch.object(prepared, "check_sealed"):
                unchecked.append(open_corpus(directory))
            started = time.perf_counter()
            PreparedCorpus(directory, progress=False).verify()
            verify.append(time.perf_counter() - started)
    median = statistics.median
    result = {
        "passages": args.passages,
        "bytes": sizes,
        "repeats": args.repeats,
        "open_with_checks_s": checked,
        "open_without_checks_s": unchecked,
        "verify_s": verify,
        "median_open_with_checks_s": round(median(checked), 4),
        "median_open_without_checks_s": round(median(unchecked), 4),
        "median_check_overhead_s": round(median(checked) - median(unchecked), 4),
        "median_verify_s": round(median(verify), 3),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
                    "note": "shared machine, other jobs running"},
    }
    atomic_write_json(RESULTS, result)
    print(json.dumps({k: v for k, v in result.items() if k.startswith("median") or k == "bytes"}, indent=2))


if __name__ == "__main__":
    main()

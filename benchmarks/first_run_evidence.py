"""What evidence-verified masking adds to the README's first command.

    python benchmarks/first_run_evidence.py --cache-dir /tmp/fresh-cache

Runs ``ramp-env evaluate --agent bm25 --episodes 50 --num-masks 1 2`` (the
README's main job after installation) twice on an already prepared default
corpus: with ``require_evidence=False`` and then with the default
``require_evidence=True`` starting from an empty evidence cache, and records the
wall time of each in ``benchmarks/results/first_run_evidence.json``. The
difference is the first-run cost of the lazily computed evidence. Corpus
preparation itself is unchanged by evidence and not timed here.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.evidence import EVIDENCE_VERSION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", required=True, help="a cache root holding the prepared default corpus")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "first_run_evidence.json"))
    args = parser.parse_args()
    corpus = PreparedCorpus.open("default", cache_dir=args.cache_dir, progress=False)
    for backend in ("tantivy", "rank_bm25"):
        for suffix in ("", "-wal", "-shm"):
            (corpus.directory / f"evidence-{backend}-v{EVIDENCE_VERSION}.sqlite{suffix}").unlink(missing_ok=True)
    command = [sys.executable, "-m", "ramp_env", "evaluate", "--agent", "bm25", "--episodes", "50",
               "--num-masks", "1", "2", "--cache-dir", args.cache_dir]
    timings = {}
    for name, extra in (("require_evidence_false", ["--env-arg", "require_evidence=none"]),
                        ("require_evidence_true_empty_cache", [])):
        started = time.perf_counter()
        subprocess.run(command + extra, check=True, stdout=subprocess.DEVNULL)
        timings[name] = round(time.perf_counter() - started, 1)
        print(name, timings[name], "s")
    atomic_write_json(args.out, {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load": "shared machine, other jobs running: wall times are upper bounds",
        "command": " ".join(command),
        "seconds": timings,
        "evidence_overhead_seconds": round(timings["require_evidence_true_empty_cache"]
                                           - timings["require_evidence_false"], 1),
    })


if __name__ == "__main__":
    main()

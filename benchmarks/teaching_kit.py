"""What a class sees: the tutorial notebook's results and run time per section, and the exercise checkers.

    nice -n 10 python benchmarks/teaching_kit.py          # writes benchmarks/results/teaching_kit.json

It executes ``examples/tutorial.ipynb`` in a fresh Jupyter kernel with a fresh
cache (so the time includes preparing RAMP-Lite-v0's index, as a student's first
run does), records each section's wall time and the numbers the notebook prints
(its ``TUTORIAL_SUMMARY`` line), then runs every exercise checker against the
solutions and against the unmodified starters, recording the scores the
checkers print and their run times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ramp_env.cache import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tutorial.ipynb"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "teaching_kit.json"
SCORE_LINES = {
    "ex1": re.compile(r"your query ([\d.]+)\s+BM25 heuristic's ([\d.]+)\s+title only ([\d.]+)"),
    "ex2": re.compile(r"honest ([\d.]+)\s+enumerating top-5 ([\d.]+)"),
}


def run_notebook(cache: str) -> dict:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    os.environ["RAMP_ENV_CACHE"] = cache  # a script, not library code: the kernel inherits it
    os.environ["MPLBACKEND"] = "Agg"
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    sections: list[dict] = []
    started = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "markdown":  # a "## " heading anywhere in the cell starts a section
                for line in cell.source.splitlines():
                    if line.startswith("## "):
                        sections.append({"section": line[3:], "seconds": 0.0})
            if cell.cell_type != "code":
                continue
            t = time.perf_counter()
            client.execute_cell(cell, index)
            if sections:
                sections[-1]["seconds"] = round(sections[-1]["seconds"] + time.perf_counter() - t, 1)
    total = time.perf_counter() - started
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    summary = json.loads(re.search(r"^TUTORIAL_SUMMARY (.*)$", text, re.MULTILINE).group(1))
    return {"total_seconds": round(total, 1), "sections": sections, "summary": summary}


def run_checkers(folder: Path, cache: str) -> dict:
    env = {**os.environ, "RAMP_EXERCISE_DIR": str(folder), "RAMP_ENV_CACHE": cache}
    t = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *map(str, sorted((ROOT / "exercises").glob("test_ex*.py"))),
         "-q", "-s", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=1800,
    )
    scores = {}
    for name, pattern in SCORE_LINES.items():
        match = pattern.search(result.stdout)
        scores[name] = [float(g) for g in match.groups()] if match else None
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return {"seconds": round(time.perf_counter() - t, 1), "returncode": result.returncode,
            "pytest_summary": summary, "scores": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(args.out.parent, os.W_OK):
        sys.exit(f"cannot write {args.out}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ramp-teaching-") as cache:
        notebook = run_notebook(cache)
        solutions = run_checkers(ROOT / "exercises" / "solutions", cache)
        starters = run_checkers(ROOT / "exercises", cache)
    atomic_write_json(args.out, {
        "benchmark": "teaching_kit",
        "command": "python benchmarks/teaching_kit.py",
        "notebook": notebook,
        "exercises": {
            "solutions": solutions,
            "starters": starters,
            "score_columns": {"ex1": ["yours", "bm25_heuristic_query", "title_only"],
                              "ex2": ["honest_agent", "enumerating_agent"]},
        },
        "machine": {
            "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_1m_before": round(load_before, 2), "load_average_1m_after": round(os.getloadavg()[0], 2),
            "note": "shared 2-core machine, other jobs running: times are upper bounds for an idle 2-core laptop",
        },
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

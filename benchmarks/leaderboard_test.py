"""The default-corpus leaderboard on the frozen test set (the one the docs cite).

Plays the baselines on every task of the shipped test set (``tasks="test"``, every mask
count) with the env's defaults (reward included) and writes the leaderboard, with the task
set's version and sha256, to a results file; the per-episode records go to ``--work-dir``.
Scores do not depend on the seed (the set is played in order) or on the machine's load.

    python benchmarks/leaderboard_test.py --out benchmarks/results/leaderboard_test.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

from ramp_env.cache import atomic_path, cache_root
from ramp_env.evaluation.harness import evaluate
from ramp_env.evaluation.leaderboard import summarize
from ramp_env.rewards.base import DEFAULT_REWARD
from ramp_env.tasksets import load_task_set

AGENTS = ("random", "closed_book", "bm25", "evidence_oracle", "oracle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", nargs="+", default=list(AGENTS))
    parser.add_argument("--work-dir", type=Path, default=None, help="episode JSONL (default: <cache>/benchmarks/leaderboard_test)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "leaderboard_test.json")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    work = args.work_dir or cache_root() / "benchmarks" / "leaderboard_test"
    task_set = load_task_set("test")
    sizes = {k: len(tasks) for k, tasks in sorted(task_set.tasks.items())}
    started = time.time()
    run = evaluate(args.agents, episodes=sizes, num_masks=list(sizes), env_kwargs={"tasks": "test", "progress": False},
                   out_dir=work, progress=False)
    rows = [asdict(r) for r in summarize(run.records)]
    result = {
        "what": "baselines on the frozen test set, every task, env defaults",
        "script": "benchmarks/leaderboard_test.py",
        "task_set": task_set.label, "task_set_sha256": task_set.sha256, "tasks_per_mask_count": sizes,
        "reward": DEFAULT_REWARD,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "wall_seconds": round(time.time() - started, 1),
        "leaderboard": rows,
        "table": run.table,
    }
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(run.table)


if __name__ == "__main__":
    main()

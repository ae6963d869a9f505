"""Replicate a ``cpu_learning.py`` run's model comparison on new held-out tasks.

``cpu_learning.py`` scores its models on 100 held-out tasks; a difference of a few
hundredths (DAPO - SFT) has a paired 95% CI about +-0.06 wide there. This script
draws ``tasks`` *new* tasks, with the run's own task filter (evidence-verified),
from a seed stream the run never used (``eval_seed``), keeping only passages that are
in none of the run's data: not held out, not in the SFT trajectories, not in DAPO's
task pool. It scores the run's SFT and DAPO checkpoints (greedy, float32, the run's
evaluation settings) and the teacher on them, and reports the paired differences on
the new tasks alone (the replication) and pooled with the run's own held-out tasks.
The number of new tasks is an argument fixed before the run, not grown until an
interval clears 0.

    nice -n 10 python benchmarks/cpu_learning_replication.py --results benchmarks/results/cpu_learning.json \
        --work_dir runs/cpu_learning_bf16 --dapo_dir runs/cpu_learning_bf16/dapo_cpu_learning_bf16_data480 \
        --tasks 300 --out benchmarks/results/cpu_learning_replication.json
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import cpu_learning as run  # the sibling script (this directory is on sys.path when run as a script)
import numpy as np
from _common import parse_hf_args, run_with_threads  # this folder's shared helpers (on sys.path)

from agents.bm25_heuristic import BM25HeuristicAgent
from ramp_env.cache import atomic_write_json
from ramp_env.evaluation.runner import episode_seed
from ramp_env.models import load_causal_lm
from ramp_env.trajectories import RecordTrajectories, read_trajectories


@dataclass
class Args:
    results: str = field(metadata={"help": (
        "a cpu_learning.py results file (its settings, held-out tasks, per-task scores)"
    )})
    work_dir: str = field(metadata={"help": "the run's work dir: sft/ and sft_trajectories.jsonl"})
    dapo_dir: str = field(metadata={"help": "the run's DAPO checkpoint"})
    tasks: int = field(default=300, metadata={"help": "new held-out tasks, fixed in advance"})
    eval_seed: int = field(default=2000, metadata={"help": (
        "a seed stream the run did not use (it used 1000 for evaluation, 0 for training)"
    )})
    max_candidates: int = field(default=6000, metadata={"help": "seeds tried to find the new held-out tasks"})
    out: str = field(default="benchmarks/results/cpu_learning_replication.json", metadata={"help": "the results file"})
    threads: int = field(default=1, metadata={"help": "torch threads: 1 is fastest on a shared 2-core CPU"})


def run_args(results: dict[str, Any], work_dir: str, allow_pre_split: bool = False) -> run.Args:
    """The run's settings as ``cpu_learning.Args`` (settings added later keep their defaults).
    ``allow_pre_split``: accept a run from before the passage split, for a caller that checks
    each replayed task against the stored one itself (``format_control.py``)."""
    if not allow_pre_split and results["settings"].get("held_out_source") != run.Args.held_out_source:
        raise SystemExit("the results file is from a run made before the passage split (held-out passages "
                         "excluded by hand): replay it with the scripts of that commit, or rerun cpu_learning.py")
    known = {f.name for f in fields(run.Args)}
    settings = {k: v for k, v in results["settings"].items() if k in known}
    if "task_set" not in settings:  # a run from before the option: its held-out tasks name the frozen set played
        settings["task_set"] = run.recorded_task_set(results.get("held_out") or {})
    return replace(run.Args(), **{**settings, "work_dir": work_dir})


def excluded_passages(args: run.Args, results: dict[str, Any], work_dir: Path) -> set[str]:
    """Every passage the run held out or trained on (SFT trajectories and DAPO's task pool)."""
    stages = results["stages"]
    passages = set(results["held_out"]["task_ids"])
    passages |= {t.task_id for t in read_trajectories(work_dir / "sft_trajectories.jsonl")}
    env = run.make_env(args)  # reset as DAPOTrainer resets: same seed, same task
    passages |= {env.reset(seed=s)[1]["task_id"] for s in stages["teacher_data"]["dapo_task_seeds"]}
    env.close()
    return passages


def new_tasks(args: run.Args, count: int, eval_seed: int, max_candidates: int, excluded: set[str]) -> dict[str, Any]:
    """The first ``count`` qualifying tasks of the ``eval_seed`` stream on passages not in ``excluded``."""
    # new tasks: seeded draws of the test split (never trained on), minus the run's own held-out passages
    recorder = RecordTrajectories(run.make_env(args, split="test"), agent="bm25")
    teacher = BM25HeuristicAgent(span_extractor=args.span_extractor)
    evidence = run.supports_require_evidence()
    seeds: list[int] = []
    task_ids: list[str] = []
    teacher_scores: list[float] = []
    for i in range(max_candidates):
        if len(seeds) >= count:
            break
        seed = episode_seed(eval_seed, args.num_masks, i)
        trajectory, reached = run.teacher_episode(recorder, teacher, seed, args.num_masks)
        if trajectory.task_id in excluded or trajectory.task_id in task_ids or not (evidence or reached):
            continue
        seeds.append(seed)
        task_ids.append(trajectory.task_id)
        teacher_scores.append(trajectory.score)
    if len(seeds) < count:
        raise SystemExit(f"only {len(seeds)} of {count} new tasks qualified in {max_candidates} seeds: "
                         "raise --max_candidates")
    return {"seeds": seeds, "task_ids": task_ids, "teacher_scores": teacher_scores, "seeds_tried": i + 1}


def comparison(scores: dict[str, list[float]], resamples: int, seed: int) -> dict[str, Any]:
    """Means with CIs and the paired differences that matter, for one set of tasks."""
    return {
        "tasks": len(scores["sft"]),
        "models": {name: {"mean": round(float(np.mean(v)), 4),
                          "ci95": [round(x, 4) for x in run.bootstrap_mean_ci(v, resamples, seed)]}
                   for name, v in scores.items()},
        "dapo_minus_sft": run.paired_difference(scores["dapo"], scores["sft"], resamples, seed),
        "teacher_minus_sft": run.paired_difference(scores["teacher"], scores["sft"], resamples, seed),
        "sft_minus_half_teacher": run.paired_difference(scores["sft"], [0.5 * t for t in scores["teacher"]],
                                                        resamples, seed),
    }


def main(cli: Args) -> dict[str, Any]:
    out = Path(cli.out)
    run.check_output(out)  # before any work
    results = json.loads(Path(cli.results).read_text(encoding="utf-8"))
    work_dir = Path(cli.work_dir)
    for checkpoint in (work_dir / "sft", Path(cli.dapo_dir)):
        if not (checkpoint / "config.json").is_file():
            raise SystemExit(f"no model checkpoint at {checkpoint}")
    args = run_args(results, cli.work_dir)
    started = time.perf_counter()
    machine_at_start = run.machine()
    excluded = excluded_passages(args, results, work_dir)
    tasks = new_tasks(args, cli.tasks, cli.eval_seed, cli.max_candidates, excluded)
    envs = [run.make_env(args, split="test") for _ in range(min(args.eval_batch, cli.tasks))]
    evaluations = {}
    for name, path in (("sft", work_dir / "sft"), ("dapo", Path(cli.dapo_dir))):
        model, tokenizer = load_causal_lm(str(path))
        evaluations[name] = run.evaluate_model(model, tokenizer, args, envs, tasks)
        print(f"{name}: {np.mean(evaluations[name]['scores']):.3f} on {cli.tasks} new tasks", flush=True)
    new = {"sft": evaluations["sft"]["scores"], "dapo": evaluations["dapo"]["scores"],
           "teacher": tasks["teacher_scores"]}
    original = {name: results["per_task_scores"][name] for name in ("sft", "dapo", "teacher")}
    pooled = {name: original[name] + new[name] for name in new}
    r, seed = args.bootstrap_resamples, args.seed
    report = {
        "run": cli.results, "args": asdict(cli),
        "excluded_passages": len(excluded),
        "new_tasks": {k: tasks[k] for k in ("seeds", "task_ids", "seeds_tried")},
        "replication": comparison(new, r, seed),
        "pooled_with_run": comparison(pooled, r, seed),
        "run_alone": {"dapo_minus_sft": results["summary"]["paired_differences"]["dapo_minus_sft"]},
        "per_task_scores": new,
        "evaluation_seconds": {name: e["seconds"] for name, e in evaluations.items()},
        "total_seconds": round(time.perf_counter() - started, 1),
        "ci_method": results["ci_method"],
        "machine_at_start": machine_at_start, "machine_at_end": run.machine(),
    }
    atomic_write_json(out, report)
    print(json.dumps({k: report[k] for k in ("replication", "pooled_with_run")}, indent=1))
    print(f"results written to {out}")
    return report


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_hf_args(Args, __doc__, argv)


if __name__ == "__main__":
    run_with_threads(main, parse_args())

"""A format-only control for ``cpu_learning.py``: does SFT beat answering in the right format without searching?

``cpu_learning.py`` compares SFT with the base model, which answered 0% of the
held-out tasks: that difference shows the answer format was learned, nothing more.
The control here answers every task in the right format and never searches: the
closed-book baseline (``agents.closed_book.ClosedBookAgent``, its corpus frequency
prior, no language model). It is played on the same held-out tasks as the run (its
100) and the replication (its 300), and ``SFT - control`` is paired by task with the
run's percentile-bootstrap 95% CI.

Pairing is checked, not assumed: the stored results keep each task's seed and
passage id but not its mask, so every task is replayed with the run's settings and
counts as paired only when the replay gives the same passage id *and* the
(deterministic) BM25 teacher reproduces the teacher score stored for it. Tasks that
fail are listed and left out of every comparison. No model runs: a few minutes on a CPU.

    python benchmarks/format_control.py   # benchmarks/results/format_control.json
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cpu_learning as run  # the sibling scripts (this directory is on sys.path when run as a script)
import numpy as np
from _common import parse_hf_args  # this folder's shared helpers (on sys.path)
from cpu_learning_replication import run_args

from agents.bm25_heuristic import BM25HeuristicAgent
from agents.closed_book import ClosedBookAgent
from ramp_env.cache import atomic_write_json
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.evaluation.runner import run_episode
from ramp_env.trajectories import RecordTrajectories

TEACHER_TOLERANCE = 1e-4  # stored scores are rounded to 4 decimals in some files


@dataclass
class Args:
    results: str = field(
        default="benchmarks/results/cpu_learning.json", metadata={"help": "a cpu_learning.py results file"}
    )
    replication: str = field(default="benchmarks/results/cpu_learning_replication.json", metadata={"help": (
        "a cpu_learning_replication.py results file; \"\" to skip the replication's tasks"
    )})
    out: str = field(default="benchmarks/results/format_control.json", metadata={"help": "the results file"})


def control_env(args: run.Args) -> RecordTrajectories:
    """``cpu_learning.make_env`` with the score's definition pinned, so a later change of a default cannot move it.

    The results define the score as the ``recall`` reward's per-mask scores; the runs
    predate ``evidence_criterion`` and used what is now ``"context"``.
    """
    env = RAMPEnv(
        corpus=args.corpus, num_masks=args.num_masks, max_searches=args.max_searches, top_k=args.top_k,
        max_hit_chars=args.max_hit_chars, cache_dir=args.cache_dir, span_extractor=args.span_extractor,
        progress=False, require_evidence="all", reward="recall", evidence_criterion="context",
        mask_strategy="random",
    )
    return RecordTrajectories(env, agent="format_control")


def replay(
    env: RecordTrajectories, agents: dict[str, Any], seeds: list[int], task_ids: list[str],
    teacher_scores: list[float], num_masks: int,
) -> list[dict[str, Any]]:
    """Play the teacher and the control on each stored task; a task is paired when passage and teacher score agree."""
    rows = []
    for seed, task_id, stored in zip(seeds, task_ids, teacher_scores, strict=True):
        run_episode(env, agents["teacher"], seed, num_masks)
        (teacher,) = env.pop_trajectories()
        outcome = run_episode(env, agents["control"], seed, num_masks)
        (control,) = env.pop_trajectories()
        reasons = []
        if teacher.task_id != task_id:
            reasons.append(f"passage {teacher.task_id!r}, stored {task_id!r}")
        if abs(teacher.score - stored) > TEACHER_TOLERANCE:
            reasons.append(f"teacher score {teacher.score:.4f}, stored {stored:.4f}")
        rows.append({
            "seed": seed, "task_id": task_id, "paired": not reasons, "mismatch": "; ".join(reasons),
            "control": round(control.score, 4), "control_answered": control.terminated,
            "control_reward": round(control.total_reward, 4), "control_searches": outcome["searches"],
            "control_format_errors": outcome["format_errors"],
            "control_action": control.actions[-1][:120] if control.actions else "",
        })
    return rows


def comparison(scores: dict[str, list[float]], resamples: int, seed: int) -> dict[str, Any]:
    """Means with CIs, and each model minus the control, paired by task."""
    return {
        "tasks": len(scores["control"]),
        "models": {name: {"mean": round(float(np.mean(v)), 4),
                          "ci95": [round(x, 4) for x in run.bootstrap_mean_ci(v, resamples, seed)]}
                   for name, v in scores.items()},
        **{f"{name}_minus_control": run.paired_difference(scores[name], scores["control"], resamples, seed)
           for name in scores if name != "control"},
    }


def stored_parts(results: dict[str, Any], replication: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Each stored set of tasks: seeds, passage ids and the per-task scores of SFT, DAPO and the teacher."""
    parts = {"run": {**results["held_out"], "scores": results["per_task_scores"]}}
    if replication is not None:
        parts["replication"] = {**replication["new_tasks"], "scores": replication["per_task_scores"]}
    for name, part in parts.items():
        lengths = {len(part["seeds"]), len(part["task_ids"])} | {len(part["scores"][m]) for m in ("sft", "teacher")}
        if len(lengths) != 1:
            raise SystemExit(f"{name}: seeds, task ids and per-task scores differ in length ({sorted(lengths)})")
    return parts


def main(cli: Args) -> dict[str, Any]:
    out = Path(cli.out)
    run.check_output(out)  # before any work
    results = json.loads(Path(cli.results).read_text(encoding="utf-8"))
    replication = json.loads(Path(cli.replication).read_text(encoding="utf-8")) if cli.replication else None
    args = run_args(results, "", allow_pre_split=True)  # no checkpoint is read
    parts = stored_parts(results, replication)
    started, machine_at_start = time.perf_counter(), run.machine()
    env = control_env(args)
    agents = {"teacher": BM25HeuristicAgent(span_extractor=args.span_extractor), "control": ClosedBookAgent(env)}
    rows = {name: replay(env, agents, p["seeds"], p["task_ids"], p["scores"]["teacher"], args.num_masks)
            for name, p in parts.items()}
    r, seed = args.bootstrap_resamples, args.seed
    models = ("sft", "dapo", "teacher")
    paired: dict[str, dict[str, list[float]]] = {}
    for name, part in parts.items():
        keep = [i for i, row in enumerate(rows[name]) if row["paired"]]
        paired[name] = {m: [part["scores"][m][i] for i in keep] for m in models if m in part["scores"]}
        paired[name]["control"] = [rows[name][i]["control"] for i in keep]
    if not any(p["control"] for p in paired.values()):
        raise SystemExit(f"{cli.results}: no stored task could be paired: replaying its seeds gives other tasks "
                         "(passage or teacher score differ), so its per-task scores cannot be compared with a control")
    if len(paired) > 1:
        shared = set.intersection(*(set(p) for p in paired.values()))
        paired["pooled"] = {m: [x for p in paired.values() for x in p[m]] for m in (*models, "control") if m in shared}
    control_rows = [row for part in rows.values() for row in part]
    report = {
        "control": "closed_book (agents/closed_book.py: corpus frequency prior, no language model, never searches)",
        "score": results["score"], "run": cli.results, "replication": cli.replication or None, "args": asdict(cli),
        "pairing": "a task is paired when its replay gives the stored passage id and the BM25 teacher's stored score",
        "paired_tasks": {name: len(p["control"]) for name, p in paired.items()},
        "unpaired": [{k: row[k] for k in ("seed", "task_id", "mismatch")} for row in control_rows if not row["paired"]],
        "control_format": {
            "answered": round(float(np.mean([row["control_answered"] for row in control_rows])), 4),
            "mean_reward": round(float(np.mean([row["control_reward"] for row in control_rows])), 4),
            "searches": int(sum(row["control_searches"] for row in control_rows)),
            "format_errors": int(sum(row["control_format_errors"] for row in control_rows)),
            "tasks_scoring_above_0": int(sum(row["control"] > 0 for row in control_rows)),
            "tasks": len(control_rows),
            "example_action": control_rows[0]["control_action"],
        },
        "run_budget": {k: getattr(args, k) for k in ("max_searches", "top_k", "max_hit_chars", "max_new_tokens")},
        "comparisons": {name: comparison(scores, r, seed) for name, scores in paired.items()},
        "per_task": rows,
        "ci_method": results["ci_method"],
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine_at_start": machine_at_start, "machine_at_end": run.machine(),
    }
    atomic_write_json(out, report)
    print(json.dumps({k: report[k] for k in ("paired_tasks", "control_format", "comparisons")}, indent=1))
    print(f"results written to {out}")
    return report


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_hf_args(Args, __doc__, argv)


if __name__ == "__main__":
    main(parse_args())

"""Score a ``cpu_learning.py`` run's SFT and DAPO checkpoints by sampled rollouts (avg@k), not greedy decoding.

``cpu_learning.py`` scores each model greedily. DAPO optimises the expected reward
of the policy it samples from (at its training temperature), and the DAPO paper
reports avg@32 at temperature 1.0 for the same reason; a greedy decode can miss a
change of that distribution or turn a small one into a flip. This script plays
every held-out task ``samples`` times per model at ``temperature`` (default: the
run's DAPO temperature), scores a task by the mean over its samples, and reports
paired bootstrap 95% CIs of DAPO - SFT on the run's held-out tasks and, with
``--replication``, on that file's new tasks and pooled. Both models see the same
tasks in the same order with the same sampling seed. The sample count and the
temperature are arguments fixed before the run. The greedy scores of the same
tasks are copied from the input files beside the sampled ones.

    nice -n 10 python benchmarks/cpu_learning_sampled.py --results benchmarks/results/cpu_learning.json \
        --sft_dir runs/cpu_learning_bf16/sft --dapo_dir runs/cpu_learning_bf16/dapo_cpu_learning_bf16_data480 \
        --replication benchmarks/results/cpu_learning_replication.json --samples 4 \
        --out benchmarks/results/cpu_learning_sampled.json     # add --only sft / --only dapo to split
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import cpu_learning as run  # the sibling scripts (this directory is on sys.path when run as a script)
import numpy as np
from _common import parse_hf_args, run_with_threads  # this folder's shared helpers (on sys.path)
from cpu_learning_replication import run_args

from agents.llm import LLMAgent
from agents.llm.rollout import evaluate_agent
from ramp_env.cache import atomic_write_json
from ramp_env.corpus.integrity import file_record
from ramp_env.models import load_causal_lm


@dataclass
class Args:
    results: str = field(metadata={"help": (
        "a cpu_learning.py results file (settings, held-out seeds, greedy per-task scores)"
    )})
    sft_dir: str = field(metadata={"help": "the run's SFT checkpoint"})
    dapo_dir: str = field(metadata={"help": "the run's DAPO checkpoint"})
    replication: str | None = field(
        default=None, metadata={"help": "a cpu_learning_replication.py results file: also score its new tasks"}
    )
    samples: int = field(default=4, metadata={"help": "rollouts per task and model, fixed in advance"})
    temperature: float | None = field(
        default=None, metadata={"help": "sampling temperature; None: the run's DAPO sampling temperature"}
    )
    seed: int = field(default=0, metadata={"help": "sampling seed, the same for both models"})
    out: str = field(default="benchmarks/results/cpu_learning_sampled.json", metadata={"help": "the results file"})
    only: Literal["sft", "dapo"] | None = field(
        default=None, metadata={"help": "sft or dapo: score one model into its partial file and stop"}
    )
    threads: int = field(default=1, metadata={"help": "torch threads: 1 is fastest on a shared 2-core CPU"})


def weights_hash(model_dir: str) -> list[str]:
    """sha256 of each of the checkpoint's weight files, so kept scores are never reused for other weights."""
    files = sorted(Path(model_dir).glob("*.safetensors")) or sorted(Path(model_dir).glob("*.bin"))
    if not files:
        raise SystemExit(f"no weight files in {model_dir}")
    return [file_record(path)["sha256"] for path in files]


def read_json(path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """A results file with the keys this script needs, or a one-line error naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: cannot read it as JSON ({exc})") from exc
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise SystemExit(f"{path}: not the results file expected here (no {', '.join(missing)})")
    return data


def sampled_scores(
    model_dir: str, args: run.Args, task_lists: list[dict[str, Any]], samples: int, temperature: float, seed: int
) -> dict[str, Any]:
    """Each task's mean score over ``samples`` rollouts at ``temperature`` (tasks in list order). A list
    with ``task_indices`` is the run's frozen test tasks (its held-out env); others are seeded
    test-split tasks."""
    model, tokenizer = load_causal_lm(model_dir)
    agent = LLMAgent(model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens,
                     batch_size=args.eval_batch, temperature=temperature, seed=seed)
    started = time.perf_counter()
    episodes = []
    for tasks in task_lists:
        held_out = {"held_out": True} if tasks.get("task_indices") else {"split": "test"}
        envs = [run.make_env(args, **held_out) for _ in range(args.eval_batch)]
        specs = [spec for spec in run.task_specs(args, tasks) for _ in range(samples)]
        episodes += evaluate_agent(agent, envs, specs)[1]
    per_rollout = np.array([e.trajectory.score for e in episodes]).reshape(-1, samples)
    return {"scores": [round(float(x), 4) for x in per_rollout.mean(axis=1)],
            "seconds": round(time.perf_counter() - started, 1)}


def compare(sft: list[float], dapo: list[float], resamples: int, seed: int) -> dict[str, Any]:
    return {
        "tasks": len(sft),
        "sft": {"mean": round(float(np.mean(sft)), 4), "ci95": run.bootstrap_mean_ci(sft, resamples, seed)},
        "dapo": {"mean": round(float(np.mean(dapo)), 4), "ci95": run.bootstrap_mean_ci(dapo, resamples, seed)},
        "dapo_minus_sft": run.paired_difference(dapo, sft, resamples, seed),
    }


def main(cli: Args) -> dict[str, Any]:
    out = Path(cli.out)
    run.check_output(out)  # before any work
    if cli.samples < 1:
        raise SystemExit(f"--samples must be >= 1, got {cli.samples}")
    for checkpoint in (Path(cli.sft_dir), Path(cli.dapo_dir)):
        if not (checkpoint / "config.json").is_file():
            raise SystemExit(f"no model checkpoint at {checkpoint}")
    results = read_json(cli.results, ("settings", "held_out", "per_task_scores", "dapo"))
    replication = read_json(cli.replication, ("new_tasks", "per_task_scores")) if cli.replication else None
    args = run_args(results, str(Path(cli.sft_dir).parent))
    temperature = cli.temperature if cli.temperature is not None else results["dapo"]["config"]["temperature"]
    if temperature <= 0:
        raise SystemExit(f"--temperature must be > 0 (sampled rollouts), got {temperature}")
    sets = {"run": results["held_out"]}
    greedy = {"run": {m: results["per_task_scores"][m] for m in ("sft", "dapo")}}
    if replication is not None:
        sets["replication"] = replication["new_tasks"]
        greedy["replication"] = {m: replication["per_task_scores"][m] for m in ("sft", "dapo")}
    seeds = [s for tasks in sets.values() for s in tasks["seeds"]]
    started = time.perf_counter()
    scored = {}
    for name, path in (("sft", cli.sft_dir), ("dapo", cli.dapo_dir)):
        if cli.only not in (None, name):
            continue
        key = {"weights_sha256": weights_hash(path), "seeds": seeds, "samples": cli.samples,
               "temperature": temperature, "seed": cli.seed, "max_new_tokens": args.max_new_tokens}
        partial = out.with_name(f"{out.stem}.{name}.partial.json")
        try:
            kept = json.loads(partial.read_text(encoding="utf-8")) if partial.is_file() else None
        except ValueError:  # written atomically, so only a hand-edited file gets here: score again
            kept = None
        if isinstance(kept, dict) and kept.get("key") == key:
            scored[name] = kept
            print(f"{name}: reusing {partial}")
        else:
            machine_at_start = run.machine()
            scored[name] = {"key": key, **sampled_scores(path, args, list(sets.values()), cli.samples, temperature, cli.seed),
                            "machine_at_start": machine_at_start, "machine_at_end": run.machine()}
            atomic_write_json(partial, scored[name])
        print(f"{name}: {np.mean(scored[name]['scores']):.3f} avg@{cli.samples} on {len(seeds)} tasks", flush=True)
    if cli.only is not None:
        return scored[cli.only]
    r, seed = args.bootstrap_resamples, args.seed
    report: dict[str, Any] = {"args": asdict(cli), "temperature": temperature, "samples": cli.samples}
    offset = 0
    per_task: dict[str, dict[str, list[float]]] = {}
    for name, tasks in sets.items():
        task_seeds = tasks["seeds"]
        part = {m: scored[m]["scores"][offset : offset + len(task_seeds)] for m in ("sft", "dapo")}
        offset += len(task_seeds)
        per_task[name] = part
        report[name] = {"sampled": compare(part["sft"], part["dapo"], r, seed),
                        "greedy": compare(greedy[name]["sft"], greedy[name]["dapo"], r, seed)}
    if replication is not None:
        pooled = {m: per_task["run"][m] + per_task["replication"][m] for m in ("sft", "dapo")}
        report["pooled"] = {"sampled": compare(pooled["sft"], pooled["dapo"], r, seed)}
    report |= {
        "per_task_sampled_scores": per_task,
        "evaluation_seconds": {m: s["seconds"] for m, s in scored.items()},
        # where each model was scored (with --only, another process than the one writing this report)
        "evaluation_machines": {m: {k: s.get(k) for k in ("machine_at_start", "machine_at_end")}
                                for m, s in scored.items()},
        "total_seconds": round(time.perf_counter() - started, 1),
        "ci_method": results["ci_method"] + "; a task's sampled score is the mean of its samples",
    }
    atomic_write_json(out, report)
    for name in scored:
        out.with_name(f"{out.stem}.{name}.partial.json").unlink(missing_ok=True)
    print(json.dumps({k: report[k] for k in sets} | ({"pooled": report["pooled"]} if replication else {}), indent=1))
    print(f"results written to {out}")
    return report


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_hf_args(Args, __doc__, argv)


if __name__ == "__main__":
    run_with_threads(main, parse_args())

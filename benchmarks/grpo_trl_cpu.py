"""Does ``examples/grpo_trl.py`` get a learning signal on a CPU? Reward variance within groups, a nonzero loss.

    python benchmarks/grpo_trl_cpu.py --out benchmarks/results/grpo_trl_cpu.json

GRPO learns only from groups whose episodes score differently (a group of equal rewards
has zero advantage and adds nothing to the loss). SmolLM2-135M-Instruct as shipped never
closes an action tag, so every episode of a group earns the same format penalty: zero
variance whatever the temperature or group size (checked: 48 sampled episodes on
RAMP-Lite-v0, all -0.2). So the run has two stages, timed separately:

1. a short SFT on the teaching env (``RAMP-Lite-v0``: one-sentence passages, short
   episodes): the BM25 heuristic's episodes that scored, on training seeds, teach the
   action format (``agents.training.sft.train_sft``);
2. ``examples/grpo_trl.py``'s ``main`` from that checkpoint, on other tasks, at a high
   sampling temperature so the G episodes of a task differ.

The results file holds each GRPO step's mean reward, reward std within groups, share of
groups with zero std and loss, with the machine and its load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
from _common import machine as shared_machine_record  # this folder's shared helpers (on sys.path)

import ramp_env  # noqa: F401  (registers RAMP-Lite-v0)
from agents.bm25_heuristic import BM25HeuristicAgent
from agents.training.checkpoint import save_pretrained_atomic
from agents.training.sft import SFTTrainConfig, train_sft
from ramp_env.cache import atomic_write_text
from ramp_env.evaluation.runner import episode_seed, run_episode
from ramp_env.models import load_causal_lm, torch_threads
from ramp_env.trajectories import RecordTrajectories, filter_trajectories

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "grpo_trl.py"
ENV_ID = "RAMP-Lite-v0"
ENV_ARGS = {"max_searches": 1, "top_k": 1, "max_hit_chars": 200}  # short episodes: two turns, ~300 tokens


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("_grpo_trl", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def machine() -> dict[str, Any]:
    return shared_machine_record(note="shared machine: other engineers' jobs ran on the same 2 cores")


def sft_stage(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """SFT on the BM25 heuristic's scoring RAMP-Lite episodes (training seeds); save to ``folder``."""
    started = time.perf_counter()
    recorder = RecordTrajectories(gym.make(ENV_ID, progress=False, **ENV_ARGS), agent="bm25")
    teacher = BM25HeuristicAgent(span_extractor="rules")  # RAMP-Lite-v0 masks rule spans
    for i in range(args.teacher_episodes):
        run_episode(recorder, teacher, episode_seed(args.seed, 1, i), 1)
    played = recorder.pop_trajectories()
    kept = filter_trajectories(played, 0.5)[: args.sft_trajectories]
    model, tokenizer = load_causal_lm(None)
    metrics = train_sft(model, tokenizer, kept, SFTTrainConfig(
        num_epochs=args.sft_epochs, batch_size=4, learning_rate=1e-4, seed=args.seed, logging_steps=1,
    ))
    save_pretrained_atomic(model, tokenizer, str(folder))
    return {
        "teacher_episodes": len(played), "teacher_mean_score": round(sum(t.score for t in played) / len(played), 4),
        "trajectories": len(kept), "steps": metrics["steps"], "train_loss": round(metrics["train_loss"], 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def grpo_stage(args: argparse.Namespace, folder: Path, work: Path) -> dict[str, Any]:
    example = load_example()
    settings = example.Args(
        init_from=str(folder), env=ENV_ID, **ENV_ARGS, num_generations=args.group_size,
        per_device_train_batch_size=args.group_size, temperature=args.temperature, max_new_tokens=32,
        max_context_tokens=1024, max_steps=args.grpo_steps, learning_rate=1e-6, task_seed=args.seed + 7,
        num_tasks=64, seed=args.seed, output_dir=str(work / "grpo"),
    )
    started = time.perf_counter()
    history = example.main(settings)
    steps = [
        {key: round(float(record[key]), 4) for key in
         ("step", "reward", "reward_std", "frac_reward_zero_std", "loss", "completions/mean_length") if key in record}
        for record in history if "reward" in record
    ]
    return {"settings": {k: v for k, v in vars(settings).items() if k != "init_from"}, "steps": steps,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/grpo_trl_cpu.json")
    parser.add_argument("--teacher_episodes", type=int, default=48)
    parser.add_argument("--sft_trajectories", type=int, default=24)
    parser.add_argument("--sft_epochs", type=float, default=2.0)
    parser.add_argument("--group_size", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=1.2)
    parser.add_argument("--grpo_steps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work_dir", default="runs/grpo-trl-cpu", help="the SFT checkpoint and GRPO output go here")
    args = parser.parse_args()
    work = Path(args.work_dir)
    with torch_threads(args.threads):
        at_start = machine()
        sft = sft_stage(args, work / "sft")
        grpo = grpo_stage(args, work / "sft", work)
    steps = grpo["steps"]
    result = {
        "what": "examples/grpo_trl.py on RAMP-Lite-v0 from a short SFT of SmolLM2-135M-Instruct: reward "
        "variance within groups and the GRPO loss per step",
        "env": ENV_ID, "env_args": ENV_ARGS, "args": vars(args), "sft": sft, "grpo": grpo,
        "summary": {
            "steps_with_reward_variance": sum(s.get("reward_std", 0.0) > 0 for s in steps),
            "steps_with_nonzero_loss": sum(s.get("loss", 0.0) != 0 for s in steps),
            "steps": len(steps), "grpo_seconds": grpo["seconds"], "sft_seconds": sft["seconds"],
        },
        "machine_at_start": at_start, "machine_at_end": machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"]))


if __name__ == "__main__":
    main()

r"""DAPO on RAMP-v0 with SmolLM2-135M-Instruct, on CPU in minutes (tiny budgets).

    python examples/sft_smollm2.py            # first: SFT teaches the action format (runs/sft-smollm2)
    python examples/dapo_smollm2.py           # then: RL from that checkpoint
    python examples/dapo_smollm2.py --curriculum curriculum --episodes_per_stage 200   # masks 1 -> 4
    python examples/dapo_smollm2.py --curriculum mixed                                  # masks 1..4 uniform

GPU recipe (Qwen2.5-1.5B-Instruct after its SFT run, see docs/llm-training.md):

    python examples/dapo_smollm2.py --init_from runs/sft-qwen1.5b --device cuda --steps 500 \
        --group_size 8 --tasks_per_step 16 --learning_rate 1e-6 --max_new_tokens 256 \
        --max_searches 4 --top_k 3 --max_hit_chars 1200 --eval_tasks 200 --curriculum curriculum

1. Load the SFT model (``--init_from``; the base model if that folder is missing,
   but a base model that never writes a valid action gives every rollout the same
   reward and dynamic sampling then drops every group).
2. Score it (greedy ``LLMAgent``) on held-out tasks: the frozen test set (``tasks="test"``)
   on the default corpus, the test split's tasks on another corpus.
3. Run ``--steps`` DAPO steps on ``split="train"`` envs: group sampling, dynamic sampling,
   clip-higher token-level policy gradient, overlong shaping; no test passage (or near copy
   of one) is ever drawn or returned by a search.
4. Score again, print before/after, save the model.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import HfArgumentParser

from agents.llm import LLMAgent
from agents.llm.rollout import held_out_specs, score_agent
from agents.training.checkpoint import save_pretrained_atomic
from agents.training.dapo import DAPOConfig, DAPOTrainer
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.models import load_causal_lm, torch_threads
from ramp_env.tasksets import held_out_env_kwargs
from ramp_env.wrappers.curriculum import make_curriculum


@dataclass
class Args:
    init_from: str = field(
        default="runs/sft-smollm2", metadata={"help": "the SFT example's output; falls back to --model if missing"}
    )
    model: str | None = field(default=None, metadata={"help": (
        "the base model (a folder, .gguf or hub id); None: the offline SmolLM2-135M-Instruct"
    )})
    device: str = field(default="cpu", metadata={"help": "torch device of the model: cpu, cuda or cuda:N"})
    dtype: str | None = field(default=None, metadata={"help": (
        "weights as loaded: float32 (CPU default) | bfloat16 (GPU default) | float16; half-precision models "
        "train with float32 master weights and autocast (agents/training/precision.py)"
    )})
    threads: int | None = field(default=None, metadata={"help": "torch threads (1 is fastest on a busy 2-core CPU)"})
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    num_masks: int = field(default=1, metadata={"help": "mask count without a curriculum, and of the held-out tasks"})
    max_searches: int = field(default=1, metadata={"help": "searches the agent may make per episode"})
    top_k: int = field(default=1, metadata={"help": "passages each search returns"})
    max_hit_chars: int = field(default=300, metadata={"help": "characters of each returned passage the agent sees"})
    eval_tasks: int = field(default=16, metadata={"help": "held-out tasks scored before and after training"})
    eval_seed: int = field(default=1000, metadata={"help": "the SFT example's held-out tasks"})
    steps: int = field(
        default=4, metadata={"help": "DAPO steps (sample groups, drop groups without reward variance, update)"}
    )
    group_size: int = field(
        default=4, metadata={"help": "episodes sampled per task (G); advantages compare a task's episodes"}
    )
    tasks_per_step: int = field(
        default=1, metadata={"help": "groups with reward variance per step (the batch dynamic sampling fills)"}
    )
    max_sampling_rounds: int = field(
        default=3, metadata={"help": "dynamic sampling: rounds of new tasks a step may draw to fill its batch"}
    )
    learning_rate: float = field(
        default=2e-6, metadata={"help": "DAPO used 1e-6; 1e-5 made SmolLM2 repeat words within 8 steps"}
    )
    clip_low: float = field(
        default=0.2, metadata={"help": "clip range of the probability ratio: [1 - clip_low, 1 + clip_high]"}
    )
    clip_high: float = field(default=0.28, metadata={"help": (
        "upper clip of the ratio (DAPO's clip-higher: above clip_low keeps rare tokens learning)"
    )})
    updates_per_step: int = field(default=2, metadata={"help": "optimiser updates per rollout batch"})
    overlong_cache: int = field(default=16, metadata={"help": (
        "generated tokens before the length limit over which the reward is shaped down (0: off)"
    )})
    overlong_filtering: bool = field(
        default=False, metadata={"help": "mask episodes cut by a length limit out of the loss (DAPO)"}
    )
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of the training rollouts"})
    max_new_tokens: int = field(default=48, metadata={"help": "tokens the model may generate per turn"})
    curriculum: str = field(
        default="none", metadata={"help": "none | curriculum (1 -> 4 masks) | mixed (1..4 uniform)"}
    )
    episodes_per_stage: int = field(
        default=8, metadata={"help": "episodes per curriculum stage (mask count) with --curriculum curriculum"}
    )
    seed: int = field(default=0, metadata={"help": "seeds torch, task sampling and data order"})
    output_dir: str = field(default="runs/dapo-smollm2", metadata={"help": "where the trained model is saved"})


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help``: the usage above as written, then every option with its help and default."""


def parse_args() -> Args:
    (args,) = HfArgumentParser(Args, description=__doc__, formatter_class=HelpFormatter).parse_args_into_dataclasses()
    return args


def make_env(args: Args, **kwargs: object) -> RAMPEnv:
    """A training env (``split="train"``) unless ``kwargs`` say otherwise (the held-out envs)."""
    kwargs = {"split": "train", **kwargs}
    return RAMPEnv(
        corpus=args.corpus, num_masks=args.num_masks, max_searches=args.max_searches, top_k=args.top_k,
        max_hit_chars=args.max_hit_chars, progress=False, **kwargs,  # type: ignore[arg-type]
    )


def main(args: Args) -> dict[str, object]:
    torch.manual_seed(args.seed)
    source = args.init_from if Path(args.init_from).is_dir() else args.model
    if source != args.init_from:
        print(f"{args.init_from} not found: starting from the base model (run examples/sft_smollm2.py first)")
    model, tokenizer = load_causal_lm(source, device=args.device, dtype=args.dtype)

    # held-out tasks: the frozen test set on the default corpus (the test split elsewhere); training
    # envs play split="train", so no held-out passage (or near copy) is ever trained on or searched
    envs = [make_env(args, **held_out_env_kwargs(args.corpus)) for _ in range(min(args.eval_tasks, 8))]
    specs = held_out_specs(envs[0], args.eval_seed, args.num_masks, args.eval_tasks)
    agent = LLMAgent(model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens)
    before = score_agent(agent, envs, specs)
    print("before:", json.dumps(before))

    curriculum = None
    if args.curriculum != "none":
        curriculum = make_curriculum(args.curriculum, episodes_per_stage=args.episodes_per_stage, seed=args.seed)
    trainer = DAPOTrainer(
        model, tokenizer, lambda: make_env(args),
        DAPOConfig(
            group_size=args.group_size, tasks_per_step=args.tasks_per_step,
            max_sampling_rounds=args.max_sampling_rounds, learning_rate=args.learning_rate,
            clip_low=args.clip_low, clip_high=args.clip_high, updates_per_step=args.updates_per_step,
            overlong_cache=args.overlong_cache, overlong_filtering=args.overlong_filtering,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens, seed=args.seed,
        ),
        curriculum=curriculum,
    )
    history = []
    for _ in range(args.steps):
        metrics = trainer.step()
        history.append(metrics)
        print("step", json.dumps({k: round(v, 4) for k, v in metrics.items()}))

    after = score_agent(agent, envs, specs)
    print("after: ", json.dumps(after))
    save_pretrained_atomic(model, tokenizer, args.output_dir)
    rollout_tokens = sum(m["generated_tokens"] for m in history)
    rollout_seconds = sum(m["rollout_seconds"] for m in history)
    print(f"held-out score ({args.eval_tasks} tasks, {args.num_masks} mask): "
          f"{before['score']:.3f} -> {after['score']:.3f}; training rollouts "
          f"{rollout_tokens / max(rollout_seconds, 1e-9):.1f} tokens/s; model saved to {args.output_dir}")
    return {"before": before, "after": after, "history": history}


if __name__ == "__main__":
    cli_args = parse_args()
    with torch_threads(cli_args.threads):
        main(cli_args)

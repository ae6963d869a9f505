"""DAPO on RAMP-v0 with SmolLM2-135M-Instruct, on CPU in minutes (tiny budgets).

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

import json
from dataclasses import dataclass
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
    init_from: str = "runs/sft-smollm2"  # the SFT example's output; falls back to --model if missing
    model: str | None = None  # None: the offline SmolLM2-135M-Instruct
    device: str = "cpu"
    dtype: str | None = None  # weights as loaded: float32 (CPU default) | bfloat16 (GPU default) | float16;
    # half-precision models train with float32 master weights and autocast (agents/training/precision.py)
    threads: int | None = None  # torch threads (1 is fastest on a busy 2-core CPU)
    corpus: str = "default"
    num_masks: int = 1  # mask count without a curriculum, and of the held-out tasks
    max_searches: int = 1
    top_k: int = 1
    max_hit_chars: int = 300
    eval_tasks: int = 16
    eval_seed: int = 1000  # the SFT example's held-out tasks
    steps: int = 4
    group_size: int = 4
    tasks_per_step: int = 1
    max_sampling_rounds: int = 3
    learning_rate: float = 2e-6  # DAPO used 1e-6; 1e-5 made SmolLM2 repeat words within 8 steps
    clip_low: float = 0.2
    clip_high: float = 0.28
    updates_per_step: int = 2
    overlong_cache: int = 16
    overlong_filtering: bool = False  # mask episodes cut by a length limit out of the loss (DAPO)
    temperature: float = 1.0
    max_new_tokens: int = 48
    curriculum: str = "none"  # none | curriculum (1 -> 4 masks) | mixed (1..4 uniform)
    episodes_per_stage: int = 8
    seed: int = 0
    output_dir: str = "runs/dapo-smollm2"


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
    (cli_args,) = HfArgumentParser(Args).parse_args_into_dataclasses()
    with torch_threads(cli_args.threads):
        main(cli_args)

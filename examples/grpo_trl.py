r"""GRPO/DAPO on RAMP-v0 with TRL's GRPOTrainer and a multi-turn rollout_func.

CPU smoke run (SmolLM2-135M-Instruct from the offline package; minutes per step on 2 cores):

    python examples/sft_smollm2.py            # first: SFT teaches the action format (runs/sft-smollm2)
    python examples/grpo_trl.py --max_steps 1

CPU run that shows learning signal (groups with reward variance, a nonzero loss) on the
teaching env: ``benchmarks/grpo_trl_cpu.py`` first SFTs the model for a few minutes on
RAMP-Lite-v0 (the base model never closes an action tag, so all its rewards are equal),
then runs this script's ``main`` with

    python examples/grpo_trl.py --init_from runs/sft-lite --env RAMP-Lite-v0 --max_searches 1 \
        --top_k 1 --max_hit_chars 200 --num_generations 8 --per_device_train_batch_size 8 \
        --temperature 1.2 --max_new_tokens 32 --max_steps 3 --log_file runs/grpo-lite/log.json

and records each step's reward spread and loss in ``benchmarks/results/grpo_trl_cpu.json``.

GPU with vLLM (colocated engine, one process; see docs/llm-training.md for server mode):

    python examples/grpo_trl.py --init_from runs/sft-qwen1.5b --use_vllm --vllm_mode colocate \
        --max_steps 500 --num_generations 8 --per_device_train_batch_size 16 --learning_rate 1e-6 \
        --max_new_tokens 256 --max_searches 4 --top_k 3 --max_hit_chars 1200 --bf16

1. Load the policy: ``--init_from`` (the SFT example's output) when that folder exists, else
   ``--model`` (a folder, a hub id in the local cache, or the offline SmolLM2). A base model
   that never closes an action tag gives every episode the same reward (-0.1 per turn), so
   every group has zero advantage and nothing is learned.
2. Build the task dataset: one row per RAMP task (reset seed + mask count); the env owns the passages,
   and plays ``split="train"``, so the frozen test tasks (``ramp-env evaluate --tasks test``) stay unseen.
3. ``RAMPRollout`` plays ``num_generations`` episodes per task with the trainer's vLLM engine
   (``--use_vllm``) or ``model.generate`` and returns the turns with ``env_mask``.
4. ``GRPOTrainer`` with the DAPO loss (``loss_type="dapo"``, clip-higher ``epsilon_high=0.28``,
   truncated episodes masked) trains on the env's reward; the model is saved at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from transformers import HfArgumentParser
from trl import GRPOConfig, GRPOTrainer

import ramp_env  # noqa: F401  (registers the env ids)
from agents.training.checkpoint import save_pretrained_atomic
from agents.training.trl_rollout import RAMPRollout, episode_reward, mask_score, ramp_task_dataset
from ramp_env.cache import atomic_write_text
from ramp_env.models import load_causal_lm, torch_threads


@dataclass
class Args:
    init_from: str = field(
        default="runs/sft-smollm2", metadata={"help": "the SFT example's output; falls back to --model if missing"}
    )
    model: str | None = field(default=None, metadata={"help": (
        "the base model (a folder, .gguf or hub id); None: the offline SmolLM2-135M-Instruct"
    )})
    env: str = field(default="RAMP-v0", metadata={"help": (
        "any registered env id, e.g. RAMP-Lite-v0 (the teaching env: short one-sentence tasks)"
    )})
    corpus: str | None = field(
        default=None, metadata={"help": "the search corpus; None: the env's own corpus (RAMP-v0: the default corpus; RAMP-Lite-v0: Lite)"}
    )
    num_masks: str = field(
        default="1", metadata={"help": "comma-separated mask counts, cycled over the tasks, e.g. \"1,2,3,4\""}
    )
    num_tasks: int = field(default=2000, metadata={"help": "rows of the task dataset (reset seed and mask count each)"})
    task_seed: int = field(
        default=7, metadata={"help": "not the evaluation seed (ramp-env evaluate --seed), so tasks stay apart"}
    )
    max_searches: int = field(default=1, metadata={"help": "searches the agent may make per episode"})
    top_k: int = field(default=1, metadata={"help": "passages each search returns"})
    max_hit_chars: int = field(default=300, metadata={"help": "characters of each returned passage the agent sees"})
    max_new_tokens: int = field(default=48, metadata={"help": "per turn"})
    max_context_tokens: int = field(
        default=2048, metadata={"help": "longest prompt a turn may have; older turns are cut to fit"}
    )
    max_steps: int = field(default=2, metadata={"help": "GRPO training steps"})
    num_generations: int = field(default=4, metadata={"help": "G: episodes per task"})
    per_device_train_batch_size: int = field(
        default=4, metadata={"help": "episodes per device and step (a multiple of G)"}
    )
    learning_rate: float = field(default=2e-6, metadata={"help": "AdamW learning rate"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of the training rollouts"})
    use_vllm: bool = field(default=False, metadata={"help": "generate rollouts with vLLM (GPU)"})
    vllm_mode: str = field(
        default="colocate", metadata={"help": "or \"server\" (start `trl vllm-serve --model ...` first)"}
    )
    bf16: bool = field(default=False, metadata={"help": "bfloat16 mixed precision (GPUs)"})
    threads: int | None = field(
        default=None, metadata={"help": "torch threads on CPU (1 is fastest on a busy 2-core machine)"}
    )
    activation_checkpointing: bool | None = field(default=None, metadata={"help": (
        "recompute activations in the backward pass; None: on for GPUs (memory), off on CPU (a 135M model "
        "fits; recomputing only costs time)"
    )})
    log_file: str | None = field(
        default=None, metadata={"help": "write the trainer's per-step log (reward, reward_std, loss, ...) here as JSON"}
    )
    seed: int = field(default=0, metadata={"help": "seeds torch, task sampling and data order"})
    output_dir: str = field(default="runs/grpo-trl", metadata={"help": "where the trained model is saved"})


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help``: the usage above as written, then every option with its help and default."""


def parse_args() -> Args:
    (args,) = HfArgumentParser(Args, description=__doc__, formatter_class=HelpFormatter).parse_args_into_dataclasses()
    return args


def checkpointing_args(enabled: bool) -> dict[str, Any]:
    """The activation-checkpointing switch under the name this transformers reads: TRL's
    ``GRPOConfig`` sets the old ``gradient_checkpointing`` by default, which transformers 5
    warns about (FutureWarning) unless the new ``activation_checkpointing`` is given."""
    names = {f.name for f in dataclasses.fields(GRPOConfig)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": enabled}


def grpo_config(args: Args) -> GRPOConfig:
    """The trainer's settings: DAPO's loss on GRPO (see the module docs)."""
    return GRPOConfig(
        output_dir=args.output_dir,
        max_steps=args.max_steps,
        num_generations=args.num_generations,
        per_device_train_batch_size=args.per_device_train_batch_size,
        learning_rate=args.learning_rate,
        temperature=args.temperature,
        # DAPO: token-level loss, clip-higher, no KL, overlong (cut) episodes out of the loss
        loss_type="dapo",
        epsilon=0.2,
        epsilon_high=0.28,
        beta=0.0,
        mask_truncated_completions=True,
        reward_weights=[1.0, 0.0],  # mask_score is logged, not optimised
        use_vllm=args.use_vllm,
        vllm_mode=args.vllm_mode,
        bf16=args.bf16,
        use_cpu=not torch.cuda.is_available(),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        **checkpointing_args(
            torch.cuda.is_available() if args.activation_checkpointing is None else args.activation_checkpointing
        ),
    )


def main(args: Args) -> list[dict[str, Any]]:
    """Train; return the trainer's log history (one record per logged step)."""
    torch.manual_seed(args.seed)
    source = args.init_from if Path(args.init_from).is_dir() else args.model
    if source != args.init_from:
        print(f"{args.init_from} not found: starting from --model (run examples/sft_smollm2.py first)")
    model, tokenizer = load_causal_lm(source, device="cuda" if torch.cuda.is_available() else "cpu")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token

    num_masks = [int(k) for k in args.num_masks.split(",")]
    dataset = ramp_task_dataset(args.num_tasks, num_masks=num_masks, seed=args.task_seed)
    env_kwargs: dict[str, Any] = {
        "max_searches": args.max_searches, "top_k": args.top_k, "max_hit_chars": args.max_hit_chars, "progress": False,
    }
    if args.corpus is not None:
        env_kwargs["corpus"] = args.corpus
    if args.env.startswith("RAMP"):
        env_kwargs["split"] = "train"  # train passages only: no test passage is drawn or comes back from a search
    rollout = RAMPRollout(
        env_factory=functools.partial(gym.make, args.env, **env_kwargs),
        max_new_tokens=args.max_new_tokens,
        max_context_tokens=args.max_context_tokens,
    )
    config = grpo_config(args)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[episode_reward, mask_score],
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    trainer.train()

    for record in trainer.state.log_history:
        if "reward" in record:
            print({k: round(v, 4) for k, v in record.items() if isinstance(v, float)})
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.log_file, json.dumps(trainer.state.log_history, indent=1) + "\n")
    save_pretrained_atomic(trainer.model, tokenizer, args.output_dir)
    print(f"model saved to {args.output_dir}; score it on the frozen test tasks with: ramp-env evaluate "
          f"--agent llm --agent-arg model={args.output_dir} --tasks test")
    return list(trainer.state.log_history)


if __name__ == "__main__":
    import warnings

    # TRL 1.16 reads transformers 5's deprecated `is_gradient_checkpointing` on every step (not our
    # call, nothing we pass changes it): hide that one message, keep every other warning
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    cli_args = parse_args()
    with torch_threads(cli_args.threads):
        main(cli_args)

r"""SFT of SmolLM2-135M-Instruct on the BM25 heuristic agent's RAMP trajectories, on CPU in minutes.

    python examples/sft_smollm2.py                       # offline SmolLM2, tiny budgets
    python examples/sft_smollm2.py --train_num_masks 1,2,3,4 --curriculum staged   # 1-mask data first, then 2, ...
    python examples/sft_smollm2.py --model Qwen/Qwen2.5-1.5B-Instruct --device cuda --bf16 \
        --train_file runs/bm25-traj.jsonl --max_train_trajectories 2000 --epochs 2 --batch_size 16 \
        --learning_rate 1e-5 --eval_tasks 200 --max_searches 4 --top_k 3 --max_hit_chars 1200

1. Score the model (greedy ``LLMAgent``) on held-out tasks: the frozen test set
   (``tasks="test"``) on the default corpus, the test split's tasks on another corpus.
2. Play the BM25 heuristic agent on training tasks (``split="train"``: no test passage is
   drawn or searched) and keep the episodes scoring at least ``min_score``: rejection sampling.
3. SFT on those trajectories, the loss on the agent's own turns only (TRL ``SFTTrainer``).
4. Score again on the same held-out tasks, print before/after, save the model.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

import torch
from transformers import HfArgumentParser

from agents.bm25_heuristic import BM25HeuristicAgent
from agents.llm import LLMAgent
from agents.llm.rollout import held_out_specs, score_agent
from agents.training.checkpoint import save_pretrained_atomic
from agents.training.sft import CURRICULA, SFTTrainConfig, train_sft
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.evaluation.runner import episode_seed, run_episode
from ramp_env.models import load_causal_lm, torch_threads
from ramp_env.tasksets import held_out_env_kwargs
from ramp_env.trajectories import RecordTrajectories, filter_trajectories, read_trajectories, write_trajectories


@dataclass
class Args:
    model: str | None = field(
        default=None, metadata={"help": "the model to train: a folder, .gguf or hub id; None: the offline SmolLM2-135M-Instruct"}
    )
    device: str = field(default="cpu", metadata={"help": "torch device of the model: cpu, cuda or cuda:N"})
    dtype: str | None = field(default=None, metadata={"help": (
        "weights as loaded: float32 (CPU default) | bfloat16 (GPU default) | float16; half-precision models "
        "train with float32 master weights and autocast (agents/training/precision.py)"
    )})
    bf16: bool = field(default=False, metadata={"help": "bfloat16 mixed precision for SFT (GPUs)"})
    threads: int | None = field(default=None, metadata={"help": "torch threads (1 is fastest on a busy 2-core CPU)"})
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    num_masks: int = field(default=1, metadata={"help": (
        "masks per task, of the held-out tasks and (without --train_num_masks) of the training episodes"
    )})
    max_searches: int = field(default=1, metadata={"help": "short episodes keep CPU sequences around 400 tokens"})
    top_k: int = field(default=1, metadata={"help": "passages each search returns"})
    max_hit_chars: int = field(default=300, metadata={"help": "characters of each returned passage the agent sees"})
    eval_tasks: int = field(default=16, metadata={"help": "held-out tasks scored before and after training"})
    eval_seed: int = field(default=1000, metadata={"help": (
        "first reset seed of the held-out tasks (when the corpus has no frozen test set)"
    )})
    train_file: str | None = field(
        default=None, metadata={"help": "trajectories from `ramp-env collect` instead of playing BM25 here"}
    )
    train_episodes: int = field(default=160, metadata={"help": "BM25 episodes played for training data"})
    train_seed: int = field(default=0, metadata={"help": "first reset seed of the BM25 training episodes"})
    train_num_masks: str | None = field(
        default=None, metadata={"help": "mask counts of the training episodes, e.g. \"1,2,3,4\" (default: num_masks)"}
    )
    curriculum: str = field(
        default="mixed", metadata={"help": "SFT data order: mixed (shuffled) | staged (by mask count, fewest first)"}
    )
    min_score: float = field(default=0.5, metadata={"help": "rejection sampling threshold"})
    max_train_trajectories: int = field(default=16, metadata={"help": "most kept episodes SFT trains on"})
    epochs: float = field(default=2.0, metadata={"help": "SFT passes over the kept trajectories"})
    batch_size: int = field(default=4, metadata={"help": "trajectories per SFT step"})
    learning_rate: float = field(default=1e-4, metadata={"help": "AdamW learning rate"})
    max_new_tokens: int = field(default=48, metadata={"help": "tokens the model may generate per turn"})
    seed: int = field(default=0, metadata={"help": "seeds torch, task sampling and data order"})
    output_dir: str = field(
        default="runs/sft-smollm2", metadata={"help": "the fine-tuned model (and trajectories.jsonl)"}
    )


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
    if args.curriculum not in CURRICULA:  # fail before the slow parts
        raise SystemExit(f"--curriculum must be one of {CURRICULA}, got {args.curriculum!r}")
    torch.manual_seed(args.seed)
    # held-out tasks: the frozen test set on the default corpus (the test split elsewhere); training
    # envs play split="train", so no held-out passage (or near copy) is ever trained on or searched
    envs = [make_env(args, **held_out_env_kwargs(args.corpus)) for _ in range(min(args.eval_tasks, 8))]
    specs = held_out_specs(envs[0], args.eval_seed, args.num_masks, args.eval_tasks)

    model, tokenizer = load_causal_lm(args.model, device=args.device, dtype=args.dtype)
    agent = LLMAgent(model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens)
    before = score_agent(agent, envs, specs)
    print("before:", json.dumps(before))

    # training data: the BM25 heuristic on train passages, good episodes only
    if args.train_file:
        played = read_trajectories(args.train_file)
    else:
        recorder = RecordTrajectories(make_env(args), agent="bm25")
        bm25 = BM25HeuristicAgent(span_extractor="auto")  # the env's extractor: candidates shaped like its masks
        mask_counts = [int(k) for k in (args.train_num_masks or str(args.num_masks)).split(",")]
        for i in range(args.train_episodes):
            k = mask_counts[i % len(mask_counts)]
            run_episode(recorder, bm25, episode_seed(args.train_seed, k, i), k)
        played = recorder.pop_trajectories()
    kept = filter_trajectories(played, args.min_score)[: args.max_train_trajectories]
    print(f"training data: {len(played)} episodes, mean score {sum(t.score for t in played) / len(played):.3f}; "
          f"kept {len(kept)} with score >= {args.min_score} (train passages only)")
    if not kept:
        raise SystemExit("no training trajectory passed the filter: lower --min_score or raise --train_episodes")

    metrics = train_sft(model, tokenizer, kept, SFTTrainConfig(
        num_epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        seed=args.seed, bf16=args.bf16, logging_steps=1, curriculum=args.curriculum,
    ))
    print(f"sft: {metrics['steps']} steps on {metrics['examples']} trajectories "
          f"({metrics['trained_tokens']} trained tokens), loss {metrics['train_loss']:.3f}, {metrics['seconds']} s")

    after = score_agent(agent, envs, specs)
    print("after: ", json.dumps(after))
    save_pretrained_atomic(model, tokenizer, args.output_dir)
    write_trajectories(f"{args.output_dir}/trajectories.jsonl", kept)
    summary = {"before": before, "after": after, "sft": {k: v for k, v in metrics.items() if k != "log_history"}}
    print(f"held-out score ({args.eval_tasks} tasks, {args.num_masks} mask): "
          f"{before['score']:.3f} -> {after['score']:.3f}; model saved to {args.output_dir}")
    return summary


if __name__ == "__main__":
    cli_args = parse_args()
    with torch_threads(cli_args.threads):
        main(cli_args)

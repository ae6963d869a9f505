"""``ramp-env distill``: self-evolving distillation from the command line.

    ramp-env distill --rounds 2 --tasks-per-round 32 --teacher smollm2 --out runs/distill

The subcommand lives in ``agents`` (``ramp_env`` never imports ``agents``) and
reaches the ``ramp-env`` command through the ``ramp_env.commands`` entry-point
group (``pyproject.toml``), which the CLI reads at start-up. This module imports
only ``argparse`` at module level, so ``ramp-env --help`` stays fast; torch and
the training code load when the command runs.
"""

from __future__ import annotations

import argparse

from ramp_env.cli.common import DEFAULT_ENV, add_env_args, gym_env_kwargs


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "distill",
        help="self-evolving distillation: teacher trajectories -> judge -> SFT student -> next teacher",
        description="Each round the teacher plays RAMP tasks, a judge keeps the correct trajectories, a student "
        "is fine-tuned on them and becomes the next teacher. Prints the trajectory diversity of every round. "
        "Writes trajectories, students and reports under --out; an interrupted run resumes.",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tasks-per-round", type=int, default=32)
    parser.add_argument("--num-masks", type=int, nargs="+", default=[1], help="mask counts, used in turn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--teacher", default="smollm2",
        help="round-1 teacher: 'smollm2' (multi-agent pipeline on the offline model), a model path or hub id, "
        "'http://host/v1|MODEL' (OpenAI-compatible server) or 'agent:NAME' (e.g. agent:bm25)",
    )
    parser.add_argument("--student", default=None, help="student base model (default: offline SmolLM2-135M-Instruct)")
    parser.add_argument("--student-init", choices=("base", "previous"), default="base",
                        help="fine-tune a fresh base model each round, or continue the previous student")
    parser.add_argument("--no-accumulate", action="store_true", help="train each round on its own trajectories only")
    parser.add_argument(
        "--judge", default="em",
        help="reward the judge uses (em, f1, recall, judge_llm, ...), or llm / llm:BACKEND for an LLM's CORRECT/INCORRECT "
        "verdict as in the paper (BACKEND: a model path or http://host/v1|model)",
    )
    parser.add_argument("--judge-threshold", type=float, default=1.0, help="per-mask score needed on every mask")
    parser.add_argument("--concurrency", type=int, default=4, help="episodes played in lockstep")
    parser.add_argument("--temperature", type=float, default=0.7, help="student-teacher sampling temperature")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sft-epochs", type=float, default=1.0)
    parser.add_argument("--sft-steps", type=int, default=-1, help="optimiser steps per round (-1: --sft-epochs)")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--max-length", type=int, default=2048, help="tokens per trajectory in training")
    add_env_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from agents.training.distill import DistillConfig, distill, diversity_table
    from agents.training.sft import SFTTrainConfig

    kwargs = gym_env_kwargs(args)
    if args.env == DEFAULT_ENV:
        kwargs.setdefault("progress", False)
    config = DistillConfig(
        out_dir=args.out, rounds=args.rounds, tasks_per_round=args.tasks_per_round, num_masks=tuple(args.num_masks),
        seed=args.seed, teacher=args.teacher, student=args.student, student_init=args.student_init,
        accumulate=not args.no_accumulate, judge=args.judge, judge_threshold=args.judge_threshold,
        concurrency=args.concurrency, temperature=args.temperature, max_new_tokens=args.max_new_tokens,
        device=args.device, env_id=args.env, env_kwargs=kwargs,
        sft=SFTTrainConfig(num_epochs=args.sft_epochs, max_steps=args.sft_steps, batch_size=args.batch_size,
                           learning_rate=args.learning_rate, max_length=args.max_length, seed=args.seed),
    )
    reports = distill(config)
    print("\n" + diversity_table(reports))
    print(f"\nwrote {args.out}/summary.json and one folder per round")
    return 0

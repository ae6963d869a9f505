"""``ramp-env sample``: print N masked tasks as JSONL (seeded, reproducible)."""

from __future__ import annotations

import argparse
import json
import sys

from ramp_env.cli.common import add_corpus_args, env_kwargs
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.strategies import DEFAULT_MASK_STRATEGY


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("sample", help="print N masked tasks as JSONL")
    add_corpus_args(parser)
    parser.add_argument("-n", "--num-tasks", type=int, default=5)
    parser.add_argument("--num-masks", type=int, default=1)
    parser.add_argument("--mask-strategy", default=DEFAULT_MASK_STRATEGY, help="balanced (the env's default), random, ppl")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.num_tasks < 0:
        raise InvalidOptionError("--num-tasks must be >= 0")
    env = RAMPEnv(num_masks=args.num_masks, mask_strategy=args.mask_strategy, progress=False, **env_kwargs(args))
    env.reset(seed=args.seed)
    for i in range(args.num_tasks):
        if i:
            env.reset()
        assert env.task is not None
        sys.stdout.write(json.dumps(env.task.to_json(), ensure_ascii=False) + "\n")
    return 0

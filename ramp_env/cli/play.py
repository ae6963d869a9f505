"""``ramp-env play``: a person plays any registered env (``--env``) in the terminal."""

from __future__ import annotations

import argparse
from typing import Any

import gymnasium as gym

import ramp_env  # registers the env ids gym.make looks up
from ramp_env.actions import format_answer, format_search
from ramp_env.cli.common import DEFAULT_ENV, add_env_args, gym_env_kwargs
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.env_factory import make_user_env
from ramp_env.prompts import INSTRUCTIONS

HELP = """Commands:
  s QUERY          search (same as <search>QUERY</search>)
  a ANSWER; ...    answer the masks in order, separated by ';'
  <search>..</search> or <answer>..</answer>   raw actions
  ?                show the gold answers and end the episode
  q                quit"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "play",
        help="play an env in the terminal",
        description=f"Play any registered env ({', '.join(ramp_env.ENV_IDS)}) in the terminal, e.g. "
        "ramp-env play --env RAMP-Lite-v0 --env-arg max_searches=2.",
    )
    add_env_args(parser)
    parser.add_argument(
        "--num-masks", type=int, default=None,
        help=f"masks per task (default: 2 for {DEFAULT_ENV}, else the env's own default)",
    )
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    return parser


def to_action(line: str) -> str:
    """Turn a typed line into an env action."""
    line = line.strip()
    if line.startswith("s "):
        return format_search(line[2:])
    if line.startswith("a "):
        answers = [part.strip() for part in line[2:].split(";")]
        return format_answer(dict(enumerate(answers, 1)))
    return line


def make_env(args: argparse.Namespace) -> gym.Env:
    """``gym.make(args.env)`` with the ``--env-arg`` and corpus arguments, rendering as text."""
    kwargs: dict[str, Any] = gym_env_kwargs(args)
    num_masks = args.num_masks if args.num_masks is not None else (2 if args.env == DEFAULT_ENV else None)
    if num_masks is not None:
        kwargs.setdefault("num_masks", num_masks)
    kwargs["render_mode"] = "ansi"
    return make_user_env(args.env, **kwargs)


def run(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise InvalidOptionError("--episodes must be >= 1")
    env = make_env(args)
    print(INSTRUCTIONS + "\n\n" + HELP + "\n")
    total = 0.0
    for episode in range(args.episodes):
        env.reset(seed=args.seed if episode == 0 else None)
        print(env.render())
        while True:
            try:
                line = input("> ")
            except EOFError:
                print()
                return 0
            if line.strip() == "q":
                return 0
            if line.strip() == "?":
                print("gold:", "; ".join(env.unwrapped.task.answers))  # type: ignore[attr-defined]
                break
            _, reward, terminated, truncated, info = env.step(to_action(line))
            print(env.render())
            if terminated or truncated:  # the ending step's info carries the gold answers
                print(f"reward {reward:.3f}  per mask {info['per_mask_scores']}  gold: {'; '.join(info['answers'])}")
                total += float(reward)
                break
    print(f"total reward over {args.episodes} episode(s): {total:.3f}")
    return 0

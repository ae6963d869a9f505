"""``ramp-env play``: a person plays RAMP in the terminal."""

from __future__ import annotations

import argparse

from ramp_env.cli.common import add_corpus_args, env_kwargs
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.prompts import INSTRUCTIONS

HELP = """Commands:
  s QUERY          search (same as <search>QUERY</search>)
  a ANSWER; ...    answer the masks in order, separated by ';'
  <search>..</search> or <answer>..</answer>   raw actions
  ?                show the gold answers and end the episode
  q                quit"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("play", help="play RAMP in the terminal")
    add_corpus_args(parser)
    parser.add_argument("--num-masks", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    return parser


def to_action(line: str) -> str:
    """Turn a typed line into an env action."""
    line = line.strip()
    if line.startswith("s "):
        return f"<search>{line[2:]}</search>"
    if line.startswith("a "):
        answers = [part.strip() for part in line[2:].split(";")]
        return "<answer>" + "\n".join(f"[mask_{i}]: {a}" for i, a in enumerate(answers, 1)) + "</answer>"
    return line


def run(args: argparse.Namespace) -> int:
    env = RAMPEnv(num_masks=args.num_masks, render_mode="ansi", **env_kwargs(args))
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
                assert env.task is not None
                print("gold:", "; ".join(env.task.answers))
                break
            _, reward, terminated, truncated, info = env.step(to_action(line))
            print(env.render())
            if terminated or truncated:
                assert env.task is not None
                print(f"reward {reward:.3f}  per mask {info.get('per_mask_scores')}  gold: {'; '.join(env.task.answers)}")
                total += reward
                break
    print(f"total reward over {args.episodes} episode(s): {total:.3f}")
    return 0

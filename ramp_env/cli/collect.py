"""``ramp-env collect``: play an agent on seeded episodes and save its trajectories as JSONL.

    ramp-env collect --agent bm25 --episodes 500 --num-masks 1 2 3 4 --min-score 0.5 --out traj.jsonl

Agents are resolved like ``ramp-env evaluate`` (registered names or ``module:Class``),
and episode ``i`` of mask count ``k`` is reset with the same seed as there
(``ramp_env.evaluation.episode_seed``): collect training data with another
``--seed`` than the one you evaluate on. ``--min-score`` keeps only episodes
scoring at least that much (rejection sampling). The file is rewritten
atomically every ``--flush-every`` kept episodes and at the end, so a crash
loses at most the episodes since the last flush and never corrupts the file.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import gymnasium as gym
from tqdm import tqdm  # plain text bar: tqdm.auto warns "IProgress not found" in notebooks without ipywidgets

from ramp_env.cli.common import DEFAULT_ENV, add_env_args, check_output_file, gym_env_kwargs
from ramp_env.cli.evaluate import agent_specs
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.agent_loading import make_agent
from ramp_env.evaluation.env_factory import make_user_env
from ramp_env.evaluation.runner import episode_seed, run_episode
from ramp_env.trajectories import (
    RecordTrajectories,
    Trajectory,
    filter_trajectories,
    write_trajectories,
)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "collect",
        help="save an agent's episodes as trajectories (JSONL) for training",
        description="Play an agent on seeded episodes and write one trajectory per line (chat messages, "
        "actions, tool results, rewards, per-mask scores), optionally keeping only high-scoring ones.",
    )
    parser.add_argument("--agent", default="bm25", help="a registered agent name or module:Class")
    parser.add_argument(
        "--agent-arg", action="append", default=[], metavar="KEY=VALUE",
        help="constructor argument (VALUE parsed as JSON, else text)",
    )
    add_env_args(parser)
    parser.add_argument("--episodes", type=int, default=100, help="episodes per mask count")
    parser.add_argument("--num-masks", type=int, nargs="+", default=None, help="mask counts (default: the env's)")
    parser.add_argument("--seed", type=int, default=1, help="run seed (use another one than for evaluation)")
    parser.add_argument("--min-score", type=float, default=None, help="keep episodes with mean per-mask score >= this")
    parser.add_argument("--keep-truncated", action="store_true", help="with --min-score, also keep unanswered episodes")
    parser.add_argument("--out", required=True, help="output .jsonl file")
    parser.add_argument("--flush-every", type=int, default=100, help="rewrite the file every N kept episodes")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def collect(
    env: gym.Env,
    agent: Any,
    episodes: int,
    num_masks: list[int | None],
    seed: int,
    agent_name: str,
    min_score: float | None = None,
    keep_truncated: bool = False,
    on_flush: Any = None,
    flush_every: int = 100,
    progress: bool = False,
) -> tuple[list[Trajectory], int]:
    """Play ``episodes`` per mask count through a recording wrapper; return (kept trajectories, played)."""
    recorder = RecordTrajectories(env, agent=agent_name)
    kept: list[Trajectory] = []
    played = 0
    with tqdm(total=episodes * len(num_masks), disable=not progress, desc=f"collect {agent_name}") as bar:
        for k in num_masks:
            for episode in range(episodes):
                run_episode(recorder, agent, episode_seed(seed, k, episode), k)
                new = recorder.pop_trajectories()
                if min_score is not None:
                    new = filter_trajectories(new, min_score, require_terminated=not keep_truncated)
                kept.extend(new)
                played += 1
                bar.update()
                if on_flush is not None and new and len(kept) % flush_every == 0:
                    on_flush(kept)
    return kept, played


def run(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise InvalidOptionError("--episodes must be >= 1")
    if args.flush_every < 1:
        raise InvalidOptionError("--flush-every must be >= 1")
    if args.min_score is not None and not 0.0 <= args.min_score <= 1.0:
        raise InvalidOptionError(f"--min-score must be in [0, 1], got {args.min_score}")
    check_output_file(args.out)  # before any episode: a bad --out must not cost a whole run
    kwargs = gym_env_kwargs(args)
    span_extractor = kwargs.get("span_extractor") if args.env == DEFAULT_ENV else None
    spec = agent_specs([args.agent], args.agent_arg, span_extractor)[0]
    env = make_user_env(args.env, **kwargs)
    agent = make_agent(spec.name, env=env, kwargs=spec.kwargs)

    def flush(trajectories: list[Trajectory]) -> None:
        write_trajectories(args.out, trajectories)

    kept, played = collect(
        env, agent, args.episodes, args.num_masks or [None], args.seed, spec.name,
        args.min_score, args.keep_truncated, flush, args.flush_every, progress=not args.no_progress,
    )
    written = write_trajectories(args.out, kept)
    mean = sum(t.score for t in kept) / written if written else 0.0
    print(json.dumps({"out": args.out, "episodes": played, "kept": written, "mean_score_kept": round(mean, 4)}))
    return 0

"""Throughput of RAMP-v0 scaled out: gymnasium vector envs (sync, async) and Ray rollout workers.

Every configuration plays the same cheap scripted agent (search the passage's
opening words, search the title, answer from the results), so the numbers are the
environment's cost: BM25 search, passage lookups, masking and grading, plus the
transport of each scale-out method. Steps/s count env transitions (autoreset
steps of vector envs are not counted) and exclude start-up, reported apart; the
ratio column is against one plain env measured in the same run. Configurations
are measured in interleaved rounds and the median is reported, so load from
other processes does not favour whichever ran in a quiet moment.

    python benchmarks/vector_envs.py                      # default corpus, 1/2/4 envs and Ray workers
    python benchmarks/vector_envs.py --no-ray --steps 300
    python benchmarks/vector_envs.py --corpus /tmp/ramp-scale/zipf1000000-s1-v1000000-seed0.jsonl \
        --cache-dir /tmp/ramp-scale/cache-1000000 --task-pool 0.01   # after benchmarks/scale.py

On a 2-core machine 4 workers cannot beat 2: the table shows what the cores allow.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from ramp_env.actions import format_answer, format_search  # (importing ramp_env registers the env ids)

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Args:
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    span_extractor: str = field(
        default="auto", metadata={"help": "salient-span extractor (auto: the default corpus's spaCy spans)"}
    )
    task_pool: float = field(default=0.0, metadata={"help": (
        "passages (> 1) or fraction (<= 1) tasks are drawn from, spans extracted on first draw; 0: every "
        "passage, spans prepared eagerly"
    )})
    num_envs: list[int] = field(default_factory=lambda: [1, 2, 4], metadata={"help": "env counts to measure"})
    steps: int = field(default=600, metadata={"help": "env steps measured per configuration and round"})
    rounds: int = field(
        default=3, metadata={"help": "measurements per configuration, interleaved; the median is reported"}
    )
    num_masks: int = field(default=2, metadata={"help": "masks per task"})
    seed: int = field(default=0, metadata={"help": "seeds the envs"})
    ray: bool = field(default=True, metadata={"help": "also measure Ray rollout workers (--no-ray: skip them)"})
    ray_address: str = field(
        default="", metadata={"help": "Ray cluster address: \"\" starts a local Ray; \"auto\" joins a running cluster"}
    )
    cache_dir: str = field(
        default="", metadata={"help": "where the prepared corpus is kept (\"\": RAMP_ENV_CACHE or the user cache)"}
    )
    out: Path = field(default=RESULTS_DIR / "vector_envs.json", metadata={"help": "the results file"})


def parse_args(argv: list[str] | None = None) -> Args:
    help_of = {f.name: f.metadata["help"] for f in dataclasses.fields(Args)}
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--corpus", default=Args.corpus, help=help_of["corpus"])
    parser.add_argument("--span-extractor", default=Args.span_extractor, help=help_of["span_extractor"])
    parser.add_argument("--task-pool", type=float, default=Args.task_pool, help=help_of["task_pool"])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 2, 4], help=help_of["num_envs"])
    parser.add_argument("--steps", type=int, default=Args.steps, help=help_of["steps"])
    parser.add_argument("--rounds", type=int, default=Args.rounds, help=help_of["rounds"])
    parser.add_argument("--num-masks", type=int, default=Args.num_masks, help=help_of["num_masks"])
    parser.add_argument("--seed", type=int, default=Args.seed, help=help_of["seed"])
    parser.add_argument("--no-ray", dest="ray", action="store_false", help=help_of["ray"])
    parser.add_argument("--ray-address", default=Args.ray_address, help=help_of["ray_address"])
    parser.add_argument("--cache-dir", default=Args.cache_dir, help=help_of["cache_dir"])
    parser.add_argument("--out", type=Path, default=Args.out, help=help_of["out"])
    return Args(**vars(parser.parse_args(argv)))


class ScriptedAgent:
    """Search the opening words, then the title, then answer every mask from the results."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.step = 0

    def act(self, obs: Mapping[str, Any]) -> str:
        self.step += 1
        if self.step == 1:
            words = [w for w in str(obs["passage"]).split() if "mask" not in w][:8]
            return format_search(" ".join(words))
        if self.step == 2 and obs["title"]:
            return format_search(obs["title"])
        guesses = [w for w in str(obs["results"]).split() if w[:1].isupper()] or ["unknown"]
        return format_answer({i: guesses[(i - 1) % len(guesses)] for i in range(1, int(obs["num_masks"]) + 1)})


def env_kwargs(args: Args) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"corpus": args.corpus, "span_extractor": args.span_extractor,
                              "num_masks": args.num_masks, "progress": False}
    if args.task_pool:  # a plain number: Ray workers and subprocesses rebuild the pool from it
        kwargs["task_pool"] = int(args.task_pool) if args.task_pool > 1 else args.task_pool
    if args.cache_dir:
        kwargs["cache_dir"] = args.cache_dir
    return kwargs


def play(env: gym.Env, min_steps: int, seed: int) -> tuple[int, int, float]:
    """Whole episodes of :class:`ScriptedAgent` (seeds ``seed``, ``seed+1``, ...) until
    ``min_steps`` steps are done; return steps, episodes and seconds."""
    agent, steps, episodes = ScriptedAgent(), 0, 0
    started = time.perf_counter()
    while steps < min_steps:
        obs, _ = env.reset(seed=seed + episodes)
        agent.reset()
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            done, steps = terminated or truncated, steps + 1
        episodes += 1
    return steps, episodes, time.perf_counter() - started


def single_env(args: Args) -> dict[str, float]:
    started = time.perf_counter()
    env = gym.make("RAMP-v0", **env_kwargs(args))
    startup = time.perf_counter() - started
    steps, _, seconds = play(env, args.steps, args.seed)
    env.close()
    return {"steps_per_s": steps / seconds, "startup_s": startup}


def vector_env(args: Args, n: int, mode: str, vector_kwargs: dict[str, Any]) -> dict[str, float]:
    started = time.perf_counter()
    venv = gym.make_vec("RAMP-v0", num_envs=n, vectorization_mode=mode, vector_kwargs=vector_kwargs,
                        **env_kwargs(args))
    obs, _ = venv.reset(seed=args.seed)
    startup = time.perf_counter() - started
    agents = [ScriptedAgent() for _ in range(n)]
    resetting = [False] * n  # next-step autoreset: the step after an episode's end only resets
    steps = 0
    started = time.perf_counter()
    while steps < args.steps:
        actions = []
        for i, agent in enumerate(agents):
            if resetting[i]:
                agent.reset()
                actions.append("")
            else:
                actions.append(agent.act({k: v[i] for k, v in obs.items()}))
        steps += n - sum(resetting)
        obs, _, terminated, truncated, _ = venv.step(actions)
        resetting = [bool(t or u) for t, u in zip(terminated, truncated)]
    seconds = time.perf_counter() - started
    venv.close()
    return {"steps_per_s": steps / seconds, "startup_s": startup}


def ray_workers(args: Args, n: int) -> dict[str, float]:
    from ramp_env.distributed import RayRolloutPool

    started = time.perf_counter()
    with RayRolloutPool(n, env_kwargs(args), agent_factory=ScriptedAgent,
                        num_cpus_per_worker=min(1.0, (os.cpu_count() or 1) / n)) as pool:
        pool.describe()  # waits until every actor has built its env
        startup = time.perf_counter() - started
        pool.rollouts(range(n))  # warm-up: first search in each worker touches the index
        episodes = max(n, args.steps // 3)
        started = time.perf_counter()
        trajectories = pool.rollouts(range(args.seed, args.seed + episodes))
        seconds = time.perf_counter() - started
    steps = sum(t.num_steps for t in trajectories)
    return {"steps_per_s": steps / seconds, "startup_s": startup}


def configurations(args: Args) -> list[tuple[str, int, Callable[[], dict[str, float]]]]:
    configs: list[tuple[str, int, Callable[[], dict[str, float]]]] = [
        ("single env (baseline)", 1, lambda: single_env(args))
    ]
    for method, mode, vector_kwargs in [("sync", "sync", {}), ("async (shared memory)", "async", {}),
                                        ("async (pipes)", "async", {"shared_memory": False})]:
        configs += [(method, n, functools.partial(vector_env, args, n, mode, vector_kwargs)) for n in args.num_envs]
    if args.ray:
        configs += [("ray rollout workers", n, functools.partial(ray_workers, args, n)) for n in args.num_envs]
    return configs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ramp_env.cache import atomic_write_json

    # prepare the corpus once, and play every measured episode once so that all
    # configurations (the baseline, measured first, included) find the index pages cached
    warm_up = gym.make("RAMP-v0", **env_kwargs(args))
    play(warm_up, args.steps, args.seed)
    warm_up.close()
    if args.ray:
        import ray

        if args.ray_address:
            ray.init(address=args.ray_address)
        else:
            ray.init(include_dashboard=False, address="local", _node_ip_address="127.0.0.1",
                     log_to_driver=False, configure_logging=False)
    load_start = os.getloadavg()
    configs = configurations(args)
    runs: list[list[dict[str, float]]] = [[] for _ in configs]
    try:
        # rounds go through every configuration in turn, so a burst of load from
        # elsewhere on the machine hits all of them alike; the median is reported
        for round_number in range(args.rounds):
            for (method, n, measure), results in zip(configs, runs):
                results.append(measure())
                print(f"round {round_number + 1}: {method:<24} {n:>2}  {results[-1]['steps_per_s']:8.1f} steps/s",
                      flush=True)
    finally:
        if args.ray:
            ray.shutdown()
    rows = []
    for (method, n, _), results in zip(configs, runs):
        rows.append({"method": method, "num_envs": n,
                     "steps_per_s": statistics.median(r["steps_per_s"] for r in results),
                     "startup_s": statistics.median(r["startup_s"] for r in results),
                     "all_steps_per_s": [r["steps_per_s"] for r in results]})
    print(f"\n{'method':<24} {'N':>2}  {'steps/s':>8}  {'ratio':>6}  start-up")
    for row in rows:
        row["ratio"] = row["steps_per_s"] / rows[0]["steps_per_s"]
        print(f"{row['method']:<24} {row['num_envs']:>2}  {row['steps_per_s']:8.1f}  x{row['ratio']:5.2f}  "
              f"{row['startup_s']:.1f} s")
    report = {"args": {k: str(v) for k, v in dataclasses.asdict(args).items()}, "cpus": os.cpu_count(),
              "load_average": [load_start, os.getloadavg()], "rows": rows}
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Running an agent on an env for a number of seeded episodes.

Every episode gets its own seed derived from the run's seed, the mask count and
the episode number, so episode ``i`` poses the same task to every agent (scores
are paired) and a resumed run can skip finished episodes without replaying them.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Container, Iterator
from typing import Any

import gymnasium as gym
import numpy as np

from ramp_env.evaluation.records import EpisodeRecord

# An episode that neither terminates nor truncates in this many steps means a
# broken env; stop instead of looping forever.
MAX_EPISODE_STEPS = 10_000


def episode_seed(seed: int, num_masks: int | None, episode: int) -> int:
    """The reset seed of one episode (independent streams via numpy's SeedSequence)."""
    state = np.random.SeedSequence([int(seed), int(num_masks or 0), int(episode)]).generate_state(1)
    return int(state[0])


def reset_agent(agent: Any, seed: int) -> None:
    """Call ``agent.reset()``, with ``seed=`` when it accepts one (random agents stay reproducible)."""
    reset = getattr(agent, "reset", None)
    if reset is None:
        return
    try:
        takes_seed = "seed" in inspect.signature(reset).parameters
    except (TypeError, ValueError):
        takes_seed = False
    reset(seed=seed) if takes_seed else reset()


def run_episode(env: gym.Env, agent: Any, seed: int, num_masks: int | None = None) -> dict[str, Any]:
    """Play one episode; return its outcome (reward, per-mask scores, counts, time)."""
    started = time.perf_counter()
    options = {"num_masks": int(num_masks)} if num_masks is not None else None
    observation, info = env.reset(seed=seed, options=options)
    reset_agent(agent, seed)
    reward, steps, searches, format_errors = 0.0, 0, 0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        if steps >= MAX_EPISODE_STEPS:
            raise RuntimeError(f"episode ran {MAX_EPISODE_STEPS} steps without ending: the env never truncates")
        observation, reward, terminated, truncated, info = env.step(agent.act(observation))
        steps += 1
        searches += info.get("action") == "search"
        format_errors += bool(info.get("format_errors"))
    task = getattr(env.unwrapped, "task", None)
    scores = [float(s) for s in info.get("per_mask_scores", [])]
    return {
        "reward": float(reward),
        "per_mask_scores": scores,
        "num_masks": int(getattr(task, "num_masks", len(scores))),
        "searches": int(info.get("searches_used", searches)),
        "steps": steps,
        "truncated": bool(truncated),
        "format_errors": format_errors,
        "task_id": str(info.get("task_id", getattr(task, "passage_id", ""))),
        "predictions": list(info.get("predictions") or []),
        "answers": [str(a) for a in getattr(task, "answers", ())],
        "seconds": time.perf_counter() - started,
    }


def run_episodes(
    env: gym.Env | Callable[[], gym.Env],
    agent: Any,
    episodes: int,
    seed: int = 0,
    num_masks: int | None = None,
    *,
    agent_name: str = "",
    agent_args: str = "{}",
    env_id: str = "",
    env_config: str = "{}",
    skip: Container[int] = (),
) -> Iterator[EpisodeRecord]:
    """Play ``episodes`` seeded episodes and yield one :class:`EpisodeRecord` each.

    Args:
        env: an env, or a factory called once to make it.
        agent: anything with ``act(observation) -> str`` (optional ``reset()``).
        episodes: how many episodes (numbered ``0..episodes-1``).
        seed: the run's seed; episode ``i`` is reset with :func:`episode_seed`.
        num_masks: passed to ``reset`` as ``options={"num_masks": k}`` (``None``: the env's own).
        agent_name, agent_args, env_id, env_config: labels copied into every record.
        skip: episode numbers not to play (already recorded).
    """
    if episodes < 0:
        raise ValueError(f"episodes must be >= 0, got {episodes}")
    env = env if isinstance(env, gym.Env) else env()
    for episode in range(episodes):
        if episode in skip:
            continue
        outcome = run_episode(env, agent, episode_seed(seed, num_masks, episode), num_masks)
        yield EpisodeRecord(
            agent=agent_name or type(agent).__name__,
            agent_args=agent_args,
            env_id=env_id or (env.spec.id if env.spec else type(env.unwrapped).__name__),
            env_config=env_config,
            seed=int(seed),
            episode=episode,
            **outcome,
        )

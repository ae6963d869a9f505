"""Playing several RAMP episodes at once with an LLMAgent (one batched generation per turn).

Used for RL rollouts (with the agent's token records) and for quick batched
evaluation in the examples. Each episode is recorded as a
:class:`~ramp_env.trajectories.Trajectory`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agents.llm.agent import LLMAgent, TokenSegment
from agents.llm.generation import Generation
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.runner import episode_seed
from ramp_env.trajectories import Trajectory, TrajectoryRecorder


@dataclass
class Episode:
    """One played episode: its trajectory and, with ``record_tokens``, the agent's token records."""

    trajectory: Trajectory
    segments: list[TokenSegment] = field(default_factory=list)
    generations: list[Generation] = field(default_factory=list)

    @property
    def num_generated_tokens(self) -> int:
        return sum(len(g.token_ids) for g in self.generations)


@dataclass(frozen=True)
class EpisodeSpec:
    """How to reset the env for one episode: ``reset(seed=seed, options=options)``."""

    seed: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


def play_episodes(
    agent: LLMAgent, envs: Sequence[gym.Env], specs: Sequence[EpisodeSpec], agent_name: str = "llm"
) -> list[Episode]:
    """Play ``specs[i]`` on ``envs[i]`` for every ``i`` in lockstep; episodes in ``specs`` order.

    Every turn the still-running episodes share one ``agent.act_batch`` call. The gold
    answers are recorded in each trajectory (``env.unwrapped.task.answers``) for analysis,
    and the sampling settings in its ``metadata["sampling"]``.
    """
    if len(specs) > len(envs):
        raise InvalidOptionError(f"{len(specs)} episodes for {len(envs)} envs: pass one env per episode")
    agent.reset()
    recorders = [TrajectoryRecorder(agent=agent_name, system_prompt=agent.config.system_prompt) for _ in specs]
    observations: dict[int, Any] = {}
    for i, spec in enumerate(specs):
        obs, info = envs[i].reset(seed=spec.seed, options=dict(spec.options))
        recorders[i].start(obs, info, seed=spec.seed)
        observations[i] = obs
    trajectories: dict[int, Trajectory] = {}
    while observations:
        slots = sorted(observations)
        actions = agent.act_batch([observations[i] for i in slots], slots=slots)
        for i, action in zip(slots, actions):
            obs, reward, terminated, truncated, info = envs[i].step(action)
            recorders[i].step(action, obs, reward, info, terminated, truncated)
            if terminated or truncated:
                del observations[i]
                task = getattr(envs[i].unwrapped, "task", None)
                trajectories[i] = recorders[i].finish(
                    answers=getattr(task, "answers", None), sampling=agent.sampling_settings()
                )
            else:
                observations[i] = obs
    return [
        Episode(
            trajectories[i],
            agent.token_segments(i) if agent.record_tokens else [],
            agent.generations(i),
        )
        for i in range(len(specs))
    ]


def evaluate_agent(
    agent: LLMAgent, envs: Sequence[gym.Env], specs: Sequence[EpisodeSpec], agent_name: str = "llm"
) -> tuple[float, list[Episode]]:
    """Mean episode score (mean per-mask score) over ``specs``, played ``len(envs)`` at a time."""
    episodes: list[Episode] = []
    for start in range(0, len(specs), len(envs)):
        episodes += play_episodes(agent, envs, specs[start : start + len(envs)], agent_name)
    mean = sum(e.trajectory.score for e in episodes) / len(episodes) if episodes else 0.0
    return mean, episodes


def seeded_specs(seed: int, num_masks: int, count: int) -> list[EpisodeSpec]:
    """``count`` tasks with ``num_masks`` masks, episode ``i`` seeded as ``ramp-env evaluate --seed seed`` does."""
    return [EpisodeSpec(seed=episode_seed(seed, num_masks, i), options={"num_masks": num_masks}) for i in range(count)]


def held_out_specs(env: gym.Env, seed: int, num_masks: int, count: int) -> list[EpisodeSpec]:
    """Episodes on ``env``'s held-out tasks: the first ``count`` frozen tasks of ``num_masks``
    masks when it plays a frozen set (``tasks="test"``; at most the set's size), in the set's
    order, else :func:`seeded_specs`."""
    task_set = getattr(env.unwrapped, "task_set", None)
    if task_set is None:
        return seeded_specs(seed, num_masks, count)
    count = min(count, len(task_set.for_masks(num_masks)))
    return [EpisodeSpec(seed=episode_seed(seed, num_masks, i), options={"num_masks": num_masks, "task_index": i})
            for i in range(count)]


def score_agent(agent: LLMAgent, envs: Sequence[gym.Env], specs: Sequence[EpisodeSpec]) -> dict[str, Any]:
    """:func:`evaluate_agent` summarised: mean score, mean env reward (score minus format penalties),
    share of episodes answered, rollout tokens/s, the first episode's first action."""
    started = time.perf_counter()
    mean, episodes = evaluate_agent(agent, envs, specs)
    seconds = time.perf_counter() - started
    tokens = sum(e.num_generated_tokens for e in episodes)
    return {
        "score": round(mean, 4),
        "reward": round(sum(e.trajectory.total_reward for e in episodes) / max(len(episodes), 1), 4),
        "answered": round(sum(e.trajectory.terminated for e in episodes) / max(len(episodes), 1), 4),
        "rollout_tokens_per_second": round(tokens / max(seconds, 1e-9), 2),
        "example_action": episodes[0].trajectory.actions[0][:120] if episodes else "",
    }

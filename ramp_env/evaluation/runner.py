"""Running an agent on an env for a number of seeded episodes.

Every episode gets its own seed derived from the run's seed, the mask count and
the episode number, so episode ``i`` poses the same task to every agent (scores
are paired) and a resumed run can skip finished episodes without replaying them.

Agents that talk to a server can keep several episodes in flight
(:func:`run_episodes_concurrently`, a :class:`~ramp_env.protocols.ConcurrentAgent`);
each slot plays its own env and is stepped as soon as its action arrives. The optional
agent hooks (``reset``, ``end_episode``, ...) are the protocols of
:mod:`ramp_env.protocols`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.records import EpisodeRecord
from ramp_env.protocols import (
    EpisodeOptionsEnv,
    ResettableAgent,
    UsageReportingAgent,
    reset_takes_seed,
)

# An episode that neither terminates nor truncates in this many steps means a
# broken env; stop instead of looping forever.
MAX_EPISODE_STEPS = 10_000


def episode_seed(seed: int, num_masks: int | None, episode: int) -> int:
    """The reset seed of one episode (independent streams via numpy's SeedSequence)."""
    state = np.random.SeedSequence([int(seed), int(num_masks or 0), int(episode)]).generate_state(1)
    return int(state[0])


def reset_agent(agent: Any, seed: int) -> None:
    """Call ``agent.reset()``, with ``seed=`` when it accepts one (random agents stay reproducible)."""
    if not isinstance(agent, ResettableAgent):
        return
    agent.reset(seed=seed) if reset_takes_seed(agent) else agent.reset()


def end_episode(agent: Any, slot: int = 0) -> dict[str, Any]:
    """The agent's account of the slot's finished episode (``agent.end_episode(slot)``), or ``{}``."""
    usage = agent.end_episode(slot) if isinstance(agent, UsageReportingAgent) else None
    return dict(usage) if isinstance(usage, Mapping) else {}


@dataclass
class _Tally:
    """One episode's running counts, from ``reset`` to its last step."""

    episode: int = 0
    started: float = field(default_factory=time.perf_counter)
    reward: float = 0.0
    steps: int = 0
    searches: int = 0
    format_errors: int = 0
    ended: bool = False
    truncated: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)

    def step(self, reward: float, terminated: bool, truncated: bool, info: Mapping[str, Any]) -> None:
        self.reward, self.info = float(reward), info
        self.steps += 1
        self.searches += info.get("action") == "search"
        self.format_errors += bool(info.get("format_errors"))
        self.ended, self.truncated = bool(terminated or truncated), bool(truncated)
        if not self.ended and self.steps >= MAX_EPISODE_STEPS:
            raise RuntimeError(f"episode ran {MAX_EPISODE_STEPS} steps without ending: the env never truncates")

    def outcome(self, env: gym.Env, usage: Mapping[str, Any]) -> dict[str, Any]:
        info = self.info
        task = getattr(env.unwrapped, "task", None)
        scores = [float(s) for s in info.get("per_mask_scores", [])]
        return {
            "reward": self.reward,
            "per_mask_scores": scores,
            "num_masks": int(getattr(task, "num_masks", len(scores))),
            "searches": int(info.get("searches_used", self.searches)),
            "steps": self.steps,
            "truncated": self.truncated,
            "format_errors": self.format_errors,
            # the passage id when the env has one (its info["task_id"] is opaque with a hidden title)
            "task_id": str(getattr(task, "passage_id", None) or info.get("task_id", "")),
            "predictions": list(info.get("predictions") or []),
            "answers": [str(a) for a in getattr(task, "answers", ())],
            "span_types": [str(t) for t in getattr(task, "span_types", ())],
            "seconds": time.perf_counter() - self.started,
            "usage": dict(usage),
            "answer_metrics": {str(k): float(v) for k, v in (info.get("answer_metrics") or {}).items()},
            **task_set_provenance(env),
        }


def task_set_provenance(env: gym.Env) -> dict[str, str]:
    """What a record cites about its tasks: the env's frozen task set (``tasks="test"``) and its
    sha256 (empty when tasks are drawn by seed), and the name of its reward."""
    unwrapped = env.unwrapped
    task_set = getattr(unwrapped, "task_set", None)
    reward = getattr(unwrapped, "reward_fn", None)
    return {
        "task_set": str(getattr(task_set, "label", "")) if task_set is not None else "",
        "task_set_sha256": str(getattr(task_set, "sha256", "")) if task_set is not None else "",
        "reward_name": str(getattr(reward, "name", "")) if reward is not None else "",
    }


def _reset(env: gym.Env, seed: int, num_masks: int | None, episode: int | None = None) -> Any:
    options: dict[str, Any] = {"num_masks": int(num_masks)} if num_masks is not None else {}
    # envs with a fixed question list pin episode i to a question (MultiHopQA-v0 with
    # order="sequential"), so every agent, slot and resumed run gets the same one per episode
    if episode is not None and isinstance(env.unwrapped, EpisodeOptionsEnv):
        options.update(env.unwrapped.episode_options(episode))
    observation, _ = env.reset(seed=seed, options=options or None)
    return observation


def run_episode(
    env: gym.Env, agent: Any, seed: int, num_masks: int | None = None, episode: int | None = None
) -> dict[str, Any]:
    """Play one episode; return its outcome (reward, per-mask scores, counts, time, the agent's usage).
    ``episode`` (its number in a run) lets envs with a fixed question list pose that episode's question."""
    tally = _Tally()
    observation = _reset(env, seed, num_masks, episode)
    reset_agent(agent, seed)
    while not tally.ended:
        observation, reward, terminated, truncated, info = env.step(agent.act(observation))
        tally.step(reward, terminated, truncated, info)
    return tally.outcome(env, end_episode(agent, 0))


@dataclass(frozen=True)
class RunSettings:
    """What a run of episodes plays and the labels copied into every record.

    Attributes:
        episodes: how many episodes (numbered ``0..episodes-1``).
        seed: the run's seed; episode ``i`` is reset with :func:`episode_seed`.
        num_masks: passed to ``reset`` as ``options={"num_masks": k}`` (``None``: the env's own).
        agent_name, agent_args, env_id, env_config: labels copied into every record
            (an empty name or id: the agent's class name, the env's spec id).
        skip: episode numbers not to play (already recorded).
    """

    episodes: int
    seed: int = 0
    num_masks: int | None = None
    agent_name: str = ""
    agent_args: str = "{}"
    env_id: str = ""
    env_config: str = "{}"
    skip: Container[int] = ()

    def __post_init__(self) -> None:
        if self.episodes < 0:
            raise InvalidOptionError(f"episodes must be >= 0, got {self.episodes}")

    @classmethod
    def of(cls, settings: RunSettings | int | None = None, *args: Any, **kwargs: Any) -> RunSettings:
        """``settings`` itself, or settings from the separate arguments the runners took before
        (``episodes, seed, num_masks, agent_name=..., ...``; ``episodes=`` as a keyword too)."""
        if isinstance(settings, RunSettings):
            if args or kwargs:
                raise TypeError("pass either a RunSettings or the separate arguments, not both")
            return settings
        return cls(*args, **kwargs) if settings is None else cls(settings, *args, **kwargs)

    def pending(self) -> list[int]:
        """The episode numbers to play, in order."""
        return [e for e in range(self.episodes) if e not in self.skip]

    def seed_of(self, episode: int) -> int:
        return episode_seed(self.seed, self.num_masks, episode)

    def record(self, agent: Any, env: gym.Env, episode: int, outcome: Mapping[str, Any]) -> EpisodeRecord:
        """The record of one played episode (its ``outcome`` from :func:`run_episode`)."""
        return EpisodeRecord(
            agent=self.agent_name or type(agent).__name__,
            agent_args=self.agent_args,
            env_id=self.env_id or (env.spec.id if env.spec else type(env.unwrapped).__name__),
            env_config=self.env_config,
            seed=int(self.seed),
            episode=episode,
            **outcome,
        )


def run_episodes(
    env: gym.Env | Callable[[], gym.Env], agent: Any, settings: RunSettings | int | None = None, *args: Any,
    **kwargs: Any,
) -> Iterator[EpisodeRecord]:
    """Play the seeded episodes of ``settings`` and yield one :class:`EpisodeRecord` each.

    Args:
        env: an env, or a factory called once to make it.
        agent: anything with ``act(observation) -> str`` (:class:`~ramp_env.protocols.Agent`;
            the optional hooks are the other protocols there).
        settings: a :class:`RunSettings`, or its fields as separate arguments
            (``run_episodes(env, agent, 10, seed, num_masks, agent_name=...)``, as before).
    """
    run = RunSettings.of(settings, *args, **kwargs)
    env = env if isinstance(env, gym.Env) else env()
    for episode in run.pending():
        outcome = run_episode(env, agent, run.seed_of(episode), run.num_masks, episode)
        yield run.record(agent, env, episode, outcome)


def run_episodes_concurrently(
    envs: Sequence[gym.Env], agent: Any, settings: RunSettings | int | None = None, *args: Any, **kwargs: Any
) -> Iterator[EpisodeRecord]:
    """:func:`run_episodes` with up to ``len(envs)`` episodes in flight, one per env (slot).

    Every slot's next action is requested with ``agent.submit(observation, slot)``; the
    slot whose action arrives first is stepped first, and a slot whose episode ended
    starts the next unplayed episode at once. Records come in the order episodes end;
    each episode is reset with the same seed as in :func:`run_episodes`, so the records
    are the same as a sequential run's (for an agent whose slots do not interact).
    An exception from the agent stops the run after cancelling the requests in flight.
    """
    run = RunSettings.of(settings, *args, **kwargs)
    if not envs:
        raise InvalidOptionError("run_episodes_concurrently needs at least one env")
    todo = deque(run.pending())
    tallies: dict[int, _Tally] = {}
    in_flight: dict[Future[str], int] = {}

    def start(slot: int) -> None:
        episode = todo.popleft()
        tallies[slot] = _Tally(episode=episode)
        observation = _reset(envs[slot], run.seed_of(episode), run.num_masks, episode)
        in_flight[agent.submit(observation, slot)] = slot

    for slot in range(min(len(envs), len(todo))):
        start(slot)
    try:
        while in_flight:
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                slot = in_flight.pop(future)
                env, tally = envs[slot], tallies[slot]
                observation, reward, terminated, truncated, info = env.step(future.result())
                tally.step(reward, terminated, truncated, info)
                if not tally.ended:
                    in_flight[agent.submit(observation, slot)] = slot
                    continue
                outcome = tally.outcome(env, end_episode(agent, slot))
                if todo:
                    start(slot)
                yield run.record(agent, env, tally.episode, outcome)
    finally:
        for future in in_flight:
            future.cancel()

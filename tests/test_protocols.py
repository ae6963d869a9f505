"""The optional agent and env hooks are protocols, checked with ``isinstance``; the runner
calls a hook exactly when the agent (or env) has it."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from agents.base import Agent as AgentsAgent
from ramp_env.evaluation.agent_loading import resolve_agent
from ramp_env.evaluation.runner import end_episode, reset_agent
from ramp_env.protocols import (
    Agent,
    ClosableAgent,
    ConcurrentAgent,
    EpisodeOptionsEnv,
    ResettableAgent,
    UsageReportingAgent,
    is_concurrent,
    reset_takes_seed,
)


class Plain:
    def act(self, observation: Any) -> str:
        return "<answer>x</answer>"


class Seeded(Plain):
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def reset(self, seed: int | None = None) -> None:
        self.calls.append({"seed": seed})


class Unseeded(Plain):
    def __init__(self) -> None:
        self.calls = 0

    def reset(self) -> None:
        self.calls += 1


class Served(Plain):
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency

    def submit(self, observation: Any, slot: int) -> Future[str]:
        future: Future[str] = Future()
        future.set_result(self.act(observation))
        return future

    def end_episode(self, slot: int = 0) -> dict[str, int]:
        return {"tokens": 7 + slot}

    def close(self) -> None:
        pass


def test_the_hooks_are_recognised_by_isinstance() -> None:
    plain, served = Plain(), Served(4)
    assert isinstance(plain, Agent) and not isinstance(object(), Agent)
    assert not any(isinstance(plain, p) for p in (ResettableAgent, ConcurrentAgent, UsageReportingAgent, ClosableAgent))
    assert all(isinstance(served, p) for p in (ConcurrentAgent, UsageReportingAgent, ClosableAgent))
    assert isinstance(Seeded(), ResettableAgent) and not isinstance(plain, EpisodeOptionsEnv)
    assert AgentsAgent is Agent  # one definition, re-exported by agents.base


def test_reset_passes_the_seed_only_to_an_agent_that_takes_one() -> None:
    seeded, unseeded = Seeded(), Unseeded()
    assert reset_takes_seed(seeded) and not reset_takes_seed(unseeded)
    reset_agent(seeded, 5)
    reset_agent(unseeded, 5)
    reset_agent(Plain(), 5)  # no hook: nothing to call
    assert seeded.calls == [{"seed": 5}] and unseeded.calls == 1


def test_concurrency_needs_submit_and_more_than_one_slot() -> None:
    only_attribute = Plain()
    only_attribute.concurrency = 8  # type: ignore[attr-defined]
    assert is_concurrent(Served(2))
    assert not is_concurrent(Served(1)) and not is_concurrent(only_attribute) and not is_concurrent(Plain())


def test_end_episode_reports_usage_only_for_agents_that_report() -> None:
    assert end_episode(Served(2), 1) == {"tokens": 8}
    assert end_episode(Plain(), 0) == {}


def test_loading_requires_the_agent_protocol() -> None:
    assert resolve_agent("tests.test_protocols:Plain") is Plain
    try:
        resolve_agent("tests.test_protocols:Future")
    except ValueError as exc:
        assert "without an act(observation) method" in str(exc)
    else:
        raise AssertionError("a class without act() loaded as an agent")

"""What the episode runner and the harness expect of an agent (and of an env), as protocols.

An agent needs only :class:`Agent` (``act``). Each other protocol is an optional hook the
runner uses when the agent has it; ``isinstance(agent, Hook)`` is the test, so an agent opts
in by defining the method, with no base class to inherit:

* :class:`ResettableAgent`: ``reset()`` or ``reset(seed=...)`` before each episode (the seed
  is passed when the method takes one, so a random agent replays the same episode);
* :class:`ConcurrentAgent`: ``concurrency > 1`` episodes in flight through
  ``submit(observation, slot) -> Future[str]`` (:func:`~ramp_env.evaluation.runner.run_episodes_concurrently`);
* :class:`UsageReportingAgent`: ``end_episode(slot) -> Mapping``, the slot's finished
  episode's account (token usage, say), kept as the record's ``usage``;
* :class:`ClosableAgent`: ``close()`` once the harness is done with the agent.

An env may have :class:`EpisodeOptionsEnv`'s ``episode_options(episode)``: reset options that
pin episode ``i`` of a run to one question (MultiHopQA-v0 with ``order="sequential"``).

A search backend needs only :class:`~ramp_env.retrieval.base.Retriever` (``search``); its
optional hooks are :class:`RestrictableRetriever` (its own way to hide passages, used by
:func:`~ramp_env.retrieval.restricted.restrict`) and :class:`RequiredTermRetriever` (hits that
hold every term of one text, used by the evidence search).
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: this module stays importable without the search engine
    from ramp_env.retrieval.base import Hit, Retriever


@runtime_checkable
class Agent(Protocol):
    """Anything that maps an observation to an action string."""

    def act(self, observation: Any) -> str: ...


@runtime_checkable
class ResettableAgent(Protocol):
    """An agent told when a new episode starts (``reset()``, or ``reset(seed=...)``)."""

    def reset(self, *args: Any, **kwargs: Any) -> Any: ...


@runtime_checkable
class ConcurrentAgent(Protocol):
    """An agent keeping up to ``concurrency`` episodes in flight, one per slot."""

    concurrency: int

    def submit(self, observation: Any, slot: int) -> Future[str]: ...


@runtime_checkable
class UsageReportingAgent(Protocol):
    """An agent that accounts for each finished episode of a slot."""

    def end_episode(self, slot: int = 0) -> Mapping[str, Any]: ...


@runtime_checkable
class ClosableAgent(Protocol):
    """An agent holding resources (connections, threads) to release."""

    def close(self) -> None: ...


@runtime_checkable
class EpisodeOptionsEnv(Protocol):
    """An env whose episode ``i`` of a run is pinned by reset options."""

    def episode_options(self, episode: int) -> Mapping[str, Any]: ...


@runtime_checkable
class RestrictableRetriever(Protocol):
    """A search backend with its own way to hide passages from every result.

    :func:`~ramp_env.retrieval.restricted.restrict` uses it when present, else wraps the
    backend in a :class:`~ramp_env.retrieval.restricted.FilteredRetriever`.
    """

    def restricted(self, hidden_ids: Collection[str]) -> Retriever: ...


@runtime_checkable
class RequiredTermRetriever(Protocol):
    """A search backend that can require every term of one text in its hits.

    The evidence search uses it when present; for another backend it weighs the required
    text up in a plain ``search`` query instead.
    """

    def search_with_required(
        self, query: str, required: str, k: int, exclude_ids: Collection[str] = ()
    ) -> list[Hit]: ...


def reset_takes_seed(agent: ResettableAgent) -> bool:
    """Whether ``agent.reset`` accepts ``seed=``.

    A runtime-checkable protocol checks only that a method exists, not its parameters, and
    agents written without seeds take none; so this one question is answered from the
    signature (a builtin without one counts as taking no seed).
    """
    try:
        return "seed" in inspect.signature(agent.reset).parameters
    except (TypeError, ValueError):
        return False


def is_concurrent(agent: object) -> bool:
    """Whether the agent keeps several episodes in flight (a :class:`ConcurrentAgent` with ``concurrency > 1``)."""
    if not isinstance(agent, ConcurrentAgent):
        return False
    concurrency = agent.concurrency
    return isinstance(concurrency, int) and concurrency > 1 and callable(agent.submit)


__all__ = [
    "Agent",
    "ClosableAgent",
    "ConcurrentAgent",
    "EpisodeOptionsEnv",
    "RequiredTermRetriever",
    "ResettableAgent",
    "RestrictableRetriever",
    "UsageReportingAgent",
    "is_concurrent",
    "reset_takes_seed",
]

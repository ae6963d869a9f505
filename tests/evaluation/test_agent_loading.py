"""Agents by entry-point name or module:Class."""

from __future__ import annotations

import pytest

from agents.bm25_heuristic import BM25HeuristicAgent
from agents.oracle import OracleAgent
from ramp_env.evaluation.agent_loading import accepts, make_agent, registered_agents, resolve_agent


def test_baselines_are_registered_entry_points() -> None:
    registered = registered_agents()
    for name in ("random", "closed_book", "bm25", "oracle"):
        assert name in registered
    assert resolve_agent("bm25") is BM25HeuristicAgent
    assert resolve_agent("agents.oracle:OracleAgent") is OracleAgent


def test_unknown_agents_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown agent 'nope'.*bm25"):
        resolve_agent("nope")
    with pytest.raises(ValueError, match="cannot load agent"):
        resolve_agent("agents.oracle:NoSuchAgent")
    with pytest.raises(ValueError, match="cannot load agent"):
        resolve_agent("no_such_module_xyz:Agent")


def test_env_is_passed_when_the_constructor_takes_it(make_env) -> None:
    env = make_env()
    oracle = make_agent("oracle", env=env)
    assert isinstance(oracle, OracleAgent) and oracle.env is env
    agent = make_agent("random", env=env, kwargs={"seed": 3})
    assert not hasattr(agent, "env")
    with pytest.raises(ValueError, match="takes no argument.*bogus"):
        make_agent("random", kwargs={"bogus": 1})
    assert accepts(resolve_agent("bm25"), "span_extractor") and not accepts(resolve_agent("oracle"), "seed")


def test_objects_without_act_are_rejected() -> None:
    with pytest.raises(TypeError, match="without an act"):
        make_agent("collections:OrderedDict")

"""The evidence oracle: reads each mask's evidence, never searches, and reads like the BM25 heuristic."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from agents import ClosedBookAgent
from agents.evidence_oracle import EvidenceOracleAgent
from agents.reading import answer, new_pool, read
from ramp_env.evaluation.agent_loading import registered_agents
from ramp_env.evaluation.runner import run_episodes


def test_registered_as_evidence_oracle() -> None:
    assert registered_agents()["evidence_oracle"] == "agents.evidence_oracle:EvidenceOracleAgent"


@pytest.mark.parametrize("num_masks", [1, 3])
def test_answers_without_searching(make_env, num_masks: int) -> None:
    env = make_env()
    records = list(run_episodes(env, EvidenceOracleAgent(env, span_extractor="rules"), 6, seed=3, num_masks=num_masks))
    for r in records:
        assert r.searches == 0 and r.steps == 1 and not r.truncated and r.format_errors == 0
        assert len(r.predictions) == num_masks


def test_reads_the_evidence_it_is_given(make_env) -> None:
    """Its answer is exactly the shared reader's over the task's evidence passages."""
    env = make_env(num_masks=2)
    agent = EvidenceOracleAgent(env, span_extractor="rules")
    obs, _ = env.reset(seed=8)
    store = env.corpus.store
    pool = new_pool(obs, agent.extractor)
    for ids in env.task.evidence_ids:
        passages = [store.get(store.rowid_of(pid)) for pid in ids[: env.top_k]]
        read(pool, [(p.title, p.text[: env.max_hit_chars]) for p in passages])
    assert agent.act(obs) == answer(pool, 2)


def test_beats_closed_book_on_paired_tasks(make_env) -> None:
    env = make_env()
    oracle, closed = EvidenceOracleAgent(env, span_extractor="rules"), ClosedBookAgent(env=env)
    a = np.array([r.reward for r in run_episodes(env, oracle, 80, seed=77, num_masks=1)])
    b = np.array([r.reward for r in run_episodes(env, closed, 80, seed=77, num_masks=1)])
    assert stats.ttest_rel(a, b, alternative="greater").pvalue < 0.01, (a.mean(), b.mean())


def test_needs_an_env() -> None:
    with pytest.raises(ValueError, match="env="):
        EvidenceOracleAgent(None)  # type: ignore[arg-type]

"""Seeded episode runs."""

from __future__ import annotations

import pytest

from agents.oracle import OracleAgent
from agents.random_agent import RandomAgent
from ramp_env.evaluation.runner import episode_seed, run_episodes


def test_episode_seeds_are_deterministic_and_distinct() -> None:
    seeds = {episode_seed(0, k, e) for k in (1, 2, 3, 4) for e in range(500)}
    assert len(seeds) == 2000
    assert episode_seed(7, 2, 5) == episode_seed(7, 2, 5) != episode_seed(8, 2, 5)


def test_every_agent_sees_the_same_tasks_and_runs_reproduce(make_env) -> None:
    env = make_env()
    random_run = list(run_episodes(env, RandomAgent(), 6, seed=1, num_masks=2, agent_name="random"))
    oracle_run = list(run_episodes(env, OracleAgent(env), 6, seed=1, num_masks=2))
    assert [r.task_id for r in random_run] == [r.task_id for r in oracle_run]
    assert [r.answers for r in random_run] == [r.answers for r in oracle_run]
    assert all(r.num_masks == 2 and len(r.per_mask_scores) == 2 for r in random_run)
    assert all(r.reward == 1.0 and r.searches == 0 and r.steps == 1 for r in oracle_run)
    assert oracle_run[0].agent == "OracleAgent" and random_run[0].agent == "random"
    again = list(run_episodes(make_env(), RandomAgent(seed=99), 6, seed=1, num_masks=2, agent_name="random"))
    def outcomes(records: list) -> list[tuple]:
        return [(r.task_id, r.reward, r.predictions, r.searches) for r in records]

    assert outcomes(again) == outcomes(random_run), "the harness reseeds the agent per episode"


def test_skip_leaves_out_finished_episodes(make_env) -> None:
    env = make_env()
    records = list(run_episodes(env, OracleAgent(env), 5, seed=0, num_masks=1, skip={0, 3}))
    assert [r.episode for r in records] == [1, 2, 4]
    with pytest.raises(ValueError, match="episodes"):
        list(run_episodes(env, OracleAgent(env), -1))


def test_truncated_episodes_are_recorded_with_zero_scores(make_env) -> None:
    class Searcher:
        def act(self, observation):
            return "<search>anything at all</search>"

    env = make_env(max_searches=2)
    (record,) = run_episodes(env, Searcher(), 1, seed=0, num_masks=3)
    assert record.truncated and record.reward <= 0 and record.per_mask_scores == [0.0, 0.0, 0.0]
    assert record.steps == env.max_steps and record.searches == 2

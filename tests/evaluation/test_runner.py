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


class TitleSearchSlots:
    """Searches the title, then answers with the first capitalised word it read; one episode per slot.

    ``submit`` answers from a thread pool after a random delay, so replies come back out of order.
    """

    def __init__(self, concurrency: int = 4, fail_on_title: str | None = None) -> None:
        import concurrent.futures
        import random

        self.concurrency = concurrency
        self.pool = concurrent.futures.ThreadPoolExecutor(concurrency)
        self.rng = random.Random(0)
        self.fail_on_title = fail_on_title
        self.searched: dict[int, bool] = {}
        self.ended: list[int] = []

    @staticmethod
    def decide(observation, searched: bool) -> str:
        if not searched:
            return f"<search>{observation['title']}</search>"
        names = [w for w in observation["results"].split() if w.istitle()] or ["?"]
        return "<answer>" + "\n".join(f"[mask_{i}]: {names[0]}" for i in range(1, observation["num_masks"] + 1)) + "</answer>"

    def act(self, observation) -> str:
        return self.submit(observation, 0).result()

    def submit(self, observation, slot: int):
        import time

        searched = self.searched.get(slot, False)
        self.searched[slot] = True
        delay = self.rng.uniform(0, 0.02)

        def reply() -> str:
            time.sleep(delay)
            if observation["title"] == self.fail_on_title:
                raise ConnectionError("endpoint down")
            return self.decide(observation, searched)

        return self.pool.submit(reply)

    def end_episode(self, slot: int) -> dict:
        self.searched.pop(slot, None)
        self.ended.append(slot)
        return {"slot_was": slot}


def test_episodes_in_flight_give_the_sequential_records(make_env) -> None:
    from ramp_env.evaluation.runner import run_episodes_concurrently

    sequential = list(run_episodes(make_env(), TitleSearchSlots(1), 10, seed=2, num_masks=2, skip={4}))
    agent = TitleSearchSlots(4)
    envs = [make_env() for _ in range(4)]
    concurrent = list(run_episodes_concurrently(envs, agent, 10, seed=2, num_masks=2, skip={4}))

    def outcome(r) -> tuple:
        return (r.episode, r.task_id, r.predictions, r.reward, r.steps, r.searches)

    assert sorted(map(outcome, concurrent)) == sorted(map(outcome, sequential))
    assert sorted(r.episode for r in concurrent) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert len(agent.ended) == 9 and set(agent.ended) == {0, 1, 2, 3}
    assert {r.usage["slot_was"] for r in concurrent} == {0, 1, 2, 3} and sequential[0].usage == {"slot_was": 0}


def test_an_agent_error_stops_the_run(make_env) -> None:
    from ramp_env.evaluation.runner import run_episodes_concurrently

    envs = [make_env() for _ in range(3)]
    first_observation, _ = envs[0].reset(seed=episode_seed(0, 1, 0), options={"num_masks": 1})
    title = first_observation["title"]  # episode 0 fails
    agent = TitleSearchSlots(3, fail_on_title=title)
    with pytest.raises(ConnectionError, match="endpoint down"):
        list(run_episodes_concurrently(envs, agent, 6, seed=0, num_masks=1))


def test_run_settings_and_the_separate_arguments_give_the_same_records(make_env) -> None:
    from ramp_env.evaluation.runner import RunSettings

    settings = RunSettings(4, seed=3, num_masks=2, agent_name="oracle", skip={1})
    env = make_env()
    by_settings = [(r.episode, r.reward, r.agent, r.task_id) for r in run_episodes(env, OracleAgent(env), settings)]
    by_keywords = [(r.episode, r.reward, r.agent, r.task_id)
                   for r in run_episodes(env, OracleAgent(env), episodes=4, seed=3, num_masks=2,
                                         agent_name="oracle", skip={1})]
    assert by_settings == by_keywords and [e for e, *_ in by_settings] == [0, 2, 3]
    with pytest.raises(TypeError):
        list(run_episodes(env, OracleAgent(env), settings, seed=1))  # one or the other, not both

"""RAMP-v0 with ``task_pool``: lazy spans, tasks only from the pool, same tasks as eager preparation."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from gymnasium.utils.env_checker import check_env

from ramp_env.masking.pool import TaskPool


@pytest.fixture()
def private_cache(tmp_path: Path) -> str:
    return str(tmp_path / "cache")  # lazy span files of their own: a shared cache would hide extraction


def test_tasks_come_from_the_pool_and_spans_are_extracted_on_draw(make_env, private_cache: str) -> None:
    env = make_env(task_pool=40, require_evidence="none", cache_dir=private_cache)
    assert not (env.corpus.directory / "spans-rules-v1.sqlite").exists()  # nothing eager
    pool = TaskPool(40, len(env.corpus.store))
    ids = set()
    for seed in range(30):
        env.reset(seed=seed)
        row = env.corpus.store.rowid_of(env.task.passage_id)
        assert row in pool
        ids.add(env.task.passage_id)
    assert len(ids) > 10
    assert 0 < env.spans.extracted <= 40 and env.spans.cached_rows() == env.spans.extracted


def test_same_seed_same_task_and_spans_equal_eager_spans(make_env, private_cache: str) -> None:
    lazy_a = make_env(task_pool=0.05, require_evidence="none", num_masks=2, cache_dir=private_cache)
    lazy_b = make_env(task_pool=0.05, require_evidence="none", num_masks=2, cache_dir=private_cache)
    eager = make_env(require_evidence="none", num_masks=2)
    for seed in range(8):
        a, _ = lazy_a.reset(seed=seed)
        b, _ = lazy_b.reset(seed=seed)
        assert a == b and lazy_a.task == lazy_b.task
        # laziness changes when spans are computed, never which: the eager table agrees
        row = lazy_a.corpus.store.rowid_of(lazy_a.task.passage_id)
        assert lazy_a.spans.get(row) == eager.spans.get(row)
        eager.reset(seed=seed, options={"passage_id": lazy_a.task.passage_id})
        assert eager.task.text == lazy_a.task.text


def test_task_pool_env_passes_check_env_and_pickles(make_env, private_cache: str) -> None:
    env = make_env(task_pool=60, require_evidence="none", num_masks=1, cache_dir=private_cache)
    check_env(env)
    clone = pickle.loads(pickle.dumps(env))
    obs, _ = clone.reset(seed=3)
    again, _ = env.reset(seed=3)
    assert obs == again


def test_task_pool_with_evidence_required(make_env, private_cache: str) -> None:
    env = make_env(task_pool=0.2, num_masks=1, cache_dir=private_cache)  # require_evidence defaults on
    env.reset(seed=0)
    assert env.corpus.store.rowid_of(env.task.passage_id) in TaskPool(0.2, len(env.corpus.store))


@pytest.mark.parametrize("bad", [0, 2.0, "all", True])
def test_bad_task_pool_fails_before_preparing_anything(make_env, bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="task_pool"):
        make_env(task_pool=bad)

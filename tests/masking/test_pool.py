"""Task pools: sizes, validation, determinism, and draws that stay in the pool."""

from __future__ import annotations

import numpy as np
import pytest

from ramp_env.masking.pool import TaskPool, pool_size


@pytest.mark.parametrize(
    ("spec", "size"), [(1, 1), (250, 250), (5000, 1000), (0.25, 250), (1.0, 1000), (1e-9, 1)]
)
def test_pool_size_from_count_or_fraction(spec: float, size: int) -> None:
    assert pool_size(spec, 1000) == size
    assert len(TaskPool(spec, 1000)) == size


@pytest.mark.parametrize("spec", [0, -3, 0.0, 1.5, -0.1, float("nan")])
def test_bad_task_pool_is_a_clear_error(spec: float) -> None:
    with pytest.raises(ValueError, match="task_pool"):
        pool_size(spec, 1000)


@pytest.mark.parametrize("spec", [True, "0.5", None, [10]])
def test_task_pool_of_another_type_is_a_type_error(spec: object) -> None:
    with pytest.raises(TypeError, match="task_pool must be an int"):
        pool_size(spec, 1000)  # type: ignore[arg-type]


def test_pool_is_the_same_in_every_process_and_independent_of_env_seeds() -> None:
    a, b = TaskPool(300, 10_000), TaskPool(300, 10_000)
    assert a.rows is not None and np.array_equal(a.rows, b.rows)
    assert np.all(np.diff(a.rows) > 0) and a.rows[0] >= 1 and a.rows[-1] <= 10_000
    assert not np.array_equal(a.rows, TaskPool(300, 10_000, seed=1).rows)


def test_draws_stay_in_the_pool_and_cover_it() -> None:
    pool = TaskPool(50, 10_000)
    rng = np.random.default_rng(0)
    drawn = {pool.draw(rng) for _ in range(3000)}
    assert drawn == set(pool.rows.tolist())
    assert all(row in pool for row in drawn)
    assert 10_001 not in pool and 0 not in pool


def test_whole_corpus_pool_keeps_no_array() -> None:
    pool = TaskPool(1.0, 21_000_000)
    assert pool.rows is None
    rng = np.random.default_rng(0)
    assert all(1 <= pool.draw(rng) <= 21_000_000 for _ in range(100))
    assert 21_000_000 in pool and 21_000_001 not in pool

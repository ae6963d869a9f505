"""The small-pool warning: a mask count whose eligible passages are too few to draw without repeats."""

from __future__ import annotations

import warnings

import pytest

from ramp_env.masking.pool_monitor import PoolMonitor, SmallPoolWarning, expected_distinct


def test_expected_distinct_matches_the_birthday_formula() -> None:
    assert expected_distinct(300, 100) == pytest.approx(300 * (1 - (299 / 300) ** 100))
    assert 80 < expected_distinct(300, 100) < 90 and expected_distinct(10_000, 100) > 99
    assert expected_distinct(0, 100) == 0.0


def test_warns_once_when_the_estimated_pool_is_small() -> None:
    monitor = PoolMonitor(check_after=5)
    for _ in range(4):
        monitor.record(4, draws=20, candidates=2000)  # 1 kept in 20 draws of 2,000 rows: ~100 passages
    with pytest.warns(SmallPoolWarning, match=r"num_masks=4: about 100 distinct passages"):
        monitor.record(4, draws=20, candidates=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.record(4, draws=20, candidates=2000)  # once per mask count


def test_no_warning_for_a_large_pool_or_before_the_estimate_is_ready() -> None:
    monitor = PoolMonitor(check_after=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            monitor.record(1, draws=50, candidates=2000)  # not yet 5 tasks: no estimate
        for _ in range(10):
            monitor.record(2, draws=2, candidates=2000)  # ~1,000 passages


def test_too_few_candidates_warn_at_the_first_draw() -> None:
    with pytest.warns(SmallPoolWarning, match="only 40 passages have 3 maskable spans"):
        PoolMonitor().record(3, draws=1, candidates=40)


def test_the_env_warns_on_a_small_corpus(make_env) -> None:
    env = make_env(num_masks=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallPoolWarning)
        for seed in range(6):
            env.reset(seed=seed)
    assert any(issubclass(w.category, SmallPoolWarning) and "num_masks=4" in str(w.message) for w in caught)

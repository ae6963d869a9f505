"""The small-pool warning: a mask count whose eligible passages are too few to draw without repeats."""

from __future__ import annotations

import random
import warnings

import pytest

from ramp_env.masking.pool_monitor import PoolMonitor, SmallPoolWarning, expected_distinct


def test_expected_distinct_matches_the_birthday_formula() -> None:
    assert expected_distinct(300, 100) == pytest.approx(300 * (1 - (299 / 300) ** 100))
    assert 80 < expected_distinct(300, 100) < 90 and expected_distinct(10_000, 100) > 99
    assert expected_distinct(0, 100) == 0.0


def test_the_estimate_is_a_lower_bound_when_passages_are_kept_only_sometimes() -> None:
    """Keep probabilities p_i <= 1 summing to S: the draws see at least expected_distinct(S) passages."""
    rng = random.Random(0)
    for _ in range(200):
        keep = [rng.choice([1.0, rng.random(), 4.0 ** -rng.randint(1, 3)]) for _ in range(rng.randint(5, 400))]
        total = sum(keep)  # what the monitor estimates: candidates * accepted / drawn
        exact = sum(1 - (1 - p / total) ** 100 for p in keep)  # distinct passages in 100 kept draws
        assert exact >= expected_distinct(total, 100) - 1e-9
    uniform = [1.0] * 109  # every passage kept always: the figure is exact
    assert sum(1 - (1 - 1 / 109) ** 100 for _ in uniform) == pytest.approx(expected_distinct(109, 100))


def test_warns_once_when_the_estimated_pool_is_small() -> None:
    monitor = PoolMonitor(check_after=5)
    for _ in range(4):
        monitor.record(4, draws=20, candidates=2000)  # 1 kept in 20 draws of 2,000 rows: ~100 passages
    with pytest.warns(SmallPoolWarning, match=r"num_masks=4: about 100 distinct passages.*or more distinct passages"):
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

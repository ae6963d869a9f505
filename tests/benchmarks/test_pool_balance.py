"""benchmarks/pool_balance.py: the strategy specs it accepts."""

from __future__ import annotations

import pytest

from ramp_env.masking.strategies import TypeBalancedMaskStrategy


def test_a_balanced_spec_with_a_penalty_builds_that_strategy() -> None:
    from pool_balance import mask_strategy

    strategy = mask_strategy("balanced:8")
    assert isinstance(strategy, TypeBalancedMaskStrategy) and strategy.repeat_penalty == 8.0
    assert mask_strategy("random") == "random" and mask_strategy("balanced") == "balanced"


@pytest.mark.parametrize(("spec", "message"), [("random:8", "only 'balanced'"), ("balanced:eight", "balanced:eight"),
                                               ("balanced:0.5", "repeat_penalty must be >= 1"),
                                               ("balanced:nan", "repeat_penalty must be >= 1")])
def test_a_bad_spec_names_itself_before_any_draw(spec: str, message: str) -> None:
    from pool_balance import main

    with pytest.raises(SystemExit, match=message):
        main(["--strategies", "balanced", spec, "--out", "/nonexistent/never-written.json"])

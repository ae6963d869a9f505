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
def test_a_bad_spec_names_itself_before_any_draw(spec: str, message: str, tmp_path) -> None:
    from pool_balance import main

    with pytest.raises(SystemExit, match=message):
        main(["--strategies", "balanced", spec, "--out", str(tmp_path / "never-written.json")])
    assert not (tmp_path / "never-written.json").exists()


def test_a_missing_output_folder_stops_before_any_draw(tmp_path) -> None:
    from pool_balance import main

    with pytest.raises(SystemExit, match="does not exist"):
        main(["--out", str(tmp_path / "no" / "pool.json")])


def test_by_source_splits_the_draws_by_passage_id_prefix() -> None:
    from pool_balance import by_source

    passages = ["wiki:A#0", "factbook:al:Intro", "wiki:A#0", "enwiki:B#1", "factbook:al:Intro"]
    places = [2, 0, 1, 4, 1]  # PLACE masks per task, at 4 masks
    out = by_source(passages, places, 4)
    assert out["wikipedia"] == {"tasks": 3, "distinct_passages": 2, "place_share": round(7 / 12, 4),
                           "distinct_per_100_tasks": []}  # fewer than 100 tasks: no full run
    assert out["factbook"]["tasks"] == 2 and out["factbook"]["distinct_passages"] == 1
    many = [f"wiki:P{i % 60}#0" for i in range(250)]
    assert by_source(many, [0] * 250, 1)["wikipedia"]["distinct_per_100_tasks"] == [60, 60]

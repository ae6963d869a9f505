"""Leaderboard statistics, table and plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from ramp_env.evaluation.leaderboard import format_table, mean_ci95, plot_scores, summarize
from ramp_env.evaluation.records import EpisodeRecord


def rec(agent: str, k: int, reward: float, scores: list[float], searches: int = 1) -> EpisodeRecord:
    return EpisodeRecord(
        agent=agent, env_id="RAMP-v0", env_config="{}", num_masks=k, seed=0, episode=0, reward=reward,
        per_mask_scores=scores, searches=searches, steps=searches + 1, seconds=0.5,
    )


def test_mean_ci95_uses_student_t() -> None:
    mean, half = mean_ci95([0.0, 1.0])
    assert mean == 0.5 and half == pytest.approx(12.706 * 0.70711 / 1.41421, rel=1e-3)
    assert mean_ci95([0.3]) == (0.3, 0.0)
    mean, half = mean_ci95([1.0] * 50)
    assert (mean, half) == (1.0, 0.0)


def test_summarize_groups_by_agent_and_mask_count() -> None:
    records = [
        rec("a", 1, 1.0, [1.0], 2), rec("a", 1, 0.0, [0.0], 0),
        rec("a", 2, 0.75, [1.0, 0.5]), rec("b", 1, 0.5, [0.5]),
    ]
    rows = {(r.agent, r.num_masks): r for r in summarize(records)}
    a1 = rows[("a", 1)]
    assert a1.episodes == 2 and a1.mean_reward == 0.5 and a1.searches == 1.0
    assert a1.steps_per_second == pytest.approx(4 / 1.0)
    a2 = rows[("a", 2)]
    assert a2.mask_score == 0.75 and a2.mask_accuracy == 0.5
    ordered = summarize(records)
    assert [(r.agent, r.num_masks) for r in ordered] == [("a", 1), ("b", 1), ("a", 2)]


def test_table_and_plot(tmp_path: Path) -> None:
    rows = summarize([rec("bm25", k, r, [r] * k) for k in (1, 2) for r in (0.2, 0.4)])
    table = format_table(rows, legend=False)
    lines = table.splitlines()
    assert lines[0].startswith("| agent") and "reward (95% CI)" in lines[0] and "steps/s" in lines[0]
    assert len(lines) == 4 and "0.300 ±" in lines[2]
    path = tmp_path / "plot.png"
    plot_scores(rows, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".plot.png.tmp-*"))

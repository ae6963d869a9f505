"""``ramp-env collect``: trajectories from any registered agent, seeded and filterable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.cli import main
from ramp_env.evaluation.runner import episode_seed
from ramp_env.trajectories import read_trajectories


def collect(cache_dir: Path, wiki_sample: Path, out: Path, *extra: str) -> int:
    return main([
        "collect", "--agent", "bm25", "--corpus", str(wiki_sample), "--cache-dir", str(cache_dir),
        "--span-extractor", "rules", "--retriever", "rank_bm25", "--no-progress", "--out", str(out), *extra,
    ])


def test_collect_writes_seeded_trajectories(cache_dir: Path, wiki_sample: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "traj.jsonl"
    assert collect(cache_dir, wiki_sample, out, "--episodes", "3", "--num-masks", "1", "2", "--seed", "5") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["episodes"] == 6 and summary["kept"] == 6
    trajectories = read_trajectories(out)
    assert [t.num_masks for t in trajectories] == [1, 1, 1, 2, 2, 2]
    assert [t.seed for t in trajectories] == [episode_seed(5, k, i) for k in (1, 2) for i in range(3)]
    assert all(t.agent == "bm25" and t.messages[2]["role"] == "assistant" and t.answers for t in trajectories)
    # same seed, same episodes
    again = tmp_path / "again.jsonl"
    collect(cache_dir, wiki_sample, again, "--episodes", "3", "--num-masks", "1", "2", "--seed", "5")
    assert again.read_text() == out.read_text()


def test_min_score_keeps_only_good_episodes(cache_dir: Path, wiki_sample: Path, tmp_path: Path, capsys) -> None:
    everything, good = tmp_path / "all.jsonl", tmp_path / "good.jsonl"
    assert collect(cache_dir, wiki_sample, everything, "--episodes", "8", "--num-masks", "1") == 0
    assert collect(cache_dir, wiki_sample, good, "--episodes", "8", "--num-masks", "1", "--min-score", "0.5") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = [t for t in read_trajectories(everything) if t.score >= 0.5 and t.terminated]
    assert summary["episodes"] == 8 and summary["kept"] == len(expected)
    assert read_trajectories(good) == expected
    assert 0 < len(expected) < 8  # the filter had something to keep and something to drop


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--episodes", "0"), "--episodes"),
        (("--min-score", "2"), "--min-score"),
        (("--agent", "nope"), "unknown agent"),
    ],
)
def test_bad_arguments_are_reported(cache_dir, wiki_sample, tmp_path, capsys, args, message) -> None:
    assert collect(cache_dir, wiki_sample, tmp_path / "x.jsonl", *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()

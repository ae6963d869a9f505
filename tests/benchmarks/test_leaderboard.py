"""benchmarks/leaderboard.py: ``--settings`` runs only the settings it names, and says so in its record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "benchmarks" / "leaderboard.py"), "--episodes", "2", "--masks", "1",
               "--agents", "random", "oracle", "--sample", "5", "--work-dir", str(tmp_path / "work"),
               "--out", str(tmp_path / "leaderboard.json"), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_settings_runs_only_the_named_settings(tmp_path: Path) -> None:
    """Uses $RAMP_ENV_CACHE's default corpus (the leaderboard's corpus; prepared on first use)."""
    done = _run(tmp_path, "--settings", "evidence_off")
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert list(record["settings"]) == ["evidence_off"]  # evidence_on and the slow "fact" were not played
    assert "--settings evidence_off" in record["command"]  # the record says how to rerun it
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["evidence_off"]


def test_an_unknown_setting_is_refused_before_any_work(tmp_path: Path) -> None:
    done = _run(tmp_path, "--settings", "evidence_sometimes")
    assert done.returncode == 2
    assert "invalid choice: 'evidence_sometimes'" in done.stderr
    assert not (tmp_path / "leaderboard.json").exists() and not (tmp_path / "work").exists()


def test_render_takes_any_subset_of_the_settings() -> None:
    """--render on a file of one setting (the "fact" run goes alone: its first evidence checks take long)."""
    from leaderboard import render_markdown

    row = {"agent": "bm25", "num_masks": 1, "mean_reward": 0.43, "ci95": 0.098, "mask_accuracy": 0.42, "searches": 2.79}
    gold = {"answerable": 1.0, "masks": 100, "answerable_ci95": [0.96, 1.0]}
    text = render_markdown({"reward": "penalized_recall",
                            "settings": {"evidence_fact": {"leaderboard": [row], "gold_elsewhere": gold}}})
    assert "| bm25 | 1 | - | - | 2.79 | 0.430 ± 0.098 | 0.420 | - | - |" in text
    assert "evidence_fact: gold in a passage other than the source" in text

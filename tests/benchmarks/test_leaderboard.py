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

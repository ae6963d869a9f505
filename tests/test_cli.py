"""The command line, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, WIKI_SAMPLE


def run(*args: str, cache: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ramp_env", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={"RAMP_ENV_CACHE": str(cache), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )


def test_build_index_then_sample_is_reproducible(tmp_path: Path) -> None:
    built = run("build-index", "--corpus", str(FIXTURES / "tiny_dpr.tsv"), "--span-extractor", "rules", cache=tmp_path)
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout.strip().splitlines()[-1])
    assert summary["passages"] == 5 and Path(summary["directory"], "index-tantivy-v1").is_dir()
    args = ("sample", "--corpus", str(WIKI_SAMPLE), "--span-extractor", "rules", "-n", "4", "--num-masks", "2")
    first = run(*args, "--seed", "3", cache=tmp_path)
    assert first.returncode == 0, first.stderr
    tasks = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(tasks) == 4 and all(t["masked_text"].count("[mask_") == 2 for t in tasks)
    assert run(*args, "--seed", "3", cache=tmp_path).stdout == first.stdout
    assert run(*args, "--seed", "4", cache=tmp_path).stdout != first.stdout


def test_play_reads_typed_commands(tmp_path: Path) -> None:
    result = run(
        "play", "--corpus", str(WIKI_SAMPLE), "--span-extractor", "rules", "--num-masks", "1", "--seed", "0",
        cache=tmp_path, stdin="s Aristotle\nnot an action\na Plato\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Search 1/4" in result.stdout and "Invalid action" in result.stdout
    assert "reward" in result.stdout and "gold:" in result.stdout


def test_errors_are_reported_cleanly(tmp_path: Path) -> None:
    result = run("sample", "--corpus", str(tmp_path / "missing.jsonl"), cache=tmp_path)
    assert result.returncode == 2 and "corpus file not found" in result.stderr and "Traceback" not in result.stderr

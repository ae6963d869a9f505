"""The command line fails early and clearly: output paths are checked before any episode is
played, and a user's mistake or an operating-system refusal is one line naming the problem
(exit status 1 or 2), not a traceback (bugs keep theirs: tests/cli/test_main.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ramp_env.cli.collect
import ramp_env.cli.evaluate
from ramp_env.cli import TRACEBACK_ENV_VAR, main


@pytest.fixture()
def corpus_args(cache_dir: Path, wiki_sample: Path) -> list[str]:
    return ["--corpus", str(wiki_sample), "--cache-dir", str(cache_dir), "--span-extractor", "rules"]


@pytest.fixture()
def no_episodes(monkeypatch) -> list[str]:
    """Records any attempt to play episodes (there must be none when --out is unusable)."""
    played: list[str] = []
    monkeypatch.setattr(ramp_env.cli.collect, "collect", lambda *a, **k: played.append("collect") or ([], 0))
    monkeypatch.setattr(ramp_env.cli.evaluate, "evaluate", lambda *a, **k: played.append("evaluate"))
    return played


def bad_out_paths(tmp_path: Path) -> dict[str, Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    return {"directory": tmp_path, "under-a-file": a_file / "out.jsonl"}


@pytest.mark.parametrize("case", ["directory", "under-a-file"])
def test_collect_checks_out_before_playing(tmp_path: Path, corpus_args, no_episodes, capsys, case: str) -> None:
    out = bad_out_paths(tmp_path)[case]
    status = main(["collect", "--agent", "random", "--episodes", "3", "--no-progress", "--out", str(out),
                   *corpus_args])
    err = capsys.readouterr().err
    assert status == 2 and no_episodes == []
    assert f"--out {out}" in err and ("is a directory" in err or "is a file, not a directory" in err)
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["file", "under-a-file"])
def test_evaluate_checks_out_before_playing(tmp_path: Path, corpus_args, no_episodes, capsys, case: str) -> None:
    a_file = tmp_path / "results"
    a_file.write_text("a file where a directory should be")
    out = a_file if case == "file" else a_file / "run1"
    status = main(["evaluate", "--agent", "random", "--episodes", "2", "--no-progress", "--out", str(out),
                   *corpus_args])
    err = capsys.readouterr().err
    assert status == 2 and no_episodes == []
    assert f"--out {out}" in err and "is a file" in err and "Traceback" not in err


def test_collect_writes_when_out_is_fine(tmp_path: Path, corpus_args, capsys) -> None:
    out = tmp_path / "new" / "dir" / "traj.jsonl"  # missing parents are created
    assert main(["collect", "--agent", "random", "--episodes", "2", "--no-progress", "--out", str(out),
                 *corpus_args]) == 0
    assert out.is_file() and len(out.read_text().splitlines()) == 2


def test_os_errors_are_one_line(tmp_path: Path, wiki_sample: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv(TRACEBACK_ENV_VAR, raising=False)
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("x")  # the cache root cannot be created: an OSError, not a ValueError
    status = main(["build-index", "--corpus", str(wiki_sample), "--cache-dir", str(not_a_dir / "sub")])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    assert err.startswith("ramp-env build-index: error: ") and str(not_a_dir) in err
    assert TRACEBACK_ENV_VAR in err  # says how to get the traceback


def test_the_traceback_is_shown_on_request(tmp_path: Path, wiki_sample: Path, monkeypatch) -> None:
    monkeypatch.setenv(TRACEBACK_ENV_VAR, "1")
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("x")
    with pytest.raises(OSError):
        main(["build-index", "--corpus", str(wiki_sample), "--cache-dir", str(not_a_dir / "sub")])

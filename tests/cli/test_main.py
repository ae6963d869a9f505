"""``ramp_env.cli.main`` tells the user's mistakes from bugs: a ``RampEnvError`` (or a missing
file) is one line with exit status 2, anything else keeps its traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ramp_env.cli.sample
from ramp_env.cli import TRACEBACK_ENV_VAR, main
from ramp_env.errors import InvalidOptionError


def raising(exc: BaseException):
    def run(args) -> int:
        raise exc

    return run


def test_a_package_error_is_one_line(monkeypatch, capsys) -> None:
    monkeypatch.delenv(TRACEBACK_ENV_VAR, raising=False)
    monkeypatch.setattr(ramp_env.cli.sample, "run", raising(InvalidOptionError("--num-tasks must be >= 0")))
    assert main(["sample"]) == 2
    assert capsys.readouterr().err == "ramp-env sample: error: --num-tasks must be >= 0\n"


@pytest.mark.parametrize("exc", [FileNotFoundError(2, "No such file or directory", "x.jsonl"),
                                 PermissionError(13, "Permission denied", "x.jsonl")])
def test_a_missing_or_unreadable_file_is_one_line(monkeypatch, capsys, exc: OSError) -> None:
    monkeypatch.delenv(TRACEBACK_ENV_VAR, raising=False)
    monkeypatch.setattr(ramp_env.cli.sample, "run", raising(exc))
    assert main(["sample"]) == 2
    assert capsys.readouterr().err == f"ramp-env sample: error: {exc}\n" and "x.jsonl" in str(exc)


@pytest.mark.parametrize("bug", [KeyError("slot"), ValueError("a plain ValueError from our own code"), TypeError("x")])
def test_a_bug_propagates(monkeypatch, bug: Exception) -> None:
    monkeypatch.setattr(ramp_env.cli.sample, "run", raising(bug))
    with pytest.raises(type(bug)):
        main(["sample"])


def test_a_bug_shows_its_traceback_and_fails(tmp_path: Path) -> None:
    code = ("import ramp_env.cli.sample as s\n"
            "def run(args):\n    return {}['no such key']\n"
            "s.run = run\n"
            "from ramp_env.cli import main\nraise SystemExit(main(['sample']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                          env={"RAMP_ENV_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr and "KeyError: 'no such key'" in done.stderr
    assert "in run" in done.stderr  # the frame of the bug is shown


def test_the_traceback_of_a_package_error_on_request(monkeypatch) -> None:
    monkeypatch.setenv(TRACEBACK_ENV_VAR, "1")
    monkeypatch.setattr(ramp_env.cli.sample, "run", raising(InvalidOptionError("bad")))
    with pytest.raises(InvalidOptionError):
        main(["sample"])

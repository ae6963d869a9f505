"""Every field of every script's ``Args`` has a help text, and ``--help`` shows it.

The scripts are the examples (and the benchmarks with an ``Args`` dataclass): a user
reads their options in ``--help``, so a field documented only in a source comment is
hidden. Each script's own parser runs on ``--help`` in this process (its heavy imports
are shared across scripts, so the check takes seconds, not a minute per script).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(
    path for folder in ("examples", "benchmarks") for path in (ROOT / folder).glob("*.py")
    if re.search(r"^class Args\b", path.read_text(encoding="utf-8"), re.MULTILINE)
)


def load(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    name = f"_args_help_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses resolve string annotations through it
    monkeypatch.syspath_prepend(str(path.parent))  # benchmarks import their folder's helpers by name
    try:
        with mock.patch.dict(os.environ):  # scripts may set variables (HF_HUB_OFFLINE) for their own run
            spec.loader.exec_module(module)
    except ModuleNotFoundError as error:
        top = (error.name or "").partition(".")[0]
        if top in ("ramp_env", "agents") or (path.parent / f"{top}.py").exists():
            raise  # the project's own module: a bug, not a missing extra
        pytest.skip(f"{path.name}: optional dependency {top} not installed")
    return module


def squeezed(text: str) -> str:
    """``text`` without white space: argparse re-wraps help texts (and breaks lines at hyphens)."""
    return re.sub(r"\s+", "", text)


def test_the_scripts_are_found() -> None:
    names = {path.name for path in SCRIPTS}
    assert {"dapo_smollm2.py", "downstream_qa.py", "fit_candidate_scorer.py", "grpo_trl.py", "sft_smollm2.py",
            "train_ppo.py"} <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_args_field_and_its_help_show_in_help(path: Path, monkeypatch, capsys) -> None:
    module = load(path, monkeypatch)
    fields = dataclasses.fields(module.Args)
    undocumented = [f.name for f in fields if not f.metadata.get("help")]
    assert not undocumented, f"{path.name}: Args fields without metadata={{'help': ...}}: {undocumented}"
    monkeypatch.setattr(sys, "argv", [path.name, "--help"])
    with pytest.raises(SystemExit) as stopped:
        module.parse_args()
    assert stopped.value.code == 0
    shown = capsys.readouterr().out
    for f in fields:
        names = {f.name, f.name.replace("_", "-")}
        flags = {f"--{n}" for n in names} | {f"--no-{n}" for n in names if f.default is True}  # a negated switch
        assert any(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", shown) for flag in flags), (
            f"{path.name}: --help has no {sorted(flags)}"
        )
        assert squeezed(f.metadata["help"]) in squeezed(shown), f"{path.name}: --help lacks the help of {f.name}"

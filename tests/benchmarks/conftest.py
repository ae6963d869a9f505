"""The benchmark scripts import their folder's modules by name (``from _common import ...``, ``import
cpu_learning``): that folder is first on ``sys.path`` when a script runs, and here for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(autouse=True)
def benchmarks_on_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))

"""Loads the exercise a checker grades: yours (this folder) or another folder's copy.

    pytest exercises/test_ex1_query_writer.py                        # grades exercises/ex1_query_writer.py
    RAMP_EXERCISE_DIR=exercises/solutions pytest exercises/...        # grades the instructor's solution

The checkers read files by path, so nothing is edited in place to grade another copy.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).parent
EXERCISE_DIR_VAR = "RAMP_EXERCISE_DIR"


def load_exercise(name: str) -> ModuleType:
    """Import ``<exercise dir>/<name>.py`` under a private module name."""
    folder = Path(os.environ.get(EXERCISE_DIR_VAR) or HERE)
    path = (folder / f"{name}.py").resolve()
    if not path.is_file():
        raise FileNotFoundError(f"exercise file not found: {path} (set {EXERCISE_DIR_VAR} to the folder holding it)")
    spec = importlib.util.spec_from_file_location(f"_exercise_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def exercise():
    """``exercise(name)``: the graded module (see :func:`load_exercise`)."""
    return load_exercise


@pytest.fixture(scope="session")
def lite_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The cache the checkers' envs use ($RAMP_ENV_CACHE if set, so a class shares one)."""
    return os.environ.get("RAMP_ENV_CACHE") or str(tmp_path_factory.mktemp("ramp-cache"))

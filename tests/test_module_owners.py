"""Moved modules: nothing in the project imports their deprecated old paths, and no module
imports another package's private name."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_PATHS = ("ramp_env.wrappers.candidates", "ramp_env.rewards.normalize")
# the modules that used to import the old paths
IMPORTERS = (
    "ramp_env.rewards", "ramp_env.masking", "ramp_env.masking.fact_check", "ramp_env.masking.evidence",
    "ramp_env.wrappers.candidate_actions", "ramp_env.evaluation.difficulty", "ramp_env.corpus.lite",
    "ramp_env.rewards.judges.base", "agents.bm25_heuristic", "agents.closed_book", "agents.oracle",
    "agents.random_agent", "agents.reading", "agents.evidence_oracle",
)


def test_no_project_module_imports_a_deprecated_path() -> None:
    probe = (
        f"import importlib, json, sys\nfor m in {IMPORTERS!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {OLD_PATHS!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def private_imports(root: Path, base: Path = ROOT) -> list[str]:
    """``from ramp_env.x import _name`` / ``from agents.x import _name`` in the files under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("ramp_env", "agents"):
                found += [f"{path.relative_to(base)}:{node.lineno} {node.module}.{alias.name}"
                          for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


def test_no_package_imports_a_private_name() -> None:
    # tests may reach into a module's private parts; the packages, examples and benchmarks may not
    assert [hit for folder in ("ramp_env", "agents", "examples", "benchmarks", "integrations")
            for hit in private_imports(ROOT / folder)] == []


def test_the_private_import_check_sees_one(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("from ramp_env.cache import _secret, public\n", encoding="utf-8")
    assert private_imports(tmp_path, base=tmp_path) == ["m.py:1 ramp_env.cache._secret"]


def deprecated_imports(root: Path, base: Path = ROOT) -> list[str]:
    """Imports of an :data:`OLD_PATHS` module in the files under ``root`` (read, not imported:
    a module missing from :data:`IMPORTERS` is found too)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found += [f"{path.relative_to(base)}:{node.lineno} {n}" for n in names if n in OLD_PATHS]
    return found


def test_no_package_imports_a_deprecated_path_in_its_source() -> None:
    skip = {f"{p.replace('.', '/')}.py" for p in OLD_PATHS}  # the shims themselves
    assert [hit for folder in ("ramp_env", "agents", "examples", "benchmarks", "integrations")
            for hit in deprecated_imports(ROOT / folder) if hit.split(":")[0] not in skip] == []


def test_the_deprecated_import_check_sees_one(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("from ramp_env.rewards.normalize import x\nfrom ramp_env.rewards import normalize\n",
                                   encoding="utf-8")
    assert deprecated_imports(tmp_path, base=tmp_path) == ["m.py:1 ramp_env.rewards.normalize",
                                                           "m.py:2 ramp_env.rewards.normalize"]

"""Library code never changes process-wide state: environment variables (inherited by child
processes and read by ``huggingface_hub``), logging configuration, global seeds.

A static scan of ``ramp_env/`` plus a real check: loading the offline models in a
process that does not set ``HF_HUB_OFFLINE`` works (``local_files_only=True`` per
call) and leaves the environment as it was.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

ENV_MUTATORS = {"setdefault", "update", "pop", "popitem", "clear", "__setitem__", "__delitem__"}
GLOBAL_CALLS = {("os", "putenv"), ("os", "unsetenv"), ("logging", "basicConfig"), ("random", "seed"),
                ("torch", "manual_seed"), ("warnings", "simplefilter"), ("warnings", "filterwarnings")}


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name) \
        and node.value.id == "os"


def process_wide_changes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and _is_environ(target.value):
                    found.append((node.lineno, "os.environ[...] assignment/deletion"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if func.attr in ENV_MUTATORS and _is_environ(func.value):
                found.append((node.lineno, f"os.environ.{func.attr}()"))
            if isinstance(func.value, ast.Name) and (func.value.id, func.attr) in GLOBAL_CALLS:
                found.append((node.lineno, f"{func.value.id}.{func.attr}()"))
            if func.attr == "seed" and isinstance(func.value, ast.Attribute) and func.value.attr == "random":
                found.append((node.lineno, "np.random.seed()"))
    return found


def test_the_package_changes_no_process_wide_state() -> None:
    offenders = []
    for path in sorted((REPO / "ramp_env").rglob("*.py")):
        for line, what in process_wide_changes(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(REPO)}:{line}: {what}")
    assert offenders == []


@pytest.mark.parametrize(
    "source, flagged",
    [("import os\nos.environ.setdefault('HF_HUB_OFFLINE', '1')", True), ("import os\nos.environ['A'] = 'b'", True),
     ("import os\ndel os.environ['A']", True), ("import logging\nlogging.basicConfig()", True),
     ("import numpy as np\nnp.random.seed(0)", True), ("import os\nos.environ.get('A')", False),
     ("import numpy as np\nnp.random.default_rng(0)", False), ("import os\nenv = {**os.environ, 'A': 'b'}", False)],
)
def test_the_scan_recognises_process_wide_changes(source: str, flagged: bool) -> None:
    assert bool(process_wide_changes(ast.parse(source))) == flagged


CHILD = """
import json, os
import huggingface_hub.constants
from ramp_env.models import load_embedding_model, load_tokenizer
tokenizer = load_tokenizer()
embedder = load_embedding_model()
vector = embedder.encode(["offline"])
print(json.dumps({"env": os.environ.get("HF_HUB_OFFLINE"), "hub_offline": huggingface_hub.constants.HF_HUB_OFFLINE,
                  "vocab": len(tokenizer), "dim": int(vector.shape[1])}))
"""


@pytest.mark.slow
def test_offline_models_load_without_touching_the_environment(smollm2_tokenizer) -> None:
    # smollm2_tokenizer made sure the GGUF export exists in the cache the child will read
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", CHILD], check=False, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["env"] is None and seen["hub_offline"] is False  # the process stays as online as it started
    assert seen["vocab"] == len(smollm2_tokenizer) and seen["dim"] == 384

"""Nothing in the package or the agents unpickles, evals or otherwise executes what a user hands in.

A static scan of the source: calls that run code from data (``pickle.load``,
``eval``, ``exec``, ``marshal``, ``shelve``, ``yaml.load`` without a safe loader,
``torch.load`` without ``weights_only=True``, ``numpy.load(allow_pickle=True)``,
``joblib``/``pandas.read_pickle``) fail the test with their file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCANNED = ("ramp_env", "agents", "benchmarks", "examples")

ALWAYS_UNSAFE = {
    ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("cPickle", "load"), ("cPickle", "loads"),
    ("dill", "load"), ("dill", "loads"), ("cloudpickle", "load"), ("cloudpickle", "loads"),
    ("marshal", "load"), ("marshal", "loads"), ("shelve", "open"), ("joblib", "load"), ("pd", "read_pickle"),
    ("pandas", "read_pickle"), ("torch", "load_state_dict_from_url"),
}
UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__"}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_calls(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in UNSAFE_BUILTINS:
            found.append((node.lineno, f"{func.id}()"))
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            continue
        owner, attr = func.value.id, func.attr
        if (owner, attr) in ALWAYS_UNSAFE:
            found.append((node.lineno, f"{owner}.{attr}()"))
        elif (owner, attr) == ("torch", "load"):
            weights_only = _keyword(node, "weights_only")
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                found.append((node.lineno, "torch.load() without weights_only=True"))
        elif (owner, attr) == ("np", "load") or (owner, attr) == ("numpy", "load"):
            allow = _keyword(node, "allow_pickle")
            if isinstance(allow, ast.Constant) and allow.value is True or (allow is not None and not isinstance(allow, ast.Constant)):
                found.append((node.lineno, "numpy.load(allow_pickle=...)"))
        elif (owner, attr) == ("yaml", "load"):
            loader = _keyword(node, "Loader")
            if not (isinstance(loader, ast.Attribute) and loader.attr in ("SafeLoader", "CSafeLoader")):
                found.append((node.lineno, "yaml.load() without SafeLoader"))
    return found


def python_files() -> list[Path]:
    return sorted(p for top in SCANNED if (REPO / top).is_dir() for p in (REPO / top).rglob("*.py"))


def test_no_code_runs_from_user_data() -> None:
    files = python_files()
    assert len(files) > 20, "the scan found too few files: wrong root?"
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in files
        for line, what in unsafe_calls(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    ]
    assert not offenders, "unsafe loading of user data:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    "source, flagged",
    [
        ("import pickle\npickle.load(open('x', 'rb'))", True),
        ("eval(text)", True),
        ("torch.load(path)", True),
        ("torch.load(path, weights_only=False)", True),
        ("torch.load(path, weights_only=True)", False),
        ("np.load(path, allow_pickle=True)", True),
        ("np.load(path)", False),
        ("yaml.load(stream)", True),
        ("yaml.load(stream, Loader=yaml.SafeLoader)", False),
        ("json.loads(text)", False),
        ("model.eval()", False),  # torch's train/eval switch is not eval()
    ],
)
def test_the_scan_recognises_unsafe_calls(source: str, flagged: bool) -> None:
    assert bool(unsafe_calls(ast.parse(source))) == flagged


def test_a_model_folder_with_custom_code_is_refused_without_running_it(tmp_path: Path) -> None:
    """A folder whose config points at its own Python (``auto_map``) must not execute it."""
    import json

    from ramp_env.models import load_causal_lm

    marker = tmp_path / "executed"
    folder = tmp_path / "evil-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": "evil", "architectures": ["EvilForCausalLM"],
        "auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilForCausalLM"},
    }))
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    with pytest.raises(Exception):  # noqa: B017 - transformers' own refusal (trust_remote_code is never set)
        load_causal_lm(folder)
    assert not marker.exists()

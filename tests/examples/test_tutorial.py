"""examples/tutorial.ipynb: committed without outputs, in sync with its generator, and runs end to end.

The notebook carries its own assertions (a broken step raises in its cell), so
executing it is the test. It runs in a real Jupyter kernel of this interpreter.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat  # the `notebook` extra (in `all`): a missing one must fail, not skip
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "tutorial.ipynb"


def load_generator():
    spec = importlib.util.spec_from_file_location("_make_tutorial", EXAMPLES / "make_tutorial.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebook_has_no_outputs_and_matches_its_generator() -> None:
    committed = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(committed)
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"outputs left in {cell.id}"
    generated = load_generator().build()
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in generated.cells], (
        "examples/tutorial.ipynb differs from examples/make_tutorial.py: run `python examples/make_tutorial.py`"
    )


@pytest.mark.slow
def test_tutorial_executes_end_to_end(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("RAMP_ENV_CACHE", str(cache_dir))  # the kernel inherits it; restored after the test
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("RAMP_TUTORIAL_SMOLLM2", raising=False)  # the optional LLM section stays off in CI
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # the failing cell's own assertion message, not a kernel dump
        pytest.fail(f"the tutorial failed: {str(exc)[-3000:]}")
    outputs = "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs
    )
    # the kernel is this interpreter (the venv's), not some other python on the machine
    assert f"python: {sys.executable}" in outputs
    assert "skipped (RUN_SMOLLM2 = False)" in outputs
    assert "tutorial ran in" in outputs
    assert "IProgress" not in outputs and "TqdmWarning" not in outputs  # no widget warnings

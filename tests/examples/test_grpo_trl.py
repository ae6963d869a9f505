"""examples/grpo_trl.py: the GRPOConfig it builds raises no FutureWarning or DeprecationWarning."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "grpo_trl.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("_grpo_trl_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_config_raises_no_future_or_deprecation_warning(example, tmp_path: Path) -> None:
    args = example.Args(output_dir=str(tmp_path), env="RAMP-Lite-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        config = example.grpo_config(args)
    assert config.loss_type == "dapo" and config.activation_checkpointing is False  # CPU: no recomputation


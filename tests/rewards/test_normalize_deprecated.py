"""Answer normalisation's old path still imports, with a DeprecationWarning naming the new one."""

from __future__ import annotations

import importlib
import sys

import pytest

import ramp_env.text.normalize as new


def test_old_path_warns_and_re_exports_the_same_functions() -> None:
    sys.modules.pop("ramp_env.rewards.normalize", None)
    with pytest.warns(DeprecationWarning, match=r"ramp_env\.text\.normalize"):
        old = importlib.import_module("ramp_env.rewards.normalize")
    for name in ("normalize_answer", "answer_tokens", "canonical_tokens", "strip_accents", "MONTHS", "UNIT_WORDS"):
        assert getattr(old, name) is getattr(new, name)


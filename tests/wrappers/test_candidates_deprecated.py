"""The reading library's old path still imports, with a DeprecationWarning naming the new one."""

from __future__ import annotations

import importlib
import sys

import pytest

import ramp_env.actions
import ramp_env.reading
import ramp_env.text.stop_terms


def test_old_path_warns_and_re_exports_the_same_objects() -> None:
    sys.modules.pop("ramp_env.wrappers.candidates", None)
    with pytest.warns(DeprecationWarning, match=r"ramp_env\.reading"):
        old = importlib.import_module("ramp_env.wrappers.candidates")
    for name in ramp_env.reading.__all__:
        assert getattr(old, name) is getattr(ramp_env.reading, name)
    assert old.format_answer is ramp_env.actions.format_answer
    assert old.stop_terms is ramp_env.text.stop_terms.stop_terms


"""``help(env_class)`` documents every constructor argument of every registered env."""

from __future__ import annotations

import inspect

import gymnasium as gym
import pytest

import ramp_env


@pytest.mark.parametrize("env_id", ramp_env.ENV_IDS)
def test_every_argument_is_documented(env_id: str) -> None:
    entry_point = gym.spec(env_id).entry_point
    module, name = entry_point.split(":")
    cls = getattr(__import__(module, fromlist=[name]), name)
    documented = inspect.getdoc(cls) or ""
    for base in cls.__mro__[1:]:  # "every RAMP-v0 argument" refers to the base class's list
        if base.__module__.startswith("ramp_env"):
            documented += inspect.getdoc(base) or ""
    arguments = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    missing = [a for a in arguments if f"``{a}``" not in documented]
    assert not missing, f"{env_id}: help({name}) does not document {missing}"

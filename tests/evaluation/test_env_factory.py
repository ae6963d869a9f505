"""``make_user_env``: an env id or keyword the user got wrong is an ``InvalidOptionError``;
a failure inside the env is not translated."""

from __future__ import annotations

import gymnasium as gym
import pytest

from ramp_env.errors import InvalidOptionError, RampEnvError
from ramp_env.evaluation.env_factory import make_user_env


class _Broken(gym.Env):
    def __init__(self) -> None:
        raise TypeError("a bug inside the env")


def test_an_unknown_env_id_is_an_option_error() -> None:
    with pytest.raises(InvalidOptionError, match="No-Such-Env"):
        make_user_env("No-Such-Env-v0")


def test_an_unknown_keyword_is_an_option_error() -> None:
    with pytest.raises(InvalidOptionError, match="no_such_arg") as info:
        make_user_env("RAMP-Lite-v0", no_such_arg=1)
    assert isinstance(info.value, RampEnvError | ValueError)


def test_a_type_error_inside_the_env_propagates() -> None:
    if "ContractsBroken-v0" not in gym.registry:
        gym.register("ContractsBroken-v0", entry_point=_Broken)
    with pytest.raises(TypeError, match="a bug inside the env"):
        make_user_env("ContractsBroken-v0")

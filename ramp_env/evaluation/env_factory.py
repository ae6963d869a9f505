"""``gym.make`` for an env id and keyword arguments a user typed (``--env``, ``--env-arg``).

Gymnasium reports an unknown id with its own error class and an unknown keyword as a
``TypeError`` from the env's constructor; both are the user's input, not a bug, so they
become :class:`~ramp_env.errors.InvalidOptionError` (a one-line CLI error). Any other
failure while building the env propagates unchanged.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import gymnasium.error

import ramp_env  # noqa: F401  (registers the env ids gym.make looks up)
from ramp_env.errors import InvalidOptionError


def make_user_env(env_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make(env_id, **kwargs)``; an unknown id or keyword raises ``InvalidOptionError``."""
    try:
        return gym.make(env_id, **kwargs)
    except gymnasium.error.Error as exc:  # NameNotFound, VersionNotFound, DeprecatedEnv, ...
        raise InvalidOptionError(f"env {env_id!r}: {exc}") from exc
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):  # a bug inside the env: keep its traceback
            raise
        raise InvalidOptionError(f"env {env_id!r} takes no such argument: {exc}") from exc

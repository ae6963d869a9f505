"""Closing gymnasium vector envs safely after a worker process died.

When an ``AsyncVectorEnv`` worker is killed (OOM killer, a crash in native
code, ``kill -9``), the next ``step`` raises at once, as it should. A plain
``close()`` afterwards can then raise on the dead worker's pipe, leaving the
live workers running, or wait forever for a reply from a worker that is stuck
mid-step (``close()`` waits for the pending step unless ``terminate=True``).
:func:`close_vector_env` always returns: it closes with ``terminate=True``,
swallows the dead pipe's errors, and kills and reaps every worker that is still
alive, so no process outlives the env::

    venv = gym.make_vec("RAMP-v0", num_envs=4, vectorization_mode="async")
    try:
        ...  # reset / step
    finally:
        close_vector_env(venv)
"""

from __future__ import annotations

import contextlib
import multiprocessing
from typing import Any

import gymnasium as gym
from gymnasium.vector import AsyncVectorEnv


def _async_env(venv: Any) -> AsyncVectorEnv | None:
    env = venv
    for _ in range(32):  # through wrappers (VectorWrapper.env) down to the vector env itself
        if isinstance(env, AsyncVectorEnv):
            return env
        env = getattr(env, "env", None)
        if env is None:
            return None
    return None


def close_vector_env(venv: gym.vector.VectorEnv, timeout: float = 10.0) -> None:
    """Close ``venv`` and stop its worker processes, even when one of them died (see module docs).

    Args:
        venv: any vector env (wrapped or not); a ``SyncVectorEnv`` is simply closed.
        timeout: seconds to wait for each worker to exit before killing it.
    """
    async_env = _async_env(venv)
    if async_env is None:
        venv.close()
        return
    processes = list(getattr(async_env, "processes", []))
    broken = any(not process.is_alive() for process in processes)
    # a dead worker's pipe raises EOFError/BrokenPipeError: that means "already gone", never a reason
    # to leave the other workers running; terminate=True skips waiting for replies that cannot come
    with contextlib.suppress(EOFError, OSError, gym.error.Error, multiprocessing.TimeoutError):
        async_env.close(terminate=broken, timeout=timeout)
    for process in processes:
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(timeout)
    for pipe in getattr(async_env, "parent_pipes", []):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    async_env.closed = True

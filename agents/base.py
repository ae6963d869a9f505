"""The agent interface every adapter in this package implements.

An agent is anything with ``act(observation) -> str``, the observation being
RAMP-v0's dict and the string an action (``<search>...</search>`` or
``<answer>...</answer>``). Optionally:

* ``reset()``: called at the start of each episode;
* ``act_batch(observations) -> list[str]``: several episodes at once (vector envs, LLM batching);
* a constructor parameter ``env``: the evaluation harness passes the env (the oracle uses it).

``Agent`` and the optional hooks the episode runner checks with ``isinstance`` are the
protocols of :mod:`ramp_env.protocols`; ``Agent`` is re-exported here.
"""

from __future__ import annotations

from ramp_env.protocols import Agent

__all__ = ["Agent"]

"""The agent interface every adapter in this package implements.

An agent is anything with ``act(observation) -> str``, the observation being
RAMP-v0's dict and the string an action (``<search>...</search>`` or
``<answer>...</answer>``). Optionally:

* ``reset()``: called at the start of each episode;
* ``act_batch(observations) -> list[str]``: several episodes at once (vector envs, LLM batching);
* a constructor parameter ``env``: the evaluation harness passes the env (the oracle uses it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Agent(Protocol):
    def act(self, observation: Mapping[str, Any]) -> str: ...

"""What the checkers share: the fixed tasks and two small agents. Not an exercise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ramp_env.actions import format_answer
from ramp_env.envs.ramp_lite import RAMPLiteEnv
from ramp_env.evaluation import run_episodes
from ramp_env.reading import CandidatePool, parse_results
from ramp_env.text.spans import RuleSpanExtractor

GRADING_SEED = 2024  # the checkers' tasks: episode i of a run is reset with a seed derived from it


def expect(passed: bool, message: str) -> None:
    """Fail the check with ``message`` alone: one sentence saying what was expected and what was
    got. ``pytrace=False`` keeps pytest from adding a traceback and its assertion introspection,
    which for these checks is numpy reprs a student cannot act on."""
    if not passed:
        pytest.fail(message, pytrace=False)


class QueryThenPickAgent:
    """One search per mask with ``write_query(title, masked_passage, mask_number)``, then
    each mask's best candidate by the BM25 heuristic's scorer; with ``enumerate_top`` it
    answers each mask with its top candidates joined instead (the enumeration hack)."""

    def __init__(self, write_query: Callable[[str, str, int], str], enumerate_top: int = 0) -> None:
        self.write_query = write_query
        self.enumerate_top = enumerate_top
        self.extractor = RuleSpanExtractor()  # RAMP-Lite-v0 masks rule spans
        self.reset()

    def reset(self) -> None:
        self.pool: CandidatePool | None = None
        self.asked: set[int] = set()
        self.pending = False

    def act(self, observation: dict[str, Any]) -> str:
        title, passage = str(observation["title"]), str(observation["passage"])
        if self.pool is None:
            self.pool = CandidatePool(passage, title, self.extractor)
        if self.pending:
            self.pool.add_hits(parse_results(str(observation["results"])))
            self.pending = False
        numbers = list(range(1, int(observation["num_masks"]) + 1))
        for number in numbers:
            if number not in self.asked and int(observation["searches_left"]) > 0:
                self.asked.add(number)
                self.pending = True
                return f"<search>{self.write_query(title, passage, number)}</search>"
        if self.enumerate_top:
            return format_answer(
                {n: ", ".join(c.text for c in self.pool.scores(n)[: self.enumerate_top]) for n in numbers}
            )
        return format_answer({n: (c.text if c else "") for n, c in self.pool.assign(numbers).items()})


def lite_rewards(agent: Any, episodes: int, cache_dir: str, **env_kwargs: Any) -> np.ndarray:
    """Episode rewards of ``agent`` on the checkers' fixed RAMP-Lite-v0 tasks."""
    env = RAMPLiteEnv(cache_dir=cache_dir, progress=False, **env_kwargs)
    return np.array([r.reward for r in run_episodes(env, agent, episodes, seed=GRADING_SEED)])

"""The floor: random searches, then random spans from the results as answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ramp_env.actions import format_answer, format_search
from ramp_env.reading import MASK_PATTERN, parse_results
from ramp_env.text.spans import SpanExtractor, make_span_extractor

_WORD = re.compile(r"\w{3,}")


class RandomAgent:
    """
    Searches a random number of times (0 to the whole budget) with a few random
    words of the passage, then answers each mask with a random salient span of the
    results it saw (a random passage word if it saw none).

    Args:
        seed: seeds its generator; the harness also reseeds it per episode through
            ``reset(seed=...)`` so runs are reproducible.
        span_extractor: finds the spans it picks from (``"rules"`` needs no model).
        query_words: words per random query.
    """

    def __init__(
        self, seed: int | None = None, span_extractor: str | SpanExtractor = "rules", query_words: int = 3
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.extractor = make_span_extractor(span_extractor)
        self.query_words = query_words
        self._passage: str | None = None
        self._spans: list[str] = []
        self._searches_planned = 0
        self._pending = False

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._passage = None

    def _start(self, observation: Mapping[str, Any]) -> None:
        self._passage = str(observation["passage"])
        self._spans = []
        self._pending = False
        budget = min(int(observation["searches_left"]), int(observation.get("steps_left", 2)) - 1)
        self._searches_planned = int(self.rng.integers(0, max(budget, 0) + 1))

    def act(self, observation: Mapping[str, Any]) -> str:
        if observation["passage"] != self._passage:
            self._start(observation)
        if self._pending:
            hits = parse_results(str(observation.get("results") or ""))
            for (_title, text), spans in zip(hits, self.extractor.extract_batch(t for _, t in hits)):
                self._spans.extend(text[s.start : s.end] for s in spans)
            self._pending = False
        words = _WORD.findall(MASK_PATTERN.sub(" ", self._passage or ""))
        if self._searches_planned > 0 and int(observation["searches_left"]) > 0 and words:
            self._searches_planned -= 1
            self._pending = True
            picked = self.rng.choice(len(words), size=min(self.query_words, len(words)), replace=False)
            return format_search(" ".join(words[int(i)] for i in picked))
        pool = self._spans or words or ["unknown"]
        answers = {n: pool[int(self.rng.integers(len(pool)))] for n in range(1, int(observation["num_masks"]) + 1)}
        return format_answer(answers)

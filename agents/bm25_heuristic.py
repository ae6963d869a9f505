"""A strong hand-written search baseline: targeted BM25 queries, typed candidates, a fitted scorer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.reading import answer, new_pool, read
from ramp_env.actions import format_search
from ramp_env.reading import QUERY_TEMPLATES, CandidatePool, CandidateScore, build_query, parse_results
from ramp_env.text.spans import SpanExtractor, make_span_extractor


class BM25HeuristicAgent:
    """
    The reference a learned RAMP agent must beat.

    For each mask it searches with the passage title and the content words nearest
    the mask (``"title+near"``). Salient spans of the returned passages (found with
    a span extractor) are candidates, minus any text already in the passage or
    title. Each candidate is scored against each mask by a logistic model over its
    evidence: overlap of its sentences with the mask's sentence (words close to the
    slot and rare among the hits weigh more), whether the one or two words right
    before or after it match the mask's, how well its kind (date, number, name)
    fits the mask's context, its best hit rank and the number of hits containing it
    (see :data:`ramp_env.reading.SCORER_WEIGHTS`). Searches left after
    one per mask go to further templates for the masks whose best candidate is
    weakest; a query already sent is never repeated. Each mask then gets its best
    candidate, never one text for two masks. With fewer searches than masks it
    still answers every mask from the hits it has.

    Args:
        span_extractor: ``"auto"`` (spaCy if installed, else rules), ``"spacy"``,
            ``"rules"`` or an extractor; use the env's for candidates shaped like its masks.
        templates: query templates tried in turn per mask
            (see :data:`ramp_env.reading.QUERY_TEMPLATES`).
        max_searches: cap on searches per episode (``None``: the env's budget).
    """

    def __init__(
        self,
        span_extractor: str | SpanExtractor = "auto",
        templates: tuple[str, ...] = QUERY_TEMPLATES,
        max_searches: int | None = None,
    ) -> None:
        self.extractor = make_span_extractor(span_extractor)
        self.templates = tuple(templates)
        self.max_searches = max_searches
        self.reset()

    def reset(self) -> None:
        self._passage: str | None = None
        self._pool: CandidatePool | None = None
        self._pending = False  # a search was sent and its results are not read yet
        self._tries: dict[int, int] = {}  # mask number -> templates tried for it
        self._sent: set[str] = set()
        self._searches = 0

    def _next_query(self, numbers: list[int], title: str) -> str | None:
        """The next new query: each mask's first template, then more templates for the
        masks whose best candidate is weakest. ``None`` when every query was sent."""
        assert self._pool is not None
        best = self._pool.assign(numbers) if self._searches else {}
        for number in sorted(numbers, key=lambda n: (self._tries.get(n, 0), _score(best.get(n)), n)):
            while self._tries.get(number, 0) < len(self.templates):
                template = self.templates[self._tries.get(number, 0)]
                self._tries[number] = self._tries.get(number, 0) + 1
                query = build_query(self._pool.context(number), title, template)
                if query not in self._sent:  # masks in one sentence can share a query
                    self._sent.add(query)
                    return query
        return None

    def act(self, observation: Mapping[str, Any]) -> str:
        passage = str(observation["passage"])
        if passage != self._passage:  # a new episode, even if reset() was not called
            self.reset()
            self._passage = passage
            self._pool = new_pool(observation, self.extractor)
        assert self._pool is not None
        if self._pending:
            read(self._pool, parse_results(str(observation.get("results") or "")))
            self._pending = False
        numbers = list(range(1, int(observation["num_masks"]) + 1))
        budget = int(observation["searches_left"])
        if self.max_searches is not None:
            budget = min(budget, self.max_searches - self._searches)
        # keep one step for the answer
        if budget > 0 and int(observation.get("steps_left", 2)) > 1:
            query = self._next_query(numbers, str(observation.get("title") or ""))
            if query is not None:
                self._searches += 1
                self._pending = True
                return format_search(query)
        return answer(self._pool, len(numbers))


def _score(candidate: CandidateScore | None) -> float:
    return candidate.score if candidate is not None else -1.0

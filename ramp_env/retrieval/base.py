"""The retrieval protocol every backend implements, and the query terms it scores.

:func:`analyze` (the index analysis) is :func:`ramp_env.text.analysis.analyze`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ramp_env.text.analysis import analyze

BACKENDS = ("tantivy", "rank_bm25")
# Longest query, in analysed tokens, that a backend scores. A 1 MB "query" would
# otherwise build a boolean query of 100k clauses; 256 terms is far beyond any
# query a person or an agent writes on purpose.
MAX_QUERY_TOKENS = 256
__all__ = ["BACKENDS", "MAX_QUERY_TOKENS", "Hit", "Retriever", "analyze", "query_terms"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the passage, its BM25 score and its rank (0 = best)."""

    passage_id: str
    title: str
    text: str
    score: float
    rank: int


@runtime_checkable
class Retriever(Protocol):
    """Anything that returns the top ``k`` passages for a text query.

    ``exclude_ids`` names passages that must not be returned (the env passes the
    masked passage's own id); a backend must still return ``k`` hits when the
    corpus has ``k`` other matching passages.
    """

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]: ...


def query_terms(query: str) -> list[str]:
    """Analysed terms of a query, capped at :data:`MAX_QUERY_TOKENS`."""
    return analyze(query)[:MAX_QUERY_TOKENS]

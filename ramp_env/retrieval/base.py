"""The retrieval protocol every backend implements, and the shared text analyzer."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import tantivy

BACKENDS = ("tantivy", "rank_bm25")
# Longest query, in analysed tokens, that a backend scores. A 1 MB "query" would
# otherwise build a boolean query of 100k clauses; 256 terms is far beyond any
# query a person or an agent writes on purpose.
MAX_QUERY_TOKENS = 256


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


@functools.lru_cache(maxsize=1)
def _analyzer() -> tantivy.TextAnalyzer:
    # Exactly tantivy's built-in "en_stem" analyzer (simple tokenizer, drop
    # tokens over 40 bytes, lowercase, Snowball English stemmer), so both
    # backends index and query the same terms. A library analyzer rather than a
    # hand-written regex: stemming and Unicode word splitting are easy to get wrong.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def analyze(text: str) -> list[str]:
    """Index terms of ``text`` (the ``en_stem`` analysis both backends use)."""
    return _analyzer().analyze(text)


def query_terms(query: str) -> list[str]:
    """Analysed terms of a query, capped at :data:`MAX_QUERY_TOKENS`."""
    return analyze(query)[:MAX_QUERY_TOKENS]

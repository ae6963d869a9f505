"""A retriever that never returns some passages: how a train episode's searches hide the test side.

Each backend hides passages its fastest way, measured by ``benchmarks/split_filter.py``
(``benchmarks/results/split_filter.json``): rank_bm25 sets the hidden rows' scores to
``-inf`` before taking the top ``k`` (:meth:`RankBM25Retriever.restricted
<ramp_env.retrieval.rank_bm25_backend.RankBM25Retriever.restricted>`, one numpy assignment
on the score vector it computes anyway); tantivy and a user's own
:class:`~ramp_env.retrieval.base.Retriever` get :class:`FilteredRetriever`, which asks the
engine for more hits than needed and drops the hidden ones, deeper until ``k`` are left or
the engine runs out (for tantivy 100x faster than a ``MustNot`` term-set clause of 2,940
ids, and the same ranking).
"""

from __future__ import annotations

from collections.abc import Collection

from ramp_env.protocols import RequiredTermRetriever, RestrictableRetriever
from ramp_env.retrieval.base import Hit, Retriever


def restrict(retriever: Retriever, hidden_ids: Collection[str]) -> Retriever:
    """``retriever`` without ``hidden_ids`` in any result (the backend's own filter when it has one)."""
    hidden = frozenset(hidden_ids)
    if isinstance(retriever, RestrictableRetriever):
        return retriever.restricted(hidden)
    return FilteredRetriever(retriever, hidden)


def _renumber(hits: list[Hit], k: int) -> list[Hit]:
    return [Hit(h.passage_id, h.title, h.text, h.score, rank) for rank, h in enumerate(hits[:k])]


class FilteredRetriever:
    """Post-filtering for a backend without its own filter: fetch ``k`` plus a margin, drop
    hidden hits, double the depth while fewer than ``k`` are left and the engine had more."""

    def __init__(self, base: Retriever, hidden_ids: frozenset[str]) -> None:
        self.base = base
        self.hidden_ids = hidden_ids

    def _deepening(self, fetch, k: int) -> list[Hit]:  # type: ignore[no-untyped-def]
        if k <= 0:
            return []
        depth = 2 * k
        while True:
            hits = fetch(depth)
            kept = [h for h in hits if h.passage_id not in self.hidden_ids]
            if len(kept) >= k or len(hits) < depth:
                return _renumber(kept, k)
            depth *= 2

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        return self._deepening(lambda depth: self.base.search(query, depth, exclude_ids=exclude_ids), k)

    def search_with_required(
        self, query: str, required: str, k: int, exclude_ids: Collection[str] = ()
    ) -> list[Hit]:
        base = self.base
        if not isinstance(base, RequiredTermRetriever):  # what the evidence search does for such a backend
            return self.search(f"{required} {required} {query}", k, exclude_ids)
        return self._deepening(
            lambda depth: base.search_with_required(query, required, depth, exclude_ids=exclude_ids), k
        )


__all__ = ["FilteredRetriever", "restrict"]

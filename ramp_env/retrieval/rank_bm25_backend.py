"""In-memory BM25 with ``rank_bm25``: the reference backend, for small corpora and teaching.

The token lists live in memory, so use it up to ~100k passages. Terms come
from the same ``en_stem`` analysis as the tantivy backend and the same k1/b, so
the two rank alike (not identically: their IDF formulas differ).

Scores are ``BM25Okapi.get_scores``'s, computed from postings. rank_bm25 scores a
term by walking every passage's term-count dict in Python, so a 256-term query
over 15k passages took about a second, and one legal 256-query server request
minutes. :class:`_Postings` keeps, per term, the rows holding it and their
counts, and applies rank_bm25's own formula (same operations in the same order,
so the same float64 scores) to those rows only: a query costs the length of its
terms' posting lists, not terms x passages.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from ramp_env.corpus.store import PassageStore
from ramp_env.errors import InvalidOptionError
from ramp_env.retrieval.base import Hit, analyze, query_terms


class RankBM25Retriever:
    """BM25Okapi (k1=1.2, b=0.75, tantivy's constants) over all passages of a store, in memory."""

    def __init__(self, store: PassageStore, k1: float = 1.2, b: float = 0.75) -> None:
        self.store = store
        self.k1, self.b = k1, b
        self._ids: list[str] = []
        tokenized: list[list[str]] = []
        for passage in store:
            self._ids.append(passage.id)
            tokenized.append(analyze(passage.contents))
        if not tokenized:
            raise InvalidOptionError(f"cannot build a rank_bm25 index over an empty corpus ({store.path})")
        # only the postings are kept: BM25Okapi's per-passage term dicts (doc_freqs), which searches
        # never read, would hold every term of the corpus a second time
        self._postings = _Postings(BM25Okapi(tokenized, k1=k1, b=b))
        self._row_of = {pid: i for i, pid in enumerate(self._ids)}

    def search(
        self, query: str, k: int, exclude_ids: Collection[str] = (), hidden_rows: np.ndarray | None = None
    ) -> list[Hit]:
        """The top ``k`` passages; ``hidden_rows`` (a bool array over rows, True = never return)
        is how :class:`RestrictedBM25` hides the other side of a passage split."""
        terms = query_terms(query)
        if k <= 0 or not terms:
            return []
        scores = self._postings.scores(terms)
        return self._top_hits(scores, k, exclude_ids, matched_only=True, hidden_rows=hidden_rows)

    def _top_hits(
        self, scores: np.ndarray, k: int, exclude_ids: Collection[str], matched_only: bool,
        hidden_rows: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best rows of ``scores`` (excluded ids, hidden rows and ``-inf`` rows never; with
        ``matched_only`` also no row scoring 0, i.e. matching no query term) as hits."""
        if hidden_rows is not None:
            scores[hidden_rows] = -np.inf
        for pid in exclude_ids:
            row = self._row_of.get(pid)
            if row is not None:
                scores[row] = -np.inf
        k_eff = min(k, len(scores))
        top = np.argpartition(-scores, k_eff - 1)[:k_eff]
        # stable order: score descending, then corpus order (as tantivy ties resolve)
        top = sorted(top.tolist(), key=lambda i: (-scores[i], i))
        top = [i for i in top if np.isfinite(scores[i]) and (scores[i] > 0 or not matched_only)]
        passages = self.store.get_many([i + 1 for i in top])
        return [Hit(p.id, p.title, p.text, float(scores[i]), r) for r, (i, p) in enumerate(zip(top, passages))]

    def search_with_required(
        self, query: str, required: str, k: int, exclude_ids: Collection[str] = (),
        hidden_rows: np.ndarray | None = None,
    ) -> list[Hit]:
        """The top ``k`` passages holding every analysed term of ``required``, ranked by BM25 of
        ``required`` and ``query`` together (evidence candidates: :mod:`ramp_env.masking.evidence`)."""
        must = list(dict.fromkeys(query_terms(required)))
        if k <= 0 or not must:
            return []
        terms = must + [t for t in dict.fromkeys(query_terms(query)) if t not in must]
        scores = self._postings.scores(terms)
        scores[~self._postings.holding_all(must)] = -np.inf  # a passage lacking a required term drops out
        return self._top_hits(scores, k, exclude_ids, matched_only=False, hidden_rows=hidden_rows)

    def restricted(self, hidden_ids: Collection[str]) -> RestrictedBM25:
        """A view that never returns ``hidden_ids``: their rows score ``-inf`` before the top ``k``."""
        hidden = np.zeros(len(self._ids), dtype=bool)
        for pid in hidden_ids:
            row = self._row_of.get(pid)
            if row is not None:
                hidden[row] = True
        return RestrictedBM25(self, frozenset(hidden_ids), hidden)

    def __getstate__(self) -> dict[str, object]:
        return {"store_path": self.store.path, "k1": self.k1, "b": self.b}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(PassageStore(state["store_path"]), state["k1"], state["b"])  # type: ignore[arg-type]


class _Postings:
    """Per term, the rows holding it and its count there, from a built ``BM25Okapi``.

    Hand-written because rank_bm25 has no inverted index; the scoring expression is
    ``BM25Okapi.get_scores``'s, evaluated on the matching rows only (the other rows
    would add exactly 0.0), so scores are bit-identical to it.
    """

    def __init__(self, bm25: BM25Okapi) -> None:
        rows: dict[str, list[int]] = {}
        counts: dict[str, list[int]] = {}
        for row, freqs in enumerate(bm25.doc_freqs):
            for term, count in freqs.items():
                rows.setdefault(term, []).append(row)
                counts.setdefault(term, []).append(count)
        self._rows = {t: np.asarray(r, dtype=np.int64) for t, r in rows.items()}
        self._counts = {t: np.asarray(counts[t], dtype=np.int64) for t in rows}
        self._idf = bm25.idf
        self._k1 = bm25.k1
        self._size = bm25.corpus_size
        doc_len = np.array(bm25.doc_len)
        # rank_bm25's length normalisation, per row, exactly as get_scores computes it
        self._norm = bm25.k1 * (1 - bm25.b + bm25.b * doc_len / bm25.avgdl)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """``BM25Okapi.get_scores(terms)``: float64, one score per row (repeated terms count again)."""
        score = np.zeros(self._size)
        for term in terms:
            rows = self._rows.get(term)
            if rows is None:
                continue  # in no passage: rank_bm25 adds 0 everywhere
            tf = self._counts[term]
            score[rows] += (self._idf.get(term) or 0) * (tf * (self._k1 + 1) / (tf + self._norm[rows]))
        return score

    def holding_all(self, terms: Sequence[str]) -> np.ndarray:
        """Boolean mask of the rows that hold every one of ``terms`` (distinct)."""
        hits = np.zeros(self._size, dtype=np.int64)
        for term in terms:
            rows = self._rows.get(term)
            if rows is None:
                return np.zeros(self._size, dtype=bool)
            hits[rows] += 1
        return hits == len(terms)
class RestrictedBM25:
    """:class:`RankBM25Retriever` searches that never return the hidden passages: one boolean
    mask over rows, applied to the score vector of every query (one numpy assignment)."""

    def __init__(self, base: RankBM25Retriever, hidden_ids: frozenset[str], hidden_rows: np.ndarray) -> None:
        self.base = base
        self.hidden_ids = hidden_ids
        self.hidden_rows = hidden_rows

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        return self.base.search(query, k, exclude_ids, hidden_rows=self.hidden_rows)

    def search_with_required(
        self, query: str, required: str, k: int, exclude_ids: Collection[str] = ()
    ) -> list[Hit]:
        return self.base.search_with_required(query, required, k, exclude_ids, hidden_rows=self.hidden_rows)

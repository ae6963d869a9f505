"""Search with ``exclude_ids`` that also keeps out near copies of the excluded passages.

The env never shows an agent its source passage nor a near copy of it
(:mod:`ramp_env.masking.near_duplicates`); a client that trains on the server and
passes the source's id in ``exclude_ids`` gets the same guarantee by default:

1. each excluded id that names a passage of the corpus is expanded with that passage's
   near copies, found through the engine as the env finds them (cached per id);
2. every hit is checked against the excluded passages' texts with the env's own test
   (:class:`~ramp_env.masking.near_duplicates.CopyCheck`: both criteria, title and text);
   a copy the candidate search missed joins the exclusions and the query is re-run deeper,
   so ``topk`` stays filled while the corpus has other matches.

A request can turn this off with ``"exclude_near_copies": false`` (exactly the ids given).
Ids the corpus does not hold are excluded as ids only (there is no text to compare).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from ramp_env.corpus.store import PassageStore
from ramp_env.masking.near_duplicates import CopyCheck, near_duplicate_ids
from ramp_env.retrieval.base import Hit, Retriever


def _no_check() -> None:
    return None


class CopyExcluder:
    """Near-copy aware exclusion over one retriever and its passage store (thread-safe)."""

    def __init__(self, retriever: Retriever, store: PassageStore | None, cache_size: int = 1024) -> None:
        self.retriever = retriever
        self.store = store
        self.cache_size = cache_size
        # id -> (near copies, the copy test of its text); None when the corpus has no such id
        self._cache: OrderedDict[str, tuple[frozenset[str], CopyCheck] | None] = OrderedDict()
        self._lock = threading.Lock()  # the cache only: lookups run outside it, in parallel

    def _expand_one(self, pid: str) -> tuple[frozenset[str], CopyCheck] | None:
        with self._lock:
            if pid in self._cache:
                self._cache.move_to_end(pid)
                return self._cache[pid]
        entry = None
        row = self.store.rowid_of(pid) if self.store is not None else None
        if row is not None:
            passage = self.store.get(row)  # type: ignore[union-attr]
            copies = near_duplicate_ids(passage, self.retriever, exclude_ids=(pid,))
            entry = (copies, CopyCheck(passage.text))
        with self._lock:
            self._cache[pid] = entry
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return entry

    def expand(self, ids: Iterable[str], check: Callable[[], None] = _no_check) -> tuple[frozenset[str], list[CopyCheck]]:
        """``ids`` plus their near copies, and the copy tests of the excluded passages' texts.

        ``check`` runs before each id's expansion (the server's CPU budget raises there).
        """
        excluded: set[str] = set()
        sources: list[CopyCheck] = []
        for pid in dict.fromkeys(ids):
            check()
            excluded.add(pid)
            entry = self._expand_one(pid)
            if entry is not None:
                excluded |= entry[0]
                if entry[1].words:
                    sources.append(entry[1])
        return frozenset(excluded), sources

    def search(self, query: str, k: int, ids: Iterable[str], check: Callable[[], None] = _no_check) -> list[Hit]:
        """The top ``k`` hits for ``query`` that are neither in ``ids`` nor near copies of them."""
        excluded, sources = self.expand(ids, check)
        if not sources:
            return self.retriever.search(query, k, exclude_ids=excluded)
        depth = k
        checked: set[str] = set()  # hits tested on a shallower pass: not tested again
        while True:
            hits = self.retriever.search(query, depth, exclude_ids=excluded)
            fresh = [h for h in hits if h.passage_id not in excluded and h.passage_id not in checked]
            checked.update(h.passage_id for h in fresh)
            excluded = excluded | {h.passage_id for h in fresh if _is_copy(h, sources)}
            kept = [h for h in hits if h.passage_id not in excluded]
            if len(kept) >= k or len(hits) < depth:
                break
            check()
            depth *= 2
        return [Hit(h.passage_id, h.title, h.text, h.score, rank) for rank, h in enumerate(kept[:k])]


def _is_copy(hit: Hit, sources: list[CopyCheck]) -> bool:
    # the env's test as near_duplicate_ids applies it: title and text (a copy in the title is shown too)
    text = f"{hit.title}\n{hit.text}"
    return any(source.is_copy(text) for source in sources)

"""The passage split: which passages of a corpus are *train* and which are *test*.

A benchmark score means "found the facts by searching" only if the model never
trained on the passages it is tested on. ``gym.make("RAMP-v0", split="train")``
draws tasks from train passages only and its searches never return a test
passage; ``split="test"`` draws tasks from test passages (and searches cover
every passage but the source and its near copies, as with ``split=None``).

How a passage gets its side
---------------------------
1. Near-duplicate clusters. Every passage's near copies are found through the
   corpus's tantivy index (:func:`~ramp_env.masking.near_duplicates.near_duplicate_ids`,
   the same definition the env uses to hide a task's copies) and joined with
   union-find: a cluster is a connected component of the near-copy relation.
   A whole cluster goes to one side, so a test passage never has a near copy on
   the train side (a mirrored article would otherwise leak its facts into
   training).
2. The side of a cluster is the side of its smallest passage id:
   ``sha256("ramp-split-v<V>:" + id)`` read as a number in [0, 1) below
   :data:`TEST_FRACTION` is test. It depends on ids only, so reordering the
   corpus file, or preparing it in another cache, gives the same split.

Clustering costs one to six searches per passage (486 s for the default corpus's
14,862 passages on a shared 2-core machine at load ~10, ``benchmarks/results/split_filter.json``),
so it runs once per corpus and is cached next to the prepared corpus as
``split-v<V>.npz``, keyed by the corpus fingerprint and :data:`SPLIT_VERSION`,
written through a temporary file and a rename. A read-only cache keeps the
split in memory instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from tqdm import tqdm  # plain text bar: tqdm.auto warns "IProgress not found" in notebooks without ipywidgets

from ramp_env.cache import atomic_path
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.near_duplicates import near_duplicate_ids

if TYPE_CHECKING:  # pragma: no cover
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.retrieval.base import Retriever

SplitName = Literal["train", "test"]
SPLITS: tuple[str, ...] = ("train", "test")
# bump when the clustering, the hash or the fraction changes: cached splits are then rebuilt
SPLIT_VERSION = 1
# share of passage ids hashed to test; see docs/benchmark.md for why this share
TEST_FRACTION = 0.2
_SALT = f"ramp-split-v{SPLIT_VERSION}:"
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], PassageSplit] = {}


def _reset_after_fork() -> None:
    # a forked child (AsyncVectorEnv workers) must not inherit a lock another thread held at fork time
    global _LOCK
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def check_split(split: str | None) -> str | None:
    """``split`` if it names a side (or is None); else a clear error."""
    if split is not None and split not in SPLITS:
        raise InvalidOptionError(f"split must be 'train', 'test' or None, got {split!r}")
    return split


def id_is_test(passage_id: str, fraction: float = TEST_FRACTION) -> bool:
    """Whether a lone passage (a cluster of one) with this id is on the test side."""
    digest = hashlib.sha256((_SALT + passage_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < fraction


class _UnionFind:
    """Union-find over ``n`` rows (0-based), path halving; numpy keeps it compact for big corpora."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def roots(self) -> np.ndarray:
        return np.fromiter((self.find(i) for i in range(self.parent.size)), dtype=np.int64, count=self.parent.size)


def near_duplicate_clusters(corpus: PreparedCorpus, retriever: Retriever, progress: bool = False) -> np.ndarray:
    """Cluster root (0-based row) of every passage of ``corpus``: connected components of the
    near-copy relation, each passage's copies found through ``retriever``."""
    store = corpus.store
    uf = _UnionFind(len(store))
    for i, passage in enumerate(
        tqdm(store, total=len(store), desc="near-duplicate clusters", unit=" passages", disable=not progress)
    ):
        for pid in near_duplicate_ids(passage, retriever, exclude_ids=(passage.id,)):
            row = store.rowid_of(pid)
            if row is not None:
                uf.union(i, row - 1)
    return uf.roots()


def assign_sides(ids: list[str], roots: np.ndarray, fraction: float = TEST_FRACTION) -> np.ndarray:
    """``True`` (test) per passage: the side of the smallest id of its cluster (see module docs)."""
    smallest: dict[int, str] = {}
    for pid, root in zip(ids, roots.tolist(), strict=True):
        if root not in smallest or pid < smallest[root]:
            smallest[root] = pid
    side = {root: id_is_test(pid, fraction) for root, pid in smallest.items()}
    return np.fromiter((side[r] for r in roots.tolist()), dtype=bool, count=len(ids))


class PassageSplit:
    """The train/test side of every passage of one prepared corpus (see module docs).

    ``test`` is a bool array over rows (index ``row - 1``); ``cluster`` the cluster root row
    (0-based) of each passage.
    """

    def __init__(self, test: np.ndarray, cluster: np.ndarray, ids: list[str] | None = None) -> None:
        if test.shape != cluster.shape:
            raise ValueError("test and cluster arrays differ in length")
        self.test = test.astype(bool, copy=False)
        self.cluster = cluster.astype(np.int64, copy=False)
        self._ids = ids
        self._side_ids: dict[str, frozenset[str]] = {}

    # -- construction --------------------------------------------------------------------------

    @staticmethod
    def path_for(corpus: PreparedCorpus) -> Path:
        return Path(corpus.directory) / f"split-v{SPLIT_VERSION}.npz"

    @classmethod
    def for_corpus(cls, corpus: PreparedCorpus, progress: bool = False) -> PassageSplit:
        """The split of ``corpus``: read from its cache file, else computed once and stored."""
        fingerprint = str(corpus.manifest.get("fingerprint", ""))
        key = (str(corpus.directory), fingerprint)
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
            path = cls.path_for(corpus)
            split = cls._load(path, fingerprint, len(corpus.store))
            if split is None:
                split = cls._compute(corpus, progress)
                split._save(path, fingerprint)
            _CACHE[key] = split
            return split

    @classmethod
    def _compute(cls, corpus: PreparedCorpus, progress: bool) -> PassageSplit:
        started = time.perf_counter()
        # always tantivy: the split must not depend on the backend an env searches with
        roots = near_duplicate_clusters(corpus, corpus.retriever("tantivy"), progress)
        ids = [p.id for p in corpus.store]
        split = cls(assign_sides(ids, roots), roots, ids)
        split.seconds = time.perf_counter() - started
        return split

    @staticmethod
    def _load(path: Path, fingerprint: str, size: int) -> PassageSplit | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                test, cluster = data["test"], data["cluster"]
        except (OSError, ValueError, KeyError) as exc:
            warnings.warn(f"recomputing the passage split: {path} is unreadable ({exc})", stacklevel=3)
            return None
        if meta.get("fingerprint") != fingerprint or meta.get("version") != SPLIT_VERSION or test.size != size:
            warnings.warn(f"recomputing the passage split: {path} belongs to another corpus or version", stacklevel=3)
            return None
        return PassageSplit(test, cluster)

    def _save(self, path: Path, fingerprint: str) -> None:
        meta = {"version": SPLIT_VERSION, "fingerprint": fingerprint, "test_fraction": TEST_FRACTION,
                "passages": int(self.test.size), "test_passages": int(self.test.sum()),
                "clusters": int(np.unique(self.cluster).size), "seconds": round(getattr(self, "seconds", 0.0), 1)}
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez_compressed(fh, test=self.test, cluster=self.cluster, meta=np.array(json.dumps(meta)))
        except OSError as exc:  # a read-only cache: keep the split in memory
            warnings.warn(f"the passage split will not be cached on disk ({path}: {exc})", stacklevel=3)

    # -- queries -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.test.size)

    def side_of_row(self, row: int) -> SplitName:
        """``"train"`` or ``"test"`` for a 1-based store row."""
        return "test" if bool(self.test[row - 1]) else "train"

    def mask(self, split: str) -> np.ndarray:
        """Bool array over rows (index ``row - 1``): True where the passage is on ``split``."""
        check_split(split)
        return self.test if split == "test" else ~self.test

    def rows(self, split: str) -> np.ndarray:
        """1-based store rows of the passages on ``split``, ascending."""
        return np.flatnonzero(self.mask(split)).astype(np.int64) + 1

    def ids(self, split: str, corpus: PreparedCorpus) -> frozenset[str]:
        """Passage ids on ``split`` (read from ``corpus``'s store once, then kept)."""
        check_split(split)
        if split not in self._side_ids:
            rows = self.rows(split).tolist()
            chunk = 10_000  # under SQLite's limit on bound parameters per statement
            self._side_ids[split] = frozenset(
                p.id for i in range(0, len(rows), chunk) for p in corpus.store.get_many(rows[i : i + chunk])
            )
        return self._side_ids[split]


__all__ = [
    "SPLITS",
    "SPLIT_VERSION",
    "TEST_FRACTION",
    "PassageSplit",
    "assign_sides",
    "check_split",
    "id_is_test",
    "near_duplicate_clusters",
]

"""The :class:`Judge` protocol and the caching every judge shares.

A judge scores whether a prediction means the same as a gold span, in [0, 1],
deterministically. :class:`CachedJudge` implements the parts common to all of
them, so each concrete judge only writes :meth:`CachedJudge._score_pairs`:

* a prediction equal to the gold after normalisation scores 1 and an empty one
  scores 0, without asking the model (no judge should be able to get these wrong);
* every other ``(prediction, gold)`` pair is scored once per process (an LRU
  of ``cache_size`` pairs) and, with ``cache_path``, once per machine: scores
  are kept in a SQLite file keyed by the judge's :attr:`~CachedJudge.fingerprint`
  (model, prompt, constants), so changing any of those never reuses stale scores.
  SQLite commits are atomic, so a crash never leaves a half-written cache.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ramp_env.cache import SQLiteStoreOwner, connect_shared_sqlite
from ramp_env.errors import InvalidOptionError
from ramp_env.text.normalize import normalize_answer

Pair = tuple[str, str]


@runtime_checkable
class Judge(Protocol):
    """Scores predictions against gold spans: ``score(predictions, golds)[i]`` in [0, 1].

    Implementations must be deterministic: the same pair always gets the same score.
    """

    name: str

    def score(self, predictions: Sequence[str], golds: Sequence[str]) -> list[float]: ...


class _ScoreStore:
    """Persistent ``(judge, prediction, gold) -> score`` table in SQLite."""

    def __init__(self, path: str | os.PathLike[str], judge_key: str) -> None:
        self.path = Path(path).expanduser()
        self.judge_key = judge_key
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # several env processes share the file: the project's shared-cache connection (WAL, the
            # cache's file mode, concurrent first opens retried) and its refusal of a file other
            # users can write (such a score file could set any reward)
            conn = connect_shared_sqlite(self.path, check_same_thread=False)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS judge_scores (judge TEXT NOT NULL, prediction TEXT NOT NULL,"
                " gold TEXT NOT NULL, score REAL NOT NULL, PRIMARY KEY (judge, prediction, gold))"
            )
            conn.commit()
            self._conn = conn
        return self._conn

    def get_many(self, pairs: Sequence[Pair]) -> dict[Pair, float]:
        conn = self._connect()
        found: dict[Pair, float] = {}
        for pred, gold in pairs:
            row = conn.execute(
                "SELECT score FROM judge_scores WHERE judge = ? AND prediction = ? AND gold = ?",
                (self.judge_key, pred, gold),
            ).fetchone()
            # a damaged row (not a score in [0, 1]) is recomputed, never used as a reward
            if row is not None and isinstance(row[0], int | float) and 0.0 <= row[0] <= 1.0:
                found[(pred, gold)] = float(row[0])
        return found

    def put_many(self, scores: dict[Pair, float]) -> None:
        conn = self._connect()
        with conn:  # one transaction: all of these scores or none
            conn.executemany(
                "INSERT OR REPLACE INTO judge_scores VALUES (?, ?, ?, ?)",
                [(self.judge_key, p, g, s) for (p, g), s in scores.items()],
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class CachedJudge(SQLiteStoreOwner, ABC):
    """Base class of the built-in judges: shortcuts, an LRU cache and an optional SQLite cache.

    Args:
        cache_size: pairs kept in memory (least recently used are dropped first).
        cache_path: a SQLite file that keeps scores across processes and runs (None: memory only).
    """

    name = "judge"

    def __init__(self, cache_size: int = 65536, cache_path: str | os.PathLike[str] | None = None) -> None:
        if cache_size < 0:
            raise InvalidOptionError(f"cache_size must be >= 0, got {cache_size}")
        self.cache_size = cache_size
        self.cache_path = cache_path
        self._memory: OrderedDict[Pair, float] = OrderedDict()
        self._store: _ScoreStore | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the scores this judge gives (model, prompt, constants)."""

    @abstractmethod
    def _score_pairs(self, pairs: list[Pair]) -> list[float]:
        """Scores in [0, 1] for pairs that are neither cached nor trivially decided."""

    @staticmethod
    def shortcut(prediction: str, gold: str) -> float | None:
        """1 for a normalised exact match, 0 for an empty prediction, else None (ask the model)."""
        pred = normalize_answer(prediction)
        if not pred:
            return 0.0
        if pred == normalize_answer(gold):
            return 1.0
        return None

    def score(self, predictions: Sequence[str], golds: Sequence[str]) -> list[float]:
        if len(predictions) != len(golds):
            raise ValueError(f"{len(predictions)} predictions for {len(golds)} golds")
        results: list[float | None] = [None] * len(predictions)
        todo: dict[Pair, list[int]] = {}
        with self._lock:
            for i, (pred, gold) in enumerate(zip(predictions, golds)):
                if not isinstance(pred, str) or not isinstance(gold, str):
                    raise TypeError(f"judge inputs must be str, got {type(pred).__name__} and {type(gold).__name__}")
                decided = self.shortcut(pred, gold)
                if decided is not None:
                    results[i] = decided
                elif (pred, gold) in self._memory:
                    self._memory.move_to_end((pred, gold))
                    results[i] = self._memory[(pred, gold)]
                    self.hits += 1
                else:
                    todo.setdefault((pred, gold), []).append(i)
            if todo and self.cache_path is not None:
                stored = self._persistent().get_many(list(todo))
                for pair, value in stored.items():
                    self.hits += len(todo[pair])
                    for i in todo.pop(pair):
                        results[i] = value
                    self._remember(pair, value)
            if todo:
                pairs = list(todo)
                self.misses += len(pairs)
                values = [float(v) for v in self._score_pairs(pairs)]
                if len(values) != len(pairs):
                    raise RuntimeError(f"judge {self.name!r} returned {len(values)} scores for {len(pairs)} pairs")
                for pair, value in zip(pairs, values):
                    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                        raise ValueError(f"judge {self.name!r} scored {value} for {pair!r}, outside [0, 1]")
                    for i in todo[pair]:
                        results[i] = value
                    self._remember(pair, value)
                if self.cache_path is not None:
                    self._persistent().put_many(dict(zip(pairs, values)))
        return [float(r) for r in results]  # type: ignore[arg-type]

    def _remember(self, pair: Pair, value: float) -> None:
        if self.cache_size == 0:
            return
        self._memory[pair] = value
        self._memory.move_to_end(pair)
        while len(self._memory) > self.cache_size:
            self._memory.popitem(last=False)

    def _persistent(self) -> _ScoreStore:
        if self._store is None:
            assert self.cache_path is not None
            self._store = _ScoreStore(self.cache_path, self.fingerprint)
        return self._store

    def cache_clear(self) -> None:
        """Forget the in-memory scores (the SQLite file, if any, is kept)."""
        with self._lock:
            self._memory.clear()
            self.hits = self.misses = 0

    def __call__(self, prediction: str, gold: str) -> float:
        """Score one pair (so a judge is also a per-mask scorer)."""
        return self.score([prediction], [gold])[0]

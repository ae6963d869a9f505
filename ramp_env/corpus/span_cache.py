"""Per-span values cached in SQLite next to a prepared corpus, filled as envs draw passages.

The lazily filled caches (evidence per span, perplexity scores per span) share
one storage scheme: a table ``<table>(pid, start, end, <value column>)`` keyed by
passage id and span offsets, written one passage per transaction in WAL mode, so
a crash leaves all or none of a passage, readers never block the writer, and
parallel envs (vector envs, Ray workers) share one file.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Generic, TypeVar

from ramp_env.cache import connect_shared_sqlite

V = TypeVar("V")
SpanKey = tuple[int, int]


class SpanValueCache(Generic[V]):
    """Values per ``(passage id, start, end)`` in SQLite. Subclasses name the table and the value
    column and may encode values (:meth:`encode`/:meth:`decode`; a row that does not decode is
    treated as missing, so it is recomputed and never trusted)."""

    table = "span_values"
    value_column = "value"
    value_type = "TEXT"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def encode(self, value: V) -> Any:
        return value

    def decode(self, raw: Any) -> V | None:
        return raw

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect_shared_sqlite(self.path, check_same_thread=False)
            # one transaction per passage: a crash keeps all or none of it (no fsync per draw)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (pid TEXT NOT NULL, start INTEGER NOT NULL, "
                f"end INTEGER NOT NULL, {self.value_column} {self.value_type} NOT NULL, PRIMARY KEY (pid, start, end))"
            )
            conn.commit()
            self._conn = conn
        return self._conn

    def get(self, pid: str) -> dict[SpanKey, V]:
        """The cached values of one passage's spans (``{}`` when none)."""
        with self._lock:
            rows = self._connect().execute(
                f"SELECT start, end, {self.value_column} FROM {self.table} WHERE pid = ?", (pid,)
            ).fetchall()
        out: dict[SpanKey, V] = {}
        for start, end, raw in rows:
            value = self.decode(raw)
            if value is not None:
                out[(int(start), int(end))] = value
        return out

    def put(self, pid: str, values: dict[SpanKey, V]) -> None:
        """Store one passage's values in a single transaction."""
        with self._lock:
            conn = self._connect()
            with conn:  # commits on success, rolls back on error
                conn.executemany(
                    f"INSERT OR REPLACE INTO {self.table} (pid, start, end, {self.value_column}) VALUES (?, ?, ?, ?)",
                    [(pid, s, e, self.encode(v)) for (s, e), v in values.items()],
                )

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._connect().execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # a cache pickles as its path (vector-env and Ray workers reopen the file)
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

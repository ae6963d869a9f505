"""On-disk tables a prepared corpus is made of, in SQLite.

SQLite (standard library) gives random access by row number to 21M passages
without holding them in memory, opens read-only in any number of processes at
once, and needs no server. Row ``n`` (1-based ``rowid``) is the ``n``-th passage
of the source file, which also serves as the document key in search indexes.

* :class:`PassageStore`: ``passages(rowid, pid, title, text)``.
* :class:`SpanTable`: ``spans(rowid, n, spans)`` with the salient spans of each
  passage as JSON (no pickle: these files may be shared between users).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ramp_env.corpus.integrity import CacheIntegrityError, rebuild_command
from ramp_env.corpus.passage import Passage
from ramp_env.errors import DataFormatError
from ramp_env.text.spans import SalientSpan, span_problem

_BATCH = 5000


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(f"missing prepared-corpus table: {path}")
    # immutable=1: the file never changes once renamed into place, so readers
    # skip locking; safe for many processes reading one file
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    return conn


@contextlib.contextmanager
def _damage_is_an_error(path: Path) -> Iterator[None]:
    """SQLite's errors on a damaged file (flipped bytes past the header the open-time check reads)
    become one :class:`CacheIntegrityError` naming the file."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise CacheIntegrityError(path, f"SQLite cannot read it ({exc})", rebuild_command(path.parent)) from exc


def _new_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")  # durability comes from the atomic rename
    return conn



def _insert_batched(conn: sqlite3.Connection, sql: str, rows: Iterable[tuple[object, ...]]) -> int:
    """Run ``sql`` on each of ``rows``, ``_BATCH`` rows per ``executemany`` (a corpus can be far larger
    than memory, so rows are never all listed at once); the number of rows inserted."""
    n = 0
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            conn.executemany(sql, batch)
            n += len(batch)
            batch.clear()
    if batch:
        conn.executemany(sql, batch)
        n += len(batch)
    return n

class PassageStore:
    """Read-only random access to the passages of a prepared corpus."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = _open_readonly(self.path)
        with _damage_is_an_error(self.path):
            (self._len,) = self._conn.execute("SELECT COUNT(*) FROM passages").fetchone()

    @staticmethod
    def write(path: str | Path, passages: Iterable[Passage]) -> int:
        """Write ``passages`` to a new store at ``path``; return how many. Duplicate ids are an error."""
        conn = _new_db(Path(path))
        conn.execute("CREATE TABLE passages (rowid INTEGER PRIMARY KEY, pid TEXT NOT NULL, title TEXT, text TEXT)")
        n = _insert_batched(
            conn, "INSERT INTO passages (pid, title, text) VALUES (?, ?, ?)", ((p.id, p.title, p.text) for p in passages)
        )
        try:
            conn.execute("CREATE UNIQUE INDEX passages_pid ON passages (pid)")
        except sqlite3.IntegrityError as exc:
            (dup,) = conn.execute("SELECT pid FROM passages GROUP BY pid HAVING COUNT(*) > 1 LIMIT 1").fetchone()
            conn.close()
            raise DataFormatError(f"corpus has duplicate passage id {dup!r}; passage ids must be unique") from exc
        conn.commit()
        conn.close()
        return n

    def __len__(self) -> int:
        return self._len

    def get(self, rowid: int) -> Passage:
        with _damage_is_an_error(self.path):
            row = self._conn.execute("SELECT pid, title, text FROM passages WHERE rowid = ?", (int(rowid),)).fetchone()
        if row is None:
            raise IndexError(f"no passage at row {rowid} (store has {self._len})")
        return Passage(*row)

    def get_many(self, rowids: Sequence[int]) -> list[Passage]:
        """Passages at ``rowids``, in the order given."""
        if not rowids:
            return []
        marks = ",".join("?" * len(rowids))
        with _damage_is_an_error(self.path):
            rows = self._conn.execute(
                f"SELECT rowid, pid, title, text FROM passages WHERE rowid IN ({marks})", [int(r) for r in rowids]
            ).fetchall()
        by_row = {r[0]: Passage(r[1], r[2], r[3]) for r in rows}
        missing = [int(r) for r in rowids if int(r) not in by_row]
        if missing:  # a search index or span table that belongs to another store
            raise CacheIntegrityError(
                self.path, f"no passage at rows {missing[:5]} (it has {self._len}): an index from another corpus?",
                rebuild_command(self.path.parent),
            )
        return [by_row[int(r)] for r in rowids]

    def rowid_of(self, pid: str) -> int | None:
        row = self._conn.execute("SELECT rowid FROM passages WHERE pid = ?", (pid,)).fetchone()
        return None if row is None else int(row[0])

    def __iter__(self) -> Iterator[Passage]:
        cur = self._conn.execute("SELECT pid, title, text FROM passages ORDER BY rowid")
        for row in cur:
            yield Passage(*row)

    def close(self) -> None:
        self._conn.close()


class SpanTable:
    """Read-only salient spans of every passage of a store, for one extractor.

    With ``store``, every row read is checked against its passage
    (:func:`~ramp_env.text.spans.span_problem`): a row whose offsets fall outside the
    passage, on blank text or on each other is a :class:`CacheIntegrityError` naming the file
    and row, never a garbage answer.
    """

    def __init__(self, path: str | Path, store: PassageStore | None = None) -> None:
        self.path = Path(path)
        self.store = store
        self._conn = _open_readonly(self.path)

    @staticmethod
    def write(path: str | Path, spans_per_passage: Iterable[list[SalientSpan]]) -> int:
        """Write spans in passage order (row 1 first); return the number of rows."""
        conn = _new_db(Path(path))
        conn.execute("CREATE TABLE spans (rowid INTEGER PRIMARY KEY, n INTEGER NOT NULL, spans TEXT NOT NULL)")
        rows = _insert_batched(conn, "INSERT INTO spans (n, spans) VALUES (?, ?)", (
            (len(spans), json.dumps([s.to_json() for s in spans], separators=(",", ":"))) for spans in spans_per_passage
        ))
        conn.execute("CREATE INDEX spans_n ON spans (n)")
        conn.commit()
        conn.close()
        return rows

    def get(self, rowid: int, text: str | None = None) -> list[SalientSpan]:
        """Spans of passage ``rowid``. ``text``: that passage's text when the caller has just read it
        from the store (an env drawing a task does), so the check does not read it a second time."""
        with _damage_is_an_error(self.path):
            row = self._conn.execute("SELECT spans FROM spans WHERE rowid = ?", (int(rowid),)).fetchone()
        if row is None:
            raise IndexError(f"no spans at row {rowid}")
        try:
            spans = [SalientSpan.from_json(s) for s in json.loads(row[0])]
        except (ValueError, TypeError, KeyError) as exc:
            problem: str | None = f"row {rowid} holds no valid spans ({exc})"
        else:
            if self.store is not None and text is None:
                text = self.store.get(rowid).text
            problem = None if text is None else span_problem(spans, text)
            problem = problem and f"row {rowid}: {problem}"
        if problem:
            raise CacheIntegrityError(self.path, problem, rebuild_command(self.path.parent))
        return spans

    def rows_with_at_least(self, n: int) -> np.ndarray:
        """Sorted row numbers of passages with at least ``n`` salient spans (int64)."""
        with _damage_is_an_error(self.path):
            cur = self._conn.execute("SELECT rowid FROM spans WHERE n >= ? ORDER BY rowid", (int(n),))
            return np.fromiter((r[0] for r in cur), dtype=np.int64)

    def close(self) -> None:
        self._conn.close()

"""Salient spans computed when a passage is first drawn, cached on disk: tasks from huge corpora.

Eager span extraction runs spaCy over every passage before the first episode
(~80 passages/s on 2 cores: 3.5 h at 1M passages, days for DPR's 21M). A
:class:`LazySpanTable` instead extracts a passage's spans the first time a task
is drawn from it and stores them in ``lazy-spans-<extractor>.sqlite`` next to the
passage store, so preparing a corpus costs only the store and the index.

The file is one SQLite database in WAL mode: any number of processes (vector
envs, Ray workers, several training runs) read it concurrently and add rows
one transaction at a time; two processes that extract the same passage at once
both compute the same spans and one ``INSERT OR IGNORE`` wins. A killed process
loses at most the row it was writing (SQLite commits are atomic). When an eager
table (``spans-<extractor>.sqlite``, from ``ramp-env build-index``) exists it is
read first. When the corpus directory is read-only the table falls back to
memory (logged once), so a shared read-only cache still works.

This is the one prepared-corpus file that readers write: it is a cache of pure
functions of the passage text, bound to its store by checksum, never trusted
blindly: a foreign file is a :class:`CacheIntegrityError`, and every row read is
checked against its passage (:func:`~ramp_env.text.spans.span_problem`: offsets
inside the text, on non-blank text, not overlapping); a row that fails is
extracted again and replaced (logged), never used. A passage longer than
:data:`~ramp_env.text.spans.MAX_SPAN_TEXT_CHARS` gets no spans.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from ramp_env.cache import check_trusted, connect_shared_sqlite
from ramp_env.corpus.integrity import CacheIntegrityError
from ramp_env.corpus.store import PassageStore, SpanTable
from ramp_env.text.spans import MAX_SPAN_TEXT_CHARS, SalientSpan, SpanExtractor, span_problem

logger = logging.getLogger(__name__)
LAZY_SPANS_VERSION = 1


class LazySpanTable:
    """The :class:`~ramp_env.corpus.store.SpanTable` interface (``get``), filled on demand.

    Args:
        path: the SQLite cache file (created if missing).
        store: the passages whose spans it holds.
        extractor: computes the spans of a passage not cached yet.
        binding: what the file must have been made for (store checksum, passage count);
            a file made for another store raises :class:`CacheIntegrityError`.
        eager: a complete span table to read before extracting, if one exists.
        rebuild: the command printed in integrity errors.
    """

    def __init__(
        self,
        path: str | Path,
        store: PassageStore,
        extractor: SpanExtractor,
        binding: dict[str, object],
        eager: SpanTable | None = None,
        rebuild: str = "",
    ) -> None:
        self.path = Path(path)
        self.store = store
        self.extractor = extractor
        self.eager = eager
        self.rebuild = rebuild or f"rm {self.path}*"
        self._binding = json.dumps(
            {"version": LAZY_SPANS_VERSION, "extractor": extractor.cache_key, **binding}, sort_keys=True
        )
        self._memory: dict[int, list[SalientSpan]] = {}
        self._lock = threading.Lock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None
        self._writable = True
        self._readonly: sqlite3.Connection | None = None  # an existing cache read when we cannot write
        self.extracted = 0  # passages this object extracted (not read from the cache)

    # -- connection (one per process: SQLite connections must not cross a fork) ---------------

    def _connection(self) -> sqlite3.Connection | None:
        if self._pid == os.getpid():
            return self._conn
        self._pid, self._conn = os.getpid(), None
        try:
            conn = connect_shared_sqlite(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS spans (rowid INTEGER PRIMARY KEY, n INTEGER NOT NULL, spans TEXT NOT NULL)")
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('binding', ?)", (self._binding,))
            (found,) = conn.execute("SELECT value FROM meta WHERE key = 'binding'").fetchone()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and _read_only(exc):
                self._fall_back_to_memory(exc)
                return None
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
                # another process held the file past the busy timeout: busy, not damaged
                busy = f"span cache {self.path} stayed locked by another process ({exc})"
                raise sqlite3.OperationalError(busy) from exc
            raise CacheIntegrityError(self.path, f"not a readable span cache ({exc})", self.rebuild) from exc
        if found != self._binding:
            conn.close()
            raise CacheIntegrityError(self.path, f"made for another corpus or extractor ({found})", self.rebuild)
        self._conn = conn
        return conn

    def _fall_back_to_memory(self, exc: Exception) -> None:
        if self._writable:
            logger.warning("span cache %s is not writable (%s); keeping new spans in memory only", self.path, exc)
        self._writable = False
        self._conn = None
        # a cache that already exists is still worth reading, if no other user can write it
        if not self.path.is_file():
            return
        check_trusted(self.path)
        # mode=ro sees rows still in the write-ahead log; immutable=1 works where even the
        # log's shared-memory file cannot be opened (then only checkpointed rows are seen)
        for query in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(f"file:{self.path}?{query}", uri=True, check_same_thread=False)
                (found,) = conn.execute("SELECT value FROM meta WHERE key = 'binding'").fetchone()
            except (sqlite3.DatabaseError, TypeError):
                continue
            if found == self._binding:
                self._readonly = conn
            return

    # -- reading ------------------------------------------------------------------------------

    def get(self, rowid: int, text: str | None = None) -> list[SalientSpan]:
        """Spans of passage ``rowid``: from a cache if there, else extracted now and cached.
        ``text``: that passage's text when the caller has just read it from the store (not read again)."""
        rowid = int(rowid)
        if not 1 <= rowid <= len(self.store):
            raise IndexError(f"no passage at row {rowid} (store has {len(self.store)})")
        with self._lock:
            if rowid in self._memory:
                return list(self._memory[rowid])
            if self.eager is not None:
                return self.eager.get(rowid, text)
            conn = self._connection()
            source = conn if conn is not None else self._readonly
            if text is None:
                text = self.store.get(rowid).text
            stale = False
            if source is not None:
                row = source.execute("SELECT spans FROM spans WHERE rowid = ?", (rowid,)).fetchone()
                if row is not None:
                    spans, problem = self._decode(rowid, row[0], text)
                    if problem is None:
                        return spans
                    logger.warning("span cache %s: %s; extracting the passage again", self.path, problem)
                    stale = True
            spans = self._extract(text)
            self.extracted += 1
            if conn is not None:
                try:
                    conn.execute(
                        f"INSERT OR {'REPLACE' if stale else 'IGNORE'} INTO spans (rowid, n, spans) VALUES (?, ?, ?)",
                        (rowid, len(spans), json.dumps([s.to_json() for s in spans], separators=(",", ":"))),
                    )
                except sqlite3.OperationalError as exc:  # disk full, or made read-only meanwhile
                    self._fall_back_to_memory(exc)
            if conn is None or not self._writable:
                self._memory[rowid] = spans
            return list(spans)

    def fill(self, rows: Iterable[int], batch: int = 256) -> int:
        """Extract and cache the spans of ``rows`` not cached yet, in batches (``nlp.pipe`` is
        several times faster than one passage at a time); return how many were extracted.
        ``ramp-env build-index --task-pool`` uses it to prepare a pool ahead of time."""
        conn = self._connection()
        if conn is None:
            raise OSError(f"cannot write the span cache {self.path}")
        if self.eager is not None:
            return 0
        done = 0
        pending: list[int] = []

        def flush() -> int:
            known = {
                r for (r,) in conn.execute(
                    f"SELECT rowid FROM spans WHERE rowid IN ({','.join('?' * len(pending))})", pending
                )
            }
            todo = [r for r in pending if r not in known]
            # a passage too long for spans is extracted as "" (no spans, never masked)
            texts = (p.text if len(p.text) <= MAX_SPAN_TEXT_CHARS else "" for p in self.store.get_many(todo))
            values = [
                (r, len(spans), json.dumps([s.to_json() for s in spans], separators=(",", ":")))
                for r, spans in zip(todo, self.extractor.extract_batch(texts))
            ]
            with self._lock:
                conn.execute("BEGIN")
                conn.executemany("INSERT OR IGNORE INTO spans (rowid, n, spans) VALUES (?, ?, ?)", values)
                conn.execute("COMMIT")
            return len(values)

        for row in rows:
            if not 1 <= int(row) <= len(self.store):
                raise IndexError(f"no passage at row {row} (store has {len(self.store)})")
            pending.append(int(row))
            if len(pending) >= batch:
                done += flush()
                pending.clear()
        if pending:
            done += flush()
        self.extracted += done
        return done

    def _extract(self, text: str) -> list[SalientSpan]:
        if len(text) > MAX_SPAN_TEXT_CHARS:
            return []  # never masked (module docs)
        return next(iter(self.extractor.extract_batch([text])))

    def _decode(self, rowid: int, raw: str, text: str) -> tuple[list[SalientSpan], str | None]:
        """The spans of a cached row and why they are unusable for ``text`` (``None``: usable)."""
        try:
            spans = [SalientSpan.from_json(s) for s in json.loads(raw)]
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return [], f"row {rowid} holds no valid spans ({exc})"
        problem = span_problem(spans, text)
        return spans, problem and f"row {rowid}: {problem}"

    def cached_rows(self) -> int:
        """How many passages have spans in the on-disk cache."""
        conn = self._connection()
        if conn is None:
            return len(self._memory)
        (n,) = conn.execute("SELECT COUNT(*) FROM spans").fetchone()
        return int(n)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.update(_conn=None, _pid=-1, _lock=None, _memory={}, _readonly=None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _read_only(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text or "disk i/o" in text


__all__ = ["LAZY_SPANS_VERSION", "LazySpanTable"]

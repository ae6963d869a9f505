"""Atomic writes: a failure leaves the old file (or nothing), never a half-written one.
Shared SQLite caches: processes that open a new file together all succeed."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ramp_env.cache import (
    SQLiteStoreOwner,
    atomic_path,
    atomic_write_text,
    cache_root,
    connect_shared_sqlite,
    file_fingerprint,
)


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]


def test_directory_build_is_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt), atomic_path(target, is_dir=True) as tmp:
        (tmp / "part").write_text("x")
        raise KeyboardInterrupt
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "part").write_text("x")
    assert (target / "part").read_text() == "x"


def test_cache_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMP_ENV_CACHE", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"


def test_fingerprint_sees_edits(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"a" * (3 << 20))
    before = file_fingerprint(path)
    data = bytearray(path.read_bytes())
    data[-10] = ord("b")
    path.write_bytes(bytes(data))
    assert file_fingerprint(path) != before
    assert file_fingerprint(path, extra="x") != file_fingerprint(path)


_OPENERS = 4
_BARRIER = None


def _keep_barrier(barrier) -> None:
    global _BARRIER
    _BARRIER = barrier


def _open_new_files_together(directory: str, files: int) -> list[str]:
    """Open ``files`` new caches, each at the same moment as the other workers; return the errors."""
    errors = []
    for i in range(files):
        _BARRIER.wait(timeout=60)
        try:
            conn = connect_shared_sqlite(Path(directory) / f"{i}.sqlite")
            conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)")
            conn.execute("INSERT OR IGNORE INTO t VALUES (1)")
            conn.commit()
            conn.close()
        except sqlite3.Error as exc:
            errors.append(repr(exc))
    return errors


def test_processes_opening_a_new_cache_together_all_succeed(tmp_path: Path) -> None:
    # SQLite's busy timeout does not cover the switch to WAL: opened this way with a plain
    # connect + PRAGMA, about 6% of these opens failed with "database is locked"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(_OPENERS)
    with ProcessPoolExecutor(_OPENERS, mp_context=ctx, initializer=_keep_barrier, initargs=(barrier,)) as pool:
        futures = [pool.submit(_open_new_files_together, str(tmp_path), 100) for _ in range(_OPENERS)]
        errors = [e for f in futures for e in f.result(timeout=600)]
    assert errors == []
    for i in range(100):
        conn = sqlite3.connect(tmp_path / f"{i}.sqlite")
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


def test_errors_other_than_a_lock_are_raised(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.sqlite"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        connect_shared_sqlite(bad)


class _Owner(SQLiteStoreOwner):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: sqlite3.Connection | None = connect_shared_sqlite(path, check_same_thread=False)
        self._lock = threading.Lock()


def test_a_store_owner_pickles_without_its_connection_and_gets_a_new_lock(tmp_path: Path) -> None:
    owner = _Owner(tmp_path / "s.sqlite")
    with owner._lock:  # a held lock must not travel: the copy's lock is free
        copy = pickle.loads(pickle.dumps(owner))
    assert copy.path == owner.path and copy._store is None
    assert copy._lock is not owner._lock and copy._lock.acquire(blocking=False)
    assert owner._store is not None  # the original keeps its connection
    owner._store.close()

"""Where built artefacts live, how they are named, and how they are written safely.

Everything the package builds (the default corpus file, the passage store, span
tables, search indexes) goes under one cache root: ``cache_dir=`` if given, else
``$RAMP_ENV_CACHE``, else the platform cache directory (``platformdirs``). Every
artefact is written to a temporary sibling and renamed into place, so a crash or
a kill mid-build never leaves a half-written file that a later run would trust,
and several processes may build the same artefact at once: the first rename wins
and the others discard their copy.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs

CACHE_ENV_VAR = "RAMP_ENV_CACHE"
# temp dirs older than this are leftovers of a killed build and may be removed
STALE_TMP_SECONDS = 6 * 3600


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$RAMP_ENV_CACHE``, else the user cache dir."""
    root = cache_dir or os.environ.get(CACHE_ENV_VAR) or platformdirs.user_cache_dir("ramp-env")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


# files up to this size are hashed whole; larger ones are sampled (see file_fingerprint)
FULL_HASH_BYTES = 64 << 20
_SAMPLE_BLOCKS = 64


def file_fingerprint(path: str | os.PathLike[str], extra: str = "") -> str:
    """A content fingerprint of a corpus file that notices any edit, cheap even for a 13 GB file.

    Files up to ``FULL_HASH_BYTES`` (64 MiB) are hashed whole, so any
    changed byte changes the fingerprint. Larger files hash their size, modification
    time (ns), the first and last MiB and 64 evenly spaced 64 KiB blocks: hashing
    all of a 21M-passage file would take longer than many index loads, and an edit
    that keeps the size and misses every sampled block still changes the mtime
    (copying a big file without keeping its mtime, ``cp`` rather than ``cp -p`` or
    ``rsync -a``, therefore prepares it again). ``extra`` salts the hash (the loader
    options, for example).
    """
    path = Path(path)
    stat = path.stat()
    size = stat.st_size
    h = hashlib.blake2b(f"{size}:{extra}".encode(), digest_size=20)
    with open(path, "rb") as fh:
        if size <= FULL_HASH_BYTES:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        else:
            h.update(f":mtime={stat.st_mtime_ns}".encode())
            h.update(fh.read(1 << 20))
            for i in range(1, _SAMPLE_BLOCKS + 1):
                fh.seek(size * i // (_SAMPLE_BLOCKS + 1))
                h.update(fh.read(1 << 16))
            fh.seek(max(0, size - (1 << 20)))
            h.update(fh.read(1 << 20))
    return h.hexdigest()[:20]


def _share_readable(path: Path, is_dir: bool) -> None:
    """Give ``path`` (and, for a directory, everything in it) the modes the umask allows.

    mkstemp/mkdtemp create owner-only files, and tantivy writes ``meta.json`` and
    ``.managed.json`` as 0600; cached artefacts are meant to be shared read-only
    (other users, other processes, read-only mounts), so honour the umask throughout.
    """
    umask = os.umask(0)
    os.umask(umask)
    if is_dir:
        for root, dirs, files in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777 & ~umask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~umask)
    os.chmod(path, (0o777 if is_dir else 0o666) & ~umask)


@functools.lru_cache(maxsize=1)
def _host_tag() -> str:
    """Host name plus PID namespace: pids are only comparable between processes that share both
    (containers with the host's network share its host name, not its pids)."""
    host = "".join(ch if ch.isalnum() else "_" for ch in socket.gethostname())[:40] or "host"
    try:
        return f"{host}_{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:  # not Linux: no way to tell namespaces apart, so never judge pids
        return ""


def _tmp_prefix(name: str) -> str:
    """``.<name>.tmp-<host>-<pid>-``: names the builder, so its leftovers can be recognised."""
    return f".{name}.tmp-{_host_tag() or 'nohost'}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def _clean_stale_tmp(parent: Path, name: str) -> None:
    """Remove leftovers of killed builds of ``name``: those of dead processes on this host
    (a killed 1M-passage build leaves GBs), and any older than STALE_TMP_SECONDS (other
    hosts sharing the cache, whose processes we cannot see)."""
    now = time.time()
    ours = f".{name}.tmp-{_host_tag()}-"
    for tmp in parent.glob(f".{name}.tmp-*"):
        with contextlib.suppress(OSError):
            pid = tmp.name[len(ours) :].split("-", 1)[0] if _host_tag() and tmp.name.startswith(ours) else ""
            dead = pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))
            if dead or now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], is_dir: bool = False, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write ``target`` to; rename it into place on success.

    On an exception the temporary path is removed and ``target`` is untouched. When
    another process created ``target`` meanwhile, a directory build is discarded
    (theirs is as good as ours) and a file replaces it atomically, unless
    ``replace=False``: then the first file in place wins too, so a file that readers
    (and its checksum record) already know never changes under them.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(target.parent, target.name)
    prefix = _tmp_prefix(target.name)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _share_readable(tmp, is_dir)
        if is_dir:
            try:
                os.rename(tmp, target)
            except OSError:
                if not target.exists():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # lost the race to another builder
        else:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if replace:
                os.replace(tmp, target)
            else:
                try:  # link() never overwrites: the first builder's file stays
                    os.link(tmp, target)
                except FileExistsError:
                    pass
                except OSError:  # a file system without hard links: rename unless a file is there
                    if not target.exists():
                        os.replace(tmp, target)
                tmp.unlink(missing_ok=True)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file and a rename."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(target: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# -- output paths: checked before long work starts, so a bad path never costs a run --------------


def _probe_writable(directory: Path, what: str) -> None:
    for ancestor in (directory, *directory.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ValueError(f"{what}: {ancestor} is a file, not a directory")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ValueError(f"{what}: cannot write in {directory} ({exc.strerror or exc})") from exc


def check_output_file(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Fail before any work if ``path`` cannot be written as a file (a directory, an unwritable
    or impossible parent), so a long run never ends by losing its output."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{option} {path} is a directory; give a file name, e.g. {path / 'trajectories.jsonl'}")
    _probe_writable(path.parent, f"{option} {path}")
    return path


def check_output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Fail before any work if ``path`` cannot be used as an output directory."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file; give a directory (it is created if missing)")
    _probe_writable(path, f"{option} {path}")
    return path


# -- SQLite caches that several processes open at once ------------------------------------------


def connect_shared_sqlite(
    path: str | os.PathLike[str], *, timeout: float = 60.0, **kwargs: Any
) -> sqlite3.Connection:
    """A connection in WAL mode to a SQLite cache that vector-env workers, Ray actors and parallel
    runs share (WAL: readers never block the writer; with ``synchronous=NORMAL`` a crash never
    corrupts the file or splits a transaction, and a power cut may lose the last few commits, which
    a cache recomputes).

    ``timeout`` is SQLite's busy timeout: reads and writes wait up to that long for another
    process's lock. Switching a file to WAL is not covered by it: when another process holds a
    lock at that moment SQLite answers "database is locked" at once (about 6% of first opens when
    four processes open new files together). That switch is retried here until ``timeout``, so
    concurrent first opens never fail; any other error is raised unchanged. Extra ``kwargs`` go
    to :func:`sqlite3.connect`.
    """
    conn = sqlite3.connect(path, timeout=timeout, **kwargs)
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
            if not busy or time.monotonic() >= deadline:
                conn.close()
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.1)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn

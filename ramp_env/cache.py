"""Where built artefacts live, how they are named, and how they are written safely.

Everything the package builds (the default corpus file, the passage store, span
tables, search indexes) goes under one cache root: ``cache_dir=`` if given, else
``$RAMP_ENV_CACHE``, else the platform cache directory (``platformdirs``). Every
artefact is written to a temporary sibling and renamed into place, so a crash or
a kill mid-build never leaves a half-written file that a later run would trust,
and several processes may build the same artefact at once: the first rename wins
and the others discard their copy.

Trust boundary. Whoever can write the cache can change what the env serves
(passages, spans, evidence), and the checksums of :mod:`ramp_env.corpus.integrity`
cannot stop them: a checksum detects accidental damage, not a deliberate edit, since
anyone who can edit a file can recompute its checksum. So, as ``ssh`` does with key
files, a cache directory or file that another user can write (owned by another
user other than root, or group- or world-writable; a world-writable ancestor only
with the sticky bit, as ``/tmp``) is refused with :class:`UntrustedCacheError`,
unless the user trusts it explicitly with ``RAMP_ENV_TRUST_CACHE=1``. Everything
the package creates is writable by its owner only (``0644``/``0755`` less the
umask), created with ``O_EXCL``/``O_NOFOLLOW`` and given its mode through the open
descriptor, so a symlink planted in the cache is never followed; the process
umask is never read by changing it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import secrets
import shutil
import socket
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs

from ramp_env.errors import InvalidOptionError, RampEnvError

CACHE_ENV_VAR = "RAMP_ENV_CACHE"
# set to 1 to use cache directories and files other users can write (module docs)
TRUST_ENV_VAR = "RAMP_ENV_TRUST_CACHE"
FILE_MODE = 0o644  # less the umask: readable by others (shared caches), writable by the owner only
DIR_MODE = 0o755
# POSIX owners, modes and descriptor calls; elsewhere (Windows) the checks below have nothing to check
_POSIX = all(hasattr(os, name) for name in ("geteuid", "fchmod", "fwalk", "O_NOFOLLOW"))
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# temp dirs older than this are leftovers of a killed build and may be removed
STALE_TMP_SECONDS = 6 * 3600


class UntrustedCacheError(RampEnvError, PermissionError):
    """A cache directory or file another user can write (see the module docs)."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"refusing cache path {self.path}: {problem}; whoever can write it can change passages, answers "
            f"and evidence. Fix it (chmod go-w, or use a cache of your own) or set {TRUST_ENV_VAR}=1 to trust it"
        )

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.path, self.problem)


def cache_trusted_by_user() -> bool:
    """True when ``RAMP_ENV_TRUST_CACHE`` says to use caches other users can write."""
    return os.environ.get(TRUST_ENV_VAR, "").strip().lower() in ("1", "true", "yes")


def _writable_by_others(st: os.stat_result, ancestor: bool) -> str | None:
    """Why another user can write the entry with stat ``st``, or ``None``."""
    if st.st_uid not in (0, os.geteuid()):
        return f"it is owned by uid {st.st_uid}, not by you or root"
    if st.st_mode & 0o022:
        # a sticky directory (/tmp) lets others add entries but not rename or remove ours
        if ancestor and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            return None
        return f"other users can write it (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_trusted(path: str | os.PathLike[str], *, allow_link: bool = False) -> None:
    """Raise :class:`UntrustedCacheError` when another user can write ``path`` or a directory
    above it, or when ``path`` is a symbolic link (unless ``allow_link``: the cache root may
    be one). Nothing is checked with ``RAMP_ENV_TRUST_CACHE=1``; a missing ``path`` is fine."""
    if cache_trusted_by_user() or not _POSIX:
        return
    path = Path(os.path.abspath(path))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        if not allow_link:
            raise UntrustedCacheError(path, "it is a symbolic link, which the package never creates in a cache")
        path = path.resolve()
        st = os.stat(path)
    problem = _writable_by_others(st, ancestor=False)
    if problem:
        raise UntrustedCacheError(path, problem)
    for ancestor in path.resolve().parents:
        problem = _writable_by_others(os.stat(ancestor), ancestor=True)
        if problem:
            raise UntrustedCacheError(ancestor, f"a directory above the cache: {problem}")


def check_tree_trusted(directory: str | os.PathLike[str]) -> None:
    """:func:`check_trusted` for ``directory`` and everything in it (links are refused, never
    followed): a prepared corpus is used only when no other user can have changed any of it."""
    directory = Path(directory)
    check_trusted(directory)
    if cache_trusted_by_user() or not _POSIX:
        return
    for root, dirs, files in os.walk(directory):  # os.walk never enters links to directories
        for name in (*dirs, *files):
            entry = os.path.join(root, name)
            try:
                st = os.lstat(entry)
            except FileNotFoundError:  # a SQLite -wal file or a build's temp entry, gone meanwhile
                continue
            if stat.S_ISLNK(st.st_mode):
                raise UntrustedCacheError(entry, "it is a symbolic link, which the package never creates in a cache")
            problem = _writable_by_others(st, ancestor=False)
            if problem:
                raise UntrustedCacheError(entry, problem)


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` with mode ``0755`` less the umask for every directory it creates
    (``Path.mkdir(parents=True)`` gives parents ``0777`` less the umask: group-writable
    under a ``002`` umask)."""
    missing = []
    for entry in (path, *path.parents):
        if os.path.lexists(entry):
            break
        missing.append(entry)
    for entry in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a concurrent process made it
            os.mkdir(entry, DIR_MODE)


def make_cache_dir(path: str | os.PathLike[str], *, allow_link: bool = False) -> Path:
    """Create ``path`` and its missing parents (mode ``0755`` less the umask) and check that it
    is trusted (:func:`check_trusted`): an existing directory another user can write, or a link
    planted in its place, is refused rather than used."""
    path = Path(path).expanduser()
    _make_dirs(path)
    check_trusted(path, allow_link=allow_link)
    if not path.is_dir():
        raise NotADirectoryError(f"cache path {path} is not a directory")
    return path


def _refuse_link(path: Path) -> None:
    if os.path.islink(path):
        raise UntrustedCacheError(path, "a symbolic link is where the build puts its result")


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$RAMP_ENV_CACHE``, else the user cache dir; created if
    missing and refused when other users can write it (module docs)."""
    root = cache_dir or os.environ.get(CACHE_ENV_VAR) or platformdirs.user_cache_dir("ramp-env")
    return make_cache_dir(Path(root).expanduser(), allow_link=True)


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


def create_file(path: str | os.PathLike[str], mode: int = FILE_MODE) -> None:
    """Create the empty file ``path`` (``mode`` less the umask); fails if anything, a symlink
    included, is there already (``O_EXCL`` with ``O_NOFOLLOW``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    os.close(os.open(path, flags, mode))


def _settle_file(fd: int, name: str, mode: int) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        raise UntrustedCacheError(name, "the file being built was replaced by something the build did not create")
    os.fchmod(fd, mode)


def _settle_modes(tmp: Path, is_dir: bool, mode: int) -> None:
    """Give a finished build its modes through open descriptors, never following a link.

    A file is reopened with ``O_NOFOLLOW`` and ``fchmod``-ed and fsynced. A directory (tantivy
    writes some files ``0600``) is walked with :func:`os.fwalk`, which never follows links; each
    file is opened relative to its directory's descriptor with ``O_NOFOLLOW``. A symlink or a
    file another user owns inside the build is refused: the build made neither.
    """
    if not _POSIX:
        return
    nofollow = os.O_RDONLY | _NOFOLLOW | _CLOEXEC
    file_mode = mode & FILE_MODE  # files of a directory build: its mode without execute bits
    try:
        if not is_dir:
            fd = os.open(tmp, nofollow)
            try:
                _settle_file(fd, str(tmp), file_mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            return
        for root, dirs, files, root_fd in os.fwalk(tmp, follow_symlinks=False):
            st = os.fstat(root_fd)
            if st.st_uid != os.geteuid():
                raise UntrustedCacheError(root, "a directory in the build is owned by another user")
            os.fchmod(root_fd, mode)
            for name in dirs:  # fwalk lists links to directories here without entering them
                if stat.S_ISLNK(os.lstat(name, dir_fd=root_fd).st_mode):
                    raise UntrustedCacheError(os.path.join(root, name), "a symbolic link inside the build")
            for name in files:
                fd = os.open(name, nofollow, dir_fd=root_fd)
                try:
                    _settle_file(fd, os.path.join(root, name), file_mode)
                finally:
                    os.close(fd)
    except OSError as exc:
        if isinstance(exc, UntrustedCacheError):
            raise
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise UntrustedCacheError(tmp, "a symbolic link replaced a file of the build") from exc
        raise


@functools.lru_cache(maxsize=1)
def host_tag() -> str:
    """Host name plus PID namespace: pids are only comparable between processes that share both
    (containers with the host's network share its host name, not its pids)."""
    host = "".join(ch if ch.isalnum() else "_" for ch in socket.gethostname())[:40] or "host"
    try:
        return f"{host}_{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:  # not Linux: no way to tell namespaces apart, so never judge pids
        return ""


def _tmp_prefix(name: str) -> str:
    """``.<name>.tmp-<host>-<pid>-``: names the builder, so its leftovers can be recognised."""
    return f".{name}.tmp-{host_tag() or 'nohost'}-{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this PID namespace (see :func:`host_tag`) is alive."""
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
    ours = f".{name}.tmp-{host_tag()}-"
    for tmp in parent.glob(f".{name}.tmp-*"):
        with contextlib.suppress(OSError):
            pid = tmp.name[len(ours) :].split("-", 1)[0] if host_tag() and tmp.name.startswith(ours) else ""
            dead = pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))
            if dead or now - tmp.lstat().st_mtime > STALE_TMP_SECONDS:
                # a link is removed as a link (rmtree refuses links; its target is never touched)
                shutil.rmtree(tmp) if tmp.is_dir() and not tmp.is_symlink() else tmp.unlink()


def _new_tmp(parent: Path, prefix: str, is_dir: bool) -> tuple[Path, int]:
    """A fresh temporary entry in ``parent`` (``O_EXCL``: never one planted there) and its mode."""
    for _ in range(100):
        tmp = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            if is_dir:
                os.mkdir(tmp, DIR_MODE)
            else:
                create_file(tmp)
        except FileExistsError:
            continue
        # the mode the umask gave it: the build's entries get the same (no os.umask() call)
        return tmp, stat.S_IMODE(os.lstat(tmp).st_mode)
    raise FileExistsError(f"cannot create a temporary name in {parent}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], is_dir: bool = False, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write ``target`` to; rename it into place on success.

    On an exception the temporary path is removed and ``target`` is untouched. When
    another process created ``target`` meanwhile, a directory build is discarded
    (theirs is as good as ours) and a file replaces it atomically, unless
    ``replace=False``: then the first file in place wins too, so a file that readers
    (and its checksum record) already know never changes under them. The temporary
    entry is created exclusively and its modes set through descriptors that never follow
    a link (:func:`_settle_modes`); a link found in place of ``target`` is refused.
    """
    target = Path(target)
    _make_dirs(target.parent)
    _clean_stale_tmp(target.parent, target.name)
    tmp, mode = _new_tmp(target.parent, _tmp_prefix(target.name), is_dir)
    try:
        yield tmp
        _settle_modes(tmp, is_dir, mode)
        if is_dir:
            try:
                os.rename(tmp, target)
            except OSError:
                if not os.path.lexists(target):
                    raise
                _refuse_link(target)
                shutil.rmtree(tmp, ignore_errors=True)  # lost the race to another builder
        elif replace:
            os.replace(tmp, target)  # replaces whatever entry is there, a link as a link
        else:
            try:  # link() never overwrites: the first builder's file stays
                os.link(tmp, target)
            except FileExistsError:
                _refuse_link(target)
            except OSError:  # a file system without hard links: rename unless a file is there
                if not os.path.lexists(target):
                    os.replace(tmp, target)
            tmp.unlink(missing_ok=True)
    except BaseException:
        if tmp.is_dir() and not tmp.is_symlink():
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
                raise InvalidOptionError(f"{what}: {ancestor} is a file, not a directory")
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise InvalidOptionError(f"{what}: cannot write in {directory} ({exc.strerror or exc})") from exc


def check_output_file(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Fail before any work if ``path`` cannot be written as a file (a directory, an unwritable
    or impossible parent), so a long run never ends by losing its output."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidOptionError(f"{option} {path} is a directory; give a file name, e.g. {path / 'trajectories.jsonl'}")
    _probe_writable(path.parent, f"{option} {path}")
    return path


def check_output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Fail before any work if ``path`` cannot be used as an output directory."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise InvalidOptionError(f"{option} {path} is a file; give a directory (it is created if missing)")
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
    path = Path(path)
    # created here, exclusively, with the cache's mode (SQLite gives its -wal and -shm files the
    # same); where that fails (it exists; a read-only directory) SQLite reports what it finds
    with contextlib.suppress(OSError):
        create_file(path)
    check_trusted(path)  # a file or directory other users can write is refused
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


class SQLiteStoreOwner:
    """Mixin of the objects that keep a lazily opened SQLite store in ``self._store`` and guard
    their caches with ``self._lock`` (the reward judges, the LLM evidence verifier).

    Such objects travel to vector-env workers and Ray actors by pickle, and neither a SQLite
    connection nor a lock pickles: the copy gets no store (it reopens the file on first use)
    and a fresh lock. Subclasses that drop more (a loaded model) extend ``__getstate__``.
    """

    _store: Any
    _lock: threading.Lock

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_store"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

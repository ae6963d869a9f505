"""Checksums of prepared-corpus artefacts: a cheap check on every open, a full one on demand.

What this protects against, and what it does not
-------------------------------------------------
The checksums detect **accidental damage**: a truncated copy, a flipped byte, a
file swapped for another artefact (or another corpus's), a build killed between
two renames, a record edited by hand. They are unkeyed hashes, **not signatures**:
whoever can write the cache can change a passage and recompute every checksum
(with this module's own functions), and the result opens and passes
``ramp-env build-index --verify``. Protection against **other users** is the
cache's file permissions, enforced when a cache is opened
(:func:`ramp_env.cache.check_tree_trusted`: a directory or file another user can
write is refused unless ``RAMP_ENV_TRUST_CACHE=1``). Against yourself (your own
account, or root) nothing in the cache can protect.

How
---
Every artefact of a prepared corpus (passage store, span tables, search index)
gets a checksum record when it is built: its size, a hash of its first and last
64 KiB (the "edges": SQLite's header and schema page, a tantivy file's footer)
and a SHA-256 of all of it. Opening a corpus checks sizes and edges, which costs
a few reads however big the corpus is and catches truncation, a file swapped
for another and damage to headers; ``ramp-env build-index --verify``
(:meth:`~ramp_env.corpus.prepared.PreparedCorpus.verify`) hashes every byte.
Any mismatch is one :class:`CacheIntegrityError` that names the file and the
command that rebuilds it. Rows read from span tables and from the lazily filled
caches are checked again on every read (spans on their passage, evidence never the
source or a copy of it): see :mod:`ramp_env.corpus.store` and :mod:`ramp_env.masking.evidence`.

Records live in ``integrity/<artefact>.json`` next to the artefacts (the passage
store's in ``manifest.json``). Each record carries a checksum of its own content
(:func:`with_digest`), so a damaged record is an error too, never a silently
weaker check. Artefacts are renamed into place complete
(``ramp_env.cache.atomic_path``), so one whose record is missing (a builder
killed between the two renames) is sealed by the next process that can write
the cache; a read-only cache without the record is an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
from pathlib import Path
from typing import Any

from ramp_env.cache import atomic_write_json
from ramp_env.errors import RampEnvError

EDGE_BYTES = 64 << 10
RECORD_DIR = "integrity"
# lock files tantivy creates and any number of processes may leave behind: not index content
_IGNORED = (".tantivy-meta.lock", ".tantivy-writer.lock")


class CacheIntegrityError(RampEnvError, RuntimeError):
    """A prepared-corpus file is damaged, truncated, swapped or unreadable.

    Attributes:
        path: the damaged file.
        problem: what is wrong with it.
        rebuild: the command that rebuilds the prepared corpus.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, rebuild: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.rebuild = rebuild
        super().__init__(f"prepared corpus file {self.path} is damaged: {problem}. Rebuild it with: {rebuild}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # rebuilt from its fields: errors cross process boundaries (vector envs, Ray, pools)
        return type(self), (self.path, self.problem, self.rebuild)


def _edges(path: Path, size: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        h.update(fh.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            fh.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            h.update(fh.read(EDGE_BYTES))
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"size", "edges", "sha256"}`` of a file."""
    path = Path(path)
    size = path.stat().st_size
    return {"size": size, "edges": _edges(path, size), "sha256": _sha256(path)}


def artefact_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The record of a file, or of every file in a directory (``{"files": {name: record}}``)."""
    path = Path(path)
    if path.is_dir():
        return {"files": {p.name: file_record(p) for p in sorted(path.iterdir()) if p.name not in _IGNORED}}
    return file_record(path)


def _check_file(path: Path, record: dict[str, Any], full: bool, rebuild: str) -> None:
    try:
        size = path.stat().st_size
        if size != record["size"]:
            raise CacheIntegrityError(path, f"{size} bytes, expected {record['size']} (truncated or replaced)", rebuild)
        if _edges(path, size) != record["edges"]:
            raise CacheIntegrityError(path, "its first or last 64 KiB changed", rebuild)
        if full and _sha256(path) != record["sha256"]:
            raise CacheIntegrityError(path, "its SHA-256 differs from the one recorded when it was built", rebuild)
    except OSError as exc:
        raise CacheIntegrityError(path, f"cannot be read ({exc.strerror or exc})", rebuild) from exc
    except (KeyError, TypeError) as exc:
        raise CacheIntegrityError(path, f"its checksum record is malformed ({exc!r})", rebuild) from exc


def check_artefact(path: str | os.PathLike[str], record: dict[str, Any], full: bool, rebuild: str) -> None:
    """Raise :class:`CacheIntegrityError` unless ``path`` matches ``record`` (sizes and edges; all bytes if ``full``)."""
    path = Path(path)
    if not path.exists():
        raise CacheIntegrityError(path, "it is missing", rebuild)
    if "files" not in record:
        if path.is_dir():
            raise CacheIntegrityError(path, "a directory where a file was built", rebuild)
        _check_file(path, record, full, rebuild)
        return
    if not path.is_dir():
        raise CacheIntegrityError(path, "a file where a directory was built", rebuild)
    present = {p.name for p in path.iterdir() if p.name not in _IGNORED}
    expected = set(record["files"])
    if present != expected:
        odd = sorted(present ^ expected)[:5]
        raise CacheIntegrityError(path, f"its files differ from those built (missing or extra: {odd})", rebuild)
    for name, file_rec in sorted(record["files"].items()):
        _check_file(path / name, file_rec, full, rebuild)


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def with_digest(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with a ``"digest"``, an unkeyed SHA-256 of its own content: a checksum against
    accidental damage, not a signature (module docs; read it back with :func:`read_checksummed`)."""
    body = {k: v for k, v in body.items() if k != "digest"}
    return {**body, "digest": _digest(body)}


def read_checksummed(path: str | os.PathLike[str], rebuild: str) -> dict[str, Any]:
    """A JSON object written by :func:`with_digest`; damage of any kind is a :class:`CacheIntegrityError`."""
    path = Path(path)
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise CacheIntegrityError(path, f"cannot be read ({exc.strerror or exc})", rebuild) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CacheIntegrityError(path, f"not valid JSON ({exc})", rebuild) from exc
    if not isinstance(obj, dict) or "digest" not in obj:
        raise CacheIntegrityError(path, "not a checksummed record", rebuild)
    if _digest({k: v for k, v in obj.items() if k != "digest"}) != obj["digest"]:
        raise CacheIntegrityError(path, "its content does not match its digest (edited or damaged)", rebuild)
    return obj


def record_path(artefact: str | os.PathLike[str]) -> Path:
    artefact = Path(artefact)
    return artefact.parent / RECORD_DIR / f"{artefact.name}.json"


def seal(artefact: str | os.PathLike[str], binding: dict[str, Any]) -> None:
    """Write the checksum record of a complete ``artefact`` (atomically), with ``binding``: facts it
    must agree with when opened (which store it was built from, how many rows it has)."""
    target = record_path(artefact)
    atomic_write_json(target, with_digest({"artefact": Path(artefact).name, "binding": binding,
                                      "record": artefact_record(artefact)}))


def check_sealed(artefact: str | os.PathLike[str], binding: dict[str, Any], full: bool, rebuild: str) -> None:
    """Check ``artefact`` against its record and ``binding``; seal it if it has no record and the cache
    is writable (see the module docs); raise :class:`CacheIntegrityError` on any mismatch."""
    artefact = Path(artefact)
    target = record_path(artefact)
    if not target.is_file():
        if not artefact.exists():
            raise CacheIntegrityError(artefact, "it is missing", rebuild)
        with contextlib.suppress(OSError):  # read-only cache: fall through to the error below
            seal(artefact, binding)
        if not target.is_file():
            raise CacheIntegrityError(artefact, f"it has no checksum record ({target})", rebuild)
    obj = read_checksummed(target, rebuild)
    if obj.get("artefact") != artefact.name:
        raise CacheIntegrityError(target, f"it is the record of {obj.get('artefact')!r}, not {artefact.name!r}", rebuild)
    if obj.get("binding") != binding:
        raise CacheIntegrityError(
            artefact, f"it was built for another corpus ({obj.get('binding')} recorded, {binding} expected)", rebuild
        )
    check_artefact(artefact, obj["record"], full, rebuild)


def rebuild_command(directory: str | os.PathLike[str]) -> str:
    """The shell command that rebuilds the prepared corpus in ``directory`` (for error messages),
    with the ``build-index`` options that made what the directory holds (:func:`build_options`)."""
    directory = Path(directory)
    manifest: dict[str, Any] = {}
    # the manifest may be the damaged file: a best-effort read, never an error here
    with contextlib.suppress(Exception):
        manifest = dict(json.loads((directory / "manifest.json").read_text(encoding="utf-8")))
    source = str(manifest.get("source", "CORPUS_FILE"))
    if Path(source).name.startswith("default-corpus-"):
        source = "default"
    root = directory.parent.parent
    options = "".join(f" {option}" for option in build_options(directory, manifest, source))
    return (
        f"rm -r {shlex.quote(str(directory))} && "
        f"ramp-env build-index --corpus {shlex.quote(source)} --cache-dir {shlex.quote(str(root))}{options}"
    )


def build_options(directory: Path, manifest: dict[str, Any], source: str) -> list[str]:
    """``build-index`` options that rebuild what ``directory`` holds: the format and bad-line
    handling the passage store was read with, the span extractor of its span table (or
    ``--no-spans`` when it has none) and ``--retriever rank_bm25`` when it has no tantivy index."""
    from ramp_env.corpus.loaders import detect_format  # lazy: loaders is heavier than this module

    options: list[str] = []
    fmt = manifest.get("format")
    if fmt and source != "default":
        with contextlib.suppress(ValueError):
            if detect_format(source) == fmt:
                fmt = None
        if fmt:
            options += ["--format", shlex.quote(str(fmt))]
    # newer manifests record on_error; in older ones only a store that skipped records shows it
    if manifest.get("on_error", "skip" if manifest.get("skipped") else "raise") == "skip":
        options.append("--skip-bad-lines")
    with contextlib.suppress(OSError):
        tables = sorted(p.name[len("spans-") : -len(".sqlite")] for p in directory.glob("spans-*.sqlite"))
        if not tables and not any(directory.glob("lazy-spans-*.sqlite")):
            options.append("--no-spans")
        elif len(tables) == 1 and tables[0].split("-")[0] in ("rules", "spacy"):
            options += ["--span-extractor", tables[0].split("-")[0]]
        if not any(directory.glob("index-tantivy-v*")):
            options += ["--retriever", "rank_bm25"]
    return options

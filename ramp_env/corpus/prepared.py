"""A corpus made ready for RAMP: passage store, salient spans and search indexes, cached.

``PreparedCorpus.open(source)`` streams a corpus file once into a passage store
under ``<cache root>/corpora/<name>-<fingerprint>/``; span tables and indexes are
built next to it on first use and reused after. Every artefact is built in a
temporary directory and renamed into place, so a killed build leaves nothing a
later run trusts, and many processes can read one prepared corpus at once.

Layout of a prepared corpus directory::

    manifest.json            source, fingerprint, passage count, skipped records, store checksum
    passages.sqlite          PassageStore
    spans-<extractor>.sqlite SpanTable, one per span extractor
    lazy-spans-<extractor>.sqlite  spans computed on first draw (``task_pool``), shared by processes
    gazetteer-v<N>.json      types of the titles read from their lead sentences (span cleaning), bound to the store
    index-tantivy-v1/        tantivy index (rank_bm25 is built in memory)
    integrity/<name>.json    checksum record of each span table and index
    evidence-<backend>-v<N>.sqlite  evidence per span, computed on first draw (``require_evidence``)
    ppl-<model>-...sqlite    perplexity scores, computed on first draw (``mask_strategy="ppl"``)

Opening first refuses a directory in which another user can write anything, or
that holds a symlink (:func:`ramp_env.cache.check_tree_trusted`; checksums catch
accidents, permissions keep other users out), then checks every artefact's size
and first/last 64 KiB against its checksum record (:mod:`ramp_env.corpus.integrity`); :meth:`PreparedCorpus.verify`
(``ramp-env build-index --verify``) hashes every byte. Damage is a
:class:`~ramp_env.corpus.integrity.CacheIntegrityError` naming the file and the
rebuild command. Readers never write a prepared artefact: a prepared corpus can be
shared read-only. The lazily filled caches (:data:`LAZY_CACHE_PREFIXES`: spans, evidence
and perplexity scores computed when a passage is first drawn) are the exception by
design: readers add rows to them (SQLite WAL, one transaction per passage), and keep
them in memory instead when the directory is read-only.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm  # plain text bar: tqdm.auto warns "IProgress not found" in notebooks without ipywidgets

from ramp_env.cache import (
    atomic_path,
    atomic_write_json,
    cache_root,
    check_tree_trusted,
    file_fingerprint,
    make_cache_dir,
)
from ramp_env.corpus.default import default_corpus_path
from ramp_env.corpus.integrity import (
    CacheIntegrityError,
    check_artefact,
    check_sealed,
    file_record,
    read_checksummed,
    rebuild_command,
    seal,
    with_digest,
)
from ramp_env.corpus.lazy_spans import LazySpanTable
from ramp_env.corpus.loaders import LoadStats, OnError, detect_format, iter_passages
from ramp_env.corpus.span_build import ExtractionReport, extract_all
from ramp_env.corpus.span_seed import read_seed, seed_path
from ramp_env.corpus.store import PassageStore, SpanTable
from ramp_env.errors import DataFormatError, InvalidOptionError
from ramp_env.retrieval.base import BACKENDS, Retriever
from ramp_env.text.gazetteer import GAZETTEER_VERSION, Gazetteer, load_or_build
from ramp_env.text.gazetteer import MAX_PASSAGES as GAZETTEER_MAX_PASSAGES
from ramp_env.text.spans import MAX_SPAN_TEXT_CHARS, SalientSpan, SpanExtractor, make_span_extractor

DEFAULT_CORPUS = "default"
# Files that envs fill as they draw passages (not built, not checksummed; see the module docs)
LAZY_CACHE_PREFIXES = ("lazy-spans-", "evidence-", "ppl-")
logger = logging.getLogger(__name__)
# part of every prepared corpus's fingerprint: bump when loading or cleaning changes
PREPARE_VERSION = 2  # 2: HTML character references decoded on load (ramp_env.text.canonical)
_LOCK = threading.Lock()
_GAZETTEER_LOCK = threading.Lock()
_OPEN: dict[tuple[Path, str], PreparedCorpus] = {}


def _reset_after_fork() -> None:
    # A forked child (AsyncVectorEnv's default start method on Linux) must not
    # use its parent's SQLite connections (SQLite forbids carrying them across
    # fork) nor tantivy objects whose threads did not survive the fork, nor a
    # lock another thread held at fork time: it opens the corpus afresh.
    global _LOCK, _GAZETTEER_LOCK
    _LOCK = threading.Lock()
    _GAZETTEER_LOCK = threading.Lock()
    _OPEN.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


class PreparedCorpus:
    """A prepared corpus directory: passages, spans and indexes (see module docs)."""

    def __init__(self, directory: str | Path, progress: bool = True) -> None:
        self.directory = Path(directory)
        manifest = self.directory / "manifest.json"
        if not manifest.is_file():
            raise FileNotFoundError(f"not a prepared corpus (no manifest.json): {self.directory}")
        # checksums catch damage, not edits: only a cache no other user can write is used
        check_tree_trusted(self.directory)
        self.manifest: dict[str, Any] = read_checksummed(manifest, self.rebuild_command)
        try:
            store_record = self.manifest["artefacts"]["passages.sqlite"]
        except (KeyError, TypeError) as exc:
            raise CacheIntegrityError(manifest, "it records no checksum of passages.sqlite", self.rebuild_command) from exc
        check_artefact(self.directory / "passages.sqlite", store_record, full=False, rebuild=self.rebuild_command)
        self.store = PassageStore(self.directory / "passages.sqlite")
        if len(self.store) != self.manifest.get("passages"):
            raise CacheIntegrityError(
                self.directory / "passages.sqlite",
                f"{len(self.store)} passages, manifest says {self.manifest.get('passages')}",
                self.rebuild_command,
            )
        self.progress = progress
        self.spans_skipped = 0  # passages the last eager span build gave no spans (too long)
        self._span_tables: dict[str, SpanTable] = {}
        self._gazetteer: Gazetteer | None = None
        self._retrievers: dict[str, Retriever] = {}
        self._users = 0  # envs (and other callers of open()) sharing this corpus; see release()
        self._closed = False

    @property
    def rebuild_command(self) -> str:
        """The command that rebuilds this corpus, with the options that made what it holds now."""
        return rebuild_command(self.directory)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        source: str | os.PathLike[str] = DEFAULT_CORPUS,
        cache_dir: str | os.PathLike[str] | None = None,
        fmt: str | None = None,
        on_error: OnError = "raise",
        progress: bool = True,
    ) -> PreparedCorpus:
        """Prepare ``source`` (``"default"`` or a corpus file) if needed and open it.

        Opened corpora are shared within a process, so many envs over one corpus
        hold one store and one index.
        """
        if str(source) == DEFAULT_CORPUS:
            path = default_corpus_path(cache_dir)
            name = "default"
        else:
            path = Path(source).expanduser().resolve()
            if not path.is_file():
                raise FileNotFoundError(f"corpus file not found: {path}")
            name = path.name.split(".")[0][:40] or "corpus"
        fmt = fmt or detect_format(path)
        fingerprint = file_fingerprint(path, extra=f"v{PREPARE_VERSION}:{fmt}:{on_error}")
        directory = cache_root(cache_dir) / "corpora" / f"{name}-{fingerprint}"
        key = (directory, fingerprint)
        with _LOCK:
            if key not in _OPEN:
                if not (directory / "manifest.json").is_file():
                    _note_changed_source(directory, path)
                    cls._build(directory, path, fmt, on_error, fingerprint, progress)
                _OPEN[key] = cls(directory, progress=progress)
            corpus = _OPEN[key]
            corpus._users += 1
            return corpus

    def release(self) -> None:
        """One user of :meth:`open` is done with the corpus; the last one closes it (:meth:`close`)
        and a later :meth:`open` opens it afresh. Envs call this from their ``close()``; a caller
        that never releases keeps the corpus open for the process, as before."""
        with _LOCK:
            self._users = max(0, self._users - 1)
            if self._users > 0:
                return
            for key, corpus in list(_OPEN.items()):
                if corpus is self:
                    del _OPEN[key]
        self.close()

    def close(self) -> None:
        """Close the passage store, the span tables and the search indexes (idempotent)."""
        with _LOCK:
            if self._closed:
                return
            self._closed = True
            tables, retrievers = list(self._span_tables.values()), list(self._retrievers.values())
            self._span_tables, self._retrievers = {}, {}
        for resource in [*tables, *retrievers]:
            # the built-in retrievers and span tables all have close(); a Retriever protocol without it
            # (custom engines are never cached here) is why this is looked up
            close = getattr(resource, "close", None)
            if callable(close):
                close()
        self.store.close()

    @staticmethod
    def _build(directory: Path, path: Path, fmt: str, on_error: OnError, fingerprint: str, progress: bool) -> None:
        # a directory already there (a concurrent builder's) is used only if no other user can write it
        make_cache_dir(directory)
        check_tree_trusted(directory)
        stats = LoadStats()
        started = time.perf_counter()
        passages = tqdm(
            iter_passages(path, fmt=fmt, on_error=on_error, stats=stats),
            desc=f"reading {path.name}",
            unit=" passages",
            disable=not progress,
        )
        # replace=False: a store already in place (a concurrent builder's) stays, so the checksum
        # recorded below is always that of the file readers open
        with atomic_path(directory / "passages.sqlite", replace=False) as tmp:
            count = PassageStore.write(tmp, passages)
        if count == 0:
            (directory / "passages.sqlite").unlink(missing_ok=True)
            raise DataFormatError(f"corpus {path} has no readable passages ({stats.skipped} records skipped)")
        # the manifest is written last: its presence marks a complete store
        atomic_write_json(
            directory / "manifest.json",
            with_digest({
                "source": str(path),
                "format": fmt,
                "on_error": on_error,  # repeated by the rebuild command of integrity errors
                "fingerprint": fingerprint,
                "passages": count,
                "skipped": stats.skipped,
                "skipped_examples": stats.skipped_examples,
                "build_seconds": round(time.perf_counter() - started, 3),
                "artefacts": {"passages.sqlite": file_record(directory / "passages.sqlite")},
            }),
        )

    # -- spans --------------------------------------------------------------------------------

    def gazetteer(self) -> Gazetteer:
        """Types of this corpus's titles read from their lead sentences (:mod:`ramp_env.text.gazetteer`),
        built on first use from the first ``MAX_PASSAGES`` passages and cached as
        ``gazetteer-v<N>.json`` next to the store."""
        with _GAZETTEER_LOCK:
            if self._gazetteer is None:
                path = self.directory / f"gazetteer-v{GAZETTEER_VERSION}.json"
                passages = lambda: itertools.islice(iter(self.store), GAZETTEER_MAX_PASSAGES)
                self._gazetteer = load_or_build(path, passages, self._binding())
            return self._gazetteer

    def bind_extractor(self, extractor: SpanExtractor) -> SpanExtractor:
        """``extractor`` bound to this corpus when it reads one (``for_corpus``, e.g. the gazetteer)."""
        for_corpus = getattr(extractor, "for_corpus", None)
        return for_corpus(self) if callable(for_corpus) else extractor

    def span_table(self, extractor: str | SpanExtractor = "auto", spacy_model: str | None = None) -> SpanTable:
        """Salient spans of every passage by ``extractor``, computed once and cached on disk."""
        kwargs = {"spacy_model": spacy_model} if spacy_model else {}
        extractor = self.bind_extractor(make_span_extractor(extractor, **kwargs))
        key = extractor.cache_key
        with _LOCK:
            if key in self._span_tables:
                return self._span_tables[key]
            path = self.directory / f"spans-{key}.sqlite"
            if not path.is_file():
                # the default corpus ships its spans (ramp_env.corpus.span_seed): minutes saved on first use
                seeded = read_seed(seed_path(key), self.store, key)
                spans = seeded if seeded is not None else tqdm(
                    self._extract_all(extractor),
                    total=len(self.store),
                    desc=f"salient spans ({key})",
                    unit=" passages",
                    disable=not self.progress,
                )
                with atomic_path(path, replace=False) as tmp:
                    SpanTable.write(tmp, spans)
                seal(path, self._binding())
            check_sealed(path, self._binding(), full=False, rebuild=self.rebuild_command)
            table = SpanTable(path, store=self.store)
            self._span_tables[key] = table
            return table

    def _extract_all(self, extractor: SpanExtractor) -> Iterator[list[SalientSpan]]:
        """Spans of every passage in row order; passages too long for the extractor or that make it
        fail get none (never masked) and are counted and logged by id (:mod:`ramp_env.corpus.span_build`)."""
        report = ExtractionReport()
        yield from extract_all(self.store, extractor, report)
        if report.too_long:
            logger.warning(
                "%d passage(s) longer than %d characters got no salient spans (never masked): %s",
                len(report.too_long), MAX_SPAN_TEXT_CHARS, ", ".join(repr(pid) for pid in list(report.too_long)[:5]),
            )
        if report.failed:
            logger.warning(
                "span extraction failed on %d passage(s), which got no spans (never masked): %s; first error: %s",
                len(report.failed), ", ".join(repr(pid) for pid in report.failed[:5]), report.first_error,
            )
        self.spans_skipped = report.skipped

    def lazy_span_table(self, extractor: str | SpanExtractor = "auto", spacy_model: str | None = None) -> LazySpanTable:
        """Salient spans by ``extractor`` computed per passage on first use and cached on disk
        (:mod:`ramp_env.corpus.lazy_spans`); reads the eager table instead when it was built."""
        kwargs = {"spacy_model": spacy_model} if spacy_model else {}
        extractor = self.bind_extractor(make_span_extractor(extractor, **kwargs))
        key = extractor.cache_key
        with _LOCK:
            cached = self._span_tables.get(f"lazy:{key}")
            if cached is not None:
                return cached  # type: ignore[return-value]
            eager_path = self.directory / f"spans-{key}.sqlite"
            eager = None
            if eager_path.is_file():
                check_sealed(eager_path, self._binding(), full=False, rebuild=self.rebuild_command)
                eager = self._span_tables.get(key) or SpanTable(eager_path, store=self.store)
            table = LazySpanTable(
                self.directory / f"lazy-spans-{key}.sqlite", self.store, extractor, binding=self._binding(),
                eager=eager, rebuild=f"rm {self.directory / f'lazy-spans-{key}.sqlite'}*",
            )
            self._span_tables[f"lazy:{key}"] = table  # type: ignore[assignment]
            return table

    # -- retrieval ----------------------------------------------------------------------------

    def index_dir(self, backend: str = "tantivy") -> Path:
        from ramp_env.retrieval.tantivy_backend import INDEX_VERSION

        if backend != "tantivy":
            raise InvalidOptionError(f"backend {backend!r} keeps no index on disk")
        return self.directory / f"index-tantivy-v{INDEX_VERSION}"

    def retriever(self, backend: str = "tantivy") -> Retriever:
        """A retriever over this corpus: ``"tantivy"`` (on disk, built once) or ``"rank_bm25"`` (in memory)."""
        if backend not in BACKENDS:
            raise InvalidOptionError(f"unknown retriever backend {backend!r}; expected one of {BACKENDS}")
        with _LOCK:
            if backend in self._retrievers:
                return self._retrievers[backend]
            if backend == "tantivy":
                from ramp_env.retrieval.tantivy_backend import TantivyRetriever, build_tantivy_index

                directory = self.index_dir("tantivy")
                if not directory.is_dir():
                    passages = tqdm(
                        self.store, total=len(self.store), desc="tantivy index", unit=" passages",
                        disable=not self.progress,
                    )
                    with atomic_path(directory, is_dir=True) as tmp:
                        build_tantivy_index(tmp, passages)
                    seal(directory, self._binding())
                check_sealed(directory, self._binding(), full=False, rebuild=self.rebuild_command)
                retriever: Retriever = TantivyRetriever(directory, self.store)
            else:
                from ramp_env.retrieval.rank_bm25_backend import RankBM25Retriever

                retriever = RankBM25Retriever(self.store)
            self._retrievers[backend] = retriever
            return retriever

    # -- integrity ----------------------------------------------------------------------------

    def _binding(self) -> dict[str, Any]:
        """What every derived artefact must have been built from: this store, this many passages."""
        return {"passages": self.manifest["passages"], "store_sha256": self.manifest["artefacts"]["passages.sqlite"]["sha256"]}

    def verify(self) -> list[Path]:
        """Hash every byte of every artefact against its checksum record; return the files checked.

        Raises :class:`~ramp_env.corpus.integrity.CacheIntegrityError` naming the first damaged file.
        """
        checked = [self.directory / "manifest.json", self.directory / "passages.sqlite"]
        check_artefact(checked[1], self.manifest["artefacts"]["passages.sqlite"], full=True, rebuild=self.rebuild_command)
        derived = sorted(self.directory.glob("spans-*.sqlite")) + sorted(self.directory.glob("index-*"))
        for path in derived:
            check_sealed(path, self._binding(), full=True, rebuild=self.rebuild_command)
            checked.append(path)
        return checked


def _note_changed_source(directory: Path, source: Path) -> None:
    """Log when ``source`` was prepared before under another fingerprint: it changed since."""
    name = directory.name.rsplit("-", 1)[0]
    for old in directory.parent.glob(f"{name}-*/manifest.json"):
        try:
            if json.loads(old.read_text(encoding="utf-8")).get("source") == str(source):
                logger.warning(
                    "corpus file %s changed since it was prepared in %s; preparing it again in %s",
                    source, old.parent, directory,
                )
                return
        except (OSError, ValueError):
            continue

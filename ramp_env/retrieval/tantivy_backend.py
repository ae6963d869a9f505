"""BM25 over an on-disk tantivy index: the default backend for real corpora.

Chosen over bm25s and an in-memory rank-bm25 by measurement (see README and
``benchmarks/retrieval.py``): on 1M passages tantivy builds at ~75k passages/s,
answers in ~10 ms with a 1.6 GB peak, and its index is memory-mapped, so any
number of processes share one copy read-only.

The index stores only the passage's row number and id; text lives once, in the
prepared corpus's :class:`~ramp_env.corpus.store.PassageStore`.

Readers never write to the index directory, so a cache can be shared read-only
(other users, read-only mounts): tantivy-py has no read-only open (its reader
takes ``.tantivy-meta.lock`` in the index directory; upstream tantivy PR #3058),
so a reader opens a private directory of symlinks to the index files, in the
system temp dir, where tantivy may put its lock files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import tantivy

from ramp_env.cache import host_tag, pid_alive
from ramp_env.corpus.integrity import CacheIntegrityError, rebuild_command
from ramp_env.corpus.passage import Passage
from ramp_env.corpus.store import PassageStore
from ramp_env.retrieval.base import Hit, Retriever, query_terms

# bump when the schema changes so old cached indexes are rebuilt, not misread
INDEX_VERSION = 1


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("row", stored=True, indexed=False, fast=True)
    builder.add_text_field("pid", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("contents", stored=False, tokenizer_name="en_stem", index_option="freq")
    return builder.build()


def build_tantivy_index(
    directory: str | Path, passages: Iterable[Passage], heap_bytes: int = 512 << 20, num_threads: int = 0
) -> int:
    """Index ``passages`` (row ``i+1`` = the ``i``-th passage) into ``directory``; return the count."""
    schema = _schema()
    index = tantivy.Index(schema, path=str(directory), reuse=False)
    writer = index.writer(heap_size=heap_bytes, num_threads=num_threads)
    n = 0
    for n, passage in enumerate(passages, start=1):
        writer.add_document(tantivy.Document(row=n, pid=passage.id, contents=passage.contents))
    writer.commit()
    writer.wait_merging_threads()
    del writer, index
    for lock in (".tantivy-meta.lock", ".tantivy-writer.lock"):  # the published index holds data only
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, lock))
    return n


_LINKS_PREFIX = "ramp-env-tantivy-"


def _remove_links(path: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:  # a forked child inherits this finalizer: the directory is its parent's
        shutil.rmtree(path, ignore_errors=True)


def _links_prefix() -> str:
    # host and pid namespace in the name: only pids of this namespace are judged dead or alive
    return f"{_LINKS_PREFIX}{host_tag() or 'nohost'}-"


def _clean_dead_links() -> None:
    """Remove link directories of readers that died without cleaning up (killed processes)."""
    if not host_tag():
        return  # no way to tell whose pids these are
    prefix = _links_prefix()
    for old in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        pid = old.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def open_read_only(index_dir: Path) -> tuple[tantivy.Index, str]:
    """Open the index in ``index_dir`` without writing to it; return it and its link directory."""
    _clean_dead_links()
    links = tempfile.mkdtemp(prefix=f"{_links_prefix()}{os.getpid()}-")
    try:
        for entry in index_dir.iterdir():
            if not entry.name.endswith(".lock"):
                os.symlink(entry.resolve(), os.path.join(links, entry.name))
        index = tantivy.Index.open(links)
        index.config_reader(reload_policy="Manual")  # a published index never changes: no watcher
    except BaseException:
        shutil.rmtree(links, ignore_errors=True)
        raise
    return index, links


class TantivyRetriever:
    """BM25 (k1=1.2, b=0.75) search over a tantivy index of a prepared corpus."""

    def __init__(self, index_dir: str | Path, store: PassageStore) -> None:
        self.index_dir = Path(index_dir)
        self.store = store
        try:
            self._index, links = open_read_only(self.index_dir)
            self.links = links
            # removes the link directory on close() or, if never closed, when collected or at exit
            self._remove_links = weakref.finalize(self, _remove_links, links, os.getpid())
            self._schema = self._index.schema
            self._searcher = self._index.searcher()
        except ValueError as exc:  # tantivy reports damaged files as ValueError
            raise CacheIntegrityError(self.index_dir, f"tantivy cannot open it ({exc})",
                                      rebuild_command(self.index_dir.parent)) from exc
        if self._searcher.num_docs != len(store):
            raise CacheIntegrityError(
                self.index_dir, f"it indexes {self._searcher.num_docs} passages, the store has {len(store)}",
                rebuild_command(self.index_dir.parent),
            )

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        return self._search(query, k, exclude_ids, ())

    def close(self) -> None:
        """Drop the reader and remove its link directory (idempotent; searching afterwards is an error)."""
        self._searcher = self._index = None
        self._remove_links()

    def _reader(self) -> tantivy.Searcher:
        if self._searcher is None:
            raise RuntimeError(f"search on a closed TantivyRetriever ({self.index_dir})")
        return self._searcher

    def _exclusions(self, exclude_ids: Collection[str], hidden: Sequence[tantivy.Query]) -> list:
        clauses = [(tantivy.Occur.MustNot, tantivy.Query.term_query(self._schema, "pid", pid)) for pid in exclude_ids]
        return clauses + [(tantivy.Occur.MustNot, q) for q in hidden]

    def _search(
        self, query: str, k: int, exclude_ids: Collection[str], hidden: Sequence[tantivy.Query]
    ) -> list[Hit]:
        """:meth:`search` with ``hidden``: extra ``MustNot`` queries (``benchmarks/split_filter.py``
        times hiding a split's passages this way)."""
        searcher = self._reader()
        if k <= 0:
            return []
        terms = query_terms(query)
        if not terms:
            return []
        should = [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "contents", t)) for t in terms]
        # a boolean query of analysed terms, never the query parser: user text
        # with quotes, colons or brackets must not be a syntax error
        clauses = [(tantivy.Occur.Must, tantivy.Query.boolean_query(should)), *self._exclusions(exclude_ids, hidden)]
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit=k, count=False)
        rows: list[int] = []
        scores: list[float] = []
        for score, address in result.hits:
            rows.append(searcher.doc(address)["row"][0])
            scores.append(float(score))
        passages = self.store.get_many(rows)
        return [
            Hit(p.id, p.title, p.text, s, rank) for rank, (p, s) in enumerate(zip(passages, scores, strict=True))
        ]

    def search_with_required(
        self, query: str, required: str, k: int, exclude_ids: Collection[str] = ()
    ) -> list[Hit]:
        """The top ``k`` passages holding every analysed term of ``required``, ranked by BM25 of
        ``required`` and ``query`` together (evidence candidates: :mod:`ramp_env.masking.evidence`)."""
        return self._search_with_required(query, required, k, exclude_ids, ())

    def _search_with_required(
        self, query: str, required: str, k: int, exclude_ids: Collection[str], hidden: Sequence[tantivy.Query]
    ) -> list[Hit]:
        searcher = self._reader()
        must = list(dict.fromkeys(query_terms(required)))
        if k <= 0 or not must:
            return []
        term = lambda t: tantivy.Query.term_query(self._schema, "contents", t)  # noqa: E731
        clauses = [(tantivy.Occur.Must, term(t)) for t in must]
        clauses += [(tantivy.Occur.Should, term(t)) for t in dict.fromkeys(query_terms(query)) if t not in must]
        clauses += self._exclusions(exclude_ids, hidden)
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit=k, count=False)
        rows = [searcher.doc(address)["row"][0] for _, address in result.hits]
        passages = self.store.get_many(rows)
        return [Hit(p.id, p.title, p.text, float(s), r) for r, (p, (s, _)) in enumerate(zip(passages, result.hits))]

    def restricted(self, hidden_ids: Collection[str]) -> Retriever:
        """A view of this index that never returns ``hidden_ids`` (the other side of a passage split).

        Over-fetching and dropping hidden hits (:class:`~ramp_env.retrieval.restricted.FilteredRetriever`)
        rather than a ``MustNot`` clause: on the default corpus with its 2,940 test passages hidden,
        a top-3 search took 0.52 ms median this way, 64 ms with one term-set ``MustNot`` clause and
        825 ms with a ``MustNot`` term per id (0.90 ms unfiltered, under load;
        ``benchmarks/results/split_filter.json``).
        The ranking is the engine's, exactly: the kept hits are the unfiltered ranking minus the
        hidden ones, and the depth doubles until ``k`` are left."""
        from ramp_env.retrieval.restricted import FilteredRetriever

        return FilteredRetriever(self, frozenset(hidden_ids))

    def __getstate__(self) -> dict[str, object]:
        return {"index_dir": self.index_dir, "store_path": self.store.path}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["index_dir"], PassageStore(state["store_path"]))  # type: ignore[misc,arg-type]


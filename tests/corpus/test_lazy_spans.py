"""Lazy span table: same spans as the eager table, cached on disk, safe across processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ramp_env.corpus.integrity import CacheIntegrityError
from ramp_env.corpus.lazy_spans import LazySpanTable
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.corpus.store import PassageStore
from ramp_env.text.spans import RuleSpanExtractor, SalientSpan


class CountingRules:
    """The rule extractor, counting the passages it is asked to extract."""

    cache_key = RuleSpanExtractor.cache_key

    def __init__(self) -> None:
        self.rules = RuleSpanExtractor()
        self.calls = 0

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        for text in texts:
            self.calls += 1
            yield self.rules.extract(text)


class NeverCalled:
    cache_key = RuleSpanExtractor.cache_key

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        raise AssertionError("the cache should have answered")


@pytest.fixture()
def corpus(tmp_path: Path, wiki_sample: Path) -> PreparedCorpus:
    # a private cache: these tests create and damage lazy span files
    return PreparedCorpus.open(wiki_sample, cache_dir=tmp_path / "cache", progress=False)


def lazy(corpus: PreparedCorpus, extractor, path: Path | None = None) -> LazySpanTable:
    return LazySpanTable(
        path or corpus.directory / "lazy-spans-test.sqlite", corpus.store, extractor, binding=corpus._binding()
    )


def test_lazy_spans_equal_eager_spans_and_are_computed_once(corpus: PreparedCorpus) -> None:
    extractor = CountingRules()
    table = lazy(corpus, extractor)
    rows = [1, 7, 500, len(corpus.store)]
    rules = RuleSpanExtractor()
    for row in rows:
        assert table.get(row) == rules.extract(corpus.store.get(row).text)
    assert extractor.calls == len(rows)
    for row in rows:
        table.get(row)
    assert extractor.calls == len(rows)
    assert table.cached_rows() == len(rows)
    # a new object (another process, a later run) reads the file and extracts nothing
    again = lazy(corpus, NeverCalled())
    assert [again.get(r) for r in rows] == [table.get(r) for r in rows]


def test_rows_out_of_range_are_an_index_error(corpus: PreparedCorpus) -> None:
    table = lazy(corpus, CountingRules())
    for row in (0, -1, len(corpus.store) + 1):
        with pytest.raises(IndexError, match="no passage at row"):
            table.get(row)


def test_prepared_corpus_reads_the_eager_table_when_built(corpus: PreparedCorpus) -> None:
    eager = corpus.span_table("rules")
    table = corpus.lazy_span_table("rules")
    assert table.eager is not None
    assert table.get(3) == eager.get(3)
    assert corpus.lazy_span_table("rules") is table


def _fill(args: tuple[str, str, list[int]]) -> int:
    store_path, lazy_path, rows = args
    store = PassageStore(store_path)
    corpus_binding = {"test": "binding"}
    table = LazySpanTable(lazy_path, store, RuleSpanExtractor(), binding=corpus_binding)
    return sum(len(table.get(r)) for r in rows)


def test_several_processes_fill_one_cache(corpus: PreparedCorpus, tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    rows = list(range(1, 121))
    jobs = [(str(corpus.store.path), str(path), rows[i::2] + rows[:20]) for i in range(2)] * 2  # overlapping rows
    # an executor, not multiprocessing.Pool: a worker error that cannot reach the parent breaks
    # the executor (a test failure) where a Pool waits forever
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        totals = list(pool.map(_fill, jobs, timeout=600))
    assert len(totals) == 4
    table = LazySpanTable(path, corpus.store, NeverCalled(), binding={"test": "binding"})
    assert table.cached_rows() == len(rows)
    rules = RuleSpanExtractor()
    assert all(table.get(r) == rules.extract(corpus.store.get(r).text) for r in (1, 60, 120))


def test_a_cache_of_another_corpus_is_refused(corpus: PreparedCorpus, tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    LazySpanTable(path, corpus.store, RuleSpanExtractor(), binding={"store_sha256": "aaa"}).get(1)
    with pytest.raises(CacheIntegrityError, match="made for another corpus"):
        LazySpanTable(path, corpus.store, RuleSpanExtractor(), binding={"store_sha256": "bbb"}).get(1)


def test_a_damaged_cache_names_the_file(corpus: PreparedCorpus, tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheIntegrityError, match="garbage.sqlite"):
        lazy(corpus, RuleSpanExtractor(), path).get(1)


@pytest.mark.parametrize(
    "bad_row",
    ["{not json", "[[-20, -3, \"PERSON\"]]", "[[5, 999999, \"DATE\"]]", "[[9, 4, \"DATE\"]]",
     "[[0, 10, \"NOPE\"]]", "[[0, 8, \"DATE\"], [4, 12, \"DATE\"]]"],
)
def test_a_bad_cached_row_is_extracted_again_never_used(
    corpus: PreparedCorpus, tmp_path: Path, bad_row: str, caplog: pytest.LogCaptureFixture
) -> None:
    # issue 22: a row with negative offsets gave a garbage answer (" form of some skull fragm") silently
    path = tmp_path / "row.sqlite"
    expected = lazy(corpus, RuleSpanExtractor(), path).get(2)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE spans SET spans = ? WHERE rowid = 2", (bad_row,))
    conn.commit()
    conn.close()
    extractor = CountingRules()
    with caplog.at_level("WARNING"):
        assert lazy(corpus, extractor, path).get(2) == expected
    assert extractor.calls == 1 and "row 2" in caplog.text
    assert lazy(corpus, NeverCalled(), path).get(2) == expected  # the row was replaced


def test_read_only_cache_falls_back_to_memory(
    corpus: PreparedCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ro.sqlite"
    lazy(corpus, RuleSpanExtractor(), path).get(5)  # a cache made while it was writable
    real_connect = sqlite3.connect

    def read_only_connect(target, *args, **kwargs):  # error path: the directory became read-only
        if "mode=ro" not in str(target):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real_connect(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_connect)
    extractor = CountingRules()
    table = lazy(corpus, extractor, path)
    assert table.get(5) == RuleSpanExtractor().extract(corpus.store.get(5).text)  # read from the old file
    assert extractor.calls == 0
    table.get(6)
    table.get(6)
    assert extractor.calls == 1  # new spans live in memory


def test_span_reads_use_the_text_the_caller_holds(corpus: PreparedCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    """An env drawing a task has just read the passage: the span tables check their rows against
    that text instead of reading the passage from the store a second time."""
    eager = corpus.span_table("rules")
    table = lazy(corpus, RuleSpanExtractor())
    texts = {row: corpus.store.get(row).text for row in (1, 7)}
    expected = {row: eager.get(row) for row in texts}

    def no_store_read(rowid: int) -> None:
        raise AssertionError(f"passage {rowid} read again")

    monkeypatch.setattr(corpus.store, "get", no_store_read)
    for row, text in texts.items():
        assert eager.get(row, text) == expected[row]
        assert table.get(row, text) == RuleSpanExtractor().extract(text)

"""One huge or bad passage never loses an eager span build, and errors name the passage (issue 22)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.text.spans import MAX_SPAN_TEXT_CHARS, RuleSpanExtractor, SalientSpan, spacy_model_available

HUGE_ID = "huge#0"


def corpus_with(tmp_path: Path, wiki_sample: Path, extra: dict, at: int = 10, keep: int = 20) -> Path:
    records = [json.loads(line) for line in wiki_sample.read_text(encoding="utf-8").splitlines()[:keep]]
    records.insert(at, extra)
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture()
def huge(tmp_path: Path, wiki_sample: Path) -> Path:
    words = "Paris became the capital of France in 1990 under Alexander. "
    text = (words * (MAX_SPAN_TEXT_CHARS // len(words) + 2))[: MAX_SPAN_TEXT_CHARS + 1]
    return corpus_with(tmp_path, wiki_sample, {"id": HUGE_ID, "title": "Huge", "text": text})


@pytest.mark.skipif(not spacy_model_available(), reason="the spaCy model is not installed")
def test_a_passage_too_long_for_spacy_is_skipped_counted_and_named(huge: Path, tmp_path: Path, caplog) -> None:
    # spaCy refuses texts over nlp.max_length (E088): the whole eager build used to fail unnamed
    corpus = PreparedCorpus.open(huge, cache_dir=tmp_path / "cache", progress=False)
    with caplog.at_level(logging.WARNING):
        table = corpus.span_table("spacy")
    assert corpus.spans_skipped == 1 and HUGE_ID in caplog.text
    row = corpus.store.rowid_of(HUGE_ID)
    assert table.get(row) == []  # never masked
    # the passages after it still get their spans (some hold no salient span at all)
    assert any(table.get(r) for r in range(row + 1, len(corpus.store) + 1))


def test_a_passage_too_long_gets_no_lazy_spans_either(huge: Path, tmp_path: Path) -> None:
    corpus = PreparedCorpus.open(huge, cache_dir=tmp_path / "cache", progress=False)
    table = corpus.lazy_span_table(Exploding(HUGE_ID))
    assert table.get(corpus.store.rowid_of(HUGE_ID)) == []
    assert table.fill([corpus.store.rowid_of(HUGE_ID)]) == 0  # already cached as "no spans"


class Exploding:
    """Rule spans, except that the passage holding ``marker`` makes the extractor fail (error path)."""

    cache_key = "exploding-v1"

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.rules = RuleSpanExtractor()

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        for text in texts:
            if self.marker in text:
                raise MemoryError("cannot allocate")
            yield self.rules.extract(text)


def test_a_passage_the_extractor_fails_on_is_skipped_counted_and_named(tmp_path: Path, wiki_sample: Path,
                                                                       caplog) -> None:
    path = corpus_with(tmp_path, wiki_sample, {"id": "bad#7", "title": "Bad", "text": "Zorblax fails here in 1990."})
    corpus = PreparedCorpus.open(path, cache_dir=tmp_path / "cache", progress=False)
    with caplog.at_level(logging.WARNING):
        table = corpus.span_table(Exploding("Zorblax"))
    assert corpus.spans_skipped == 1
    assert "'bad#7'" in caplog.text and "MemoryError: cannot allocate" in caplog.text
    rules = RuleSpanExtractor()
    for row in range(1, len(corpus.store) + 1):  # every other passage has exactly its spans
        expected = [] if row == 11 else rules.extract(corpus.store.get(row).text)
        assert table.get(row) == expected, row


def test_a_broken_extractor_is_one_error_not_a_table_of_nothing(tmp_path: Path, wiki_sample: Path) -> None:
    path = corpus_with(tmp_path, wiki_sample, {"id": "x#0", "title": "X", "text": "Anything at all in 1990."})
    corpus = PreparedCorpus.open(path, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(RuntimeError, match=r"failed on 11 passages \(first 'wiki:.*MemoryError: cannot allocate") as error:
        corpus.span_table(Exploding(""))  # every text holds "": a missing model, a server down
    assert "\n" not in str(error.value)
    assert not list(corpus.directory.glob("spans-*.sqlite")), "no half table under its real name"

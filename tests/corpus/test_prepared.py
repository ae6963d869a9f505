"""Prepared corpora: built once, reused, atomic, and strict about ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.text.spans import spacy_model_available
from tests.conftest import FIXTURES


def test_prepare_is_cached_and_reused(tmp_path: Path) -> None:
    corpus = PreparedCorpus.open(FIXTURES / "tiny_dpr.tsv", cache_dir=tmp_path, progress=False)
    assert len(corpus.store) == 5 and corpus.manifest["passages"] == 5
    store_file = corpus.directory / "passages.sqlite"
    mtime = store_file.stat().st_mtime_ns
    again = PreparedCorpus(corpus.directory, progress=False)  # a fresh reader of the same directory
    assert again.store.get(1) == corpus.store.get(1)
    assert store_file.stat().st_mtime_ns == mtime
    assert not list(corpus.directory.glob(".*tmp-*"))


def test_changed_file_gets_a_new_prepared_corpus(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"id": "a", "title": "T", "text": "one two"}) + "\n", encoding="utf-8")
    first = PreparedCorpus.open(src, cache_dir=tmp_path / "cache", progress=False)
    src.write_text(src.read_text() + json.dumps({"id": "b", "title": "T", "text": "three"}) + "\n", encoding="utf-8")
    second = PreparedCorpus.open(src, cache_dir=tmp_path / "cache", progress=False)
    assert first.directory != second.directory and len(second.store) == 2


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    src = tmp_path / "dup.jsonl"
    src.write_text(
        "".join(json.dumps({"id": "same", "text": f"text {i}"}) + "\n" for i in range(2)), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="duplicate passage id 'same'"):
        PreparedCorpus.open(src, cache_dir=tmp_path, progress=False)
    assert not list((tmp_path / "corpora").glob("*/manifest.json"))


def test_skip_mode_records_skipped_lines(tmp_path: Path) -> None:
    src = tmp_path / "some-bad.jsonl"
    src.write_text('{"id": "a", "text": "fine"}\nnot json\n', encoding="utf-8")
    corpus = PreparedCorpus.open(src, cache_dir=tmp_path, on_error="skip", progress=False)
    assert corpus.manifest["skipped"] == 1 and "some-bad.jsonl:2" in corpus.manifest["skipped_examples"][0]


def test_span_table_is_built_once(tmp_path: Path) -> None:
    corpus = PreparedCorpus.open(FIXTURES / "tiny_dpr.tsv", cache_dir=tmp_path, progress=False)
    table = corpus.span_table("rules")
    assert corpus.span_table("rules") is table
    spans = table.get(1)
    text = corpus.store.get(1).text
    assert "1861" in [text[s.start : s.end] for s in spans]
    assert list(table.rows_with_at_least(1)) == sorted(table.rows_with_at_least(1))


@pytest.mark.skipif(not spacy_model_available(), reason="spaCy model not installed")
def test_span_tables_use_the_corpus_gazetteer(tmp_path: Path) -> None:
    src = tmp_path / "g.jsonl"
    rows = [
        {"id": "z#0", "title": "Lusaka", "text": "Lusaka is the capital and largest city of Zambia."},
        {"id": "m#0", "title": "Mines", "text": "Traders from Lusaka bought copper in Ndola and Kitwe."},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    corpus = PreparedCorpus.open(src, cache_dir=tmp_path / "cache", progress=False)
    table = corpus.lazy_span_table("spacy")
    assert table.extractor.cache_key.endswith(f"-gaz{corpus.gazetteer().fingerprint}")
    assert corpus.gazetteer().lookup("Lusaka") == "PLACE"
    assert list(corpus.directory.glob("gazetteer-v*.json"))  # cached with the prepared corpus
    text = corpus.store.get(2).text
    found = {text[s.start : s.end]: s.label.value for s in table.get(2)}
    assert found.get("Lusaka") == "PLACE"  # whatever the model called it, the corpus says a place

"""The Lite corpus: shipped, decompressed once into the cache, and derived by the documented rule."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from ramp_env.corpus import lite
from ramp_env.corpus.passage import Passage


def test_shipped_corpus_is_well_formed() -> None:
    with gzip.open(lite.SHIPPED, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert 1000 < len(rows) < 5000
    assert len({r["id"] for r in rows}) == len(rows) and len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "title", "text"} and r["title"] and r["id"].startswith("lite:")
        assert lite.MIN_WORDS <= len(r["text"].split()) <= lite.MAX_WORDS


def test_path_is_written_once_into_the_cache(tmp_path) -> None:
    path = lite.lite_corpus_path(tmp_path)
    assert path.parent == tmp_path and path.read_bytes() == gzip.decompress(lite.SHIPPED.read_bytes())
    stamp = path.stat().st_mtime_ns
    assert lite.lite_corpus_path(tmp_path) == path and path.stat().st_mtime_ns == stamp


def test_a_damaged_cached_copy_is_replaced(tmp_path) -> None:
    path = lite.lite_corpus_path(tmp_path)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # e.g. a copy cut short by hand
    assert lite.lite_corpus_path(tmp_path).read_bytes() == good


def test_missing_shipped_file_names_the_problem(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(lite, "SHIPPED", tmp_path / "absent.jsonl.gz")
    with pytest.raises(FileNotFoundError, match="Lite corpus is missing"):
        lite.lite_corpus_path(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_cache_fails_clearly(tmp_path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(OSError):
            lite.lite_corpus_path(tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_derivation_keeps_supported_sentences_and_their_evidence() -> None:
    """A hand-made corpus: the Eiffel fact is stated in two articles; the other sentence's facts nowhere."""
    passages = [
        Passage("a", "Eiffel Tower", "The Eiffel Tower was completed in Paris in 1889 for the World Fair. "
                "Its designer later worked on many bridges in Portugal and Hungary over the years."),
        Passage("b", "Gustave Eiffel", "His company completed the Eiffel Tower in 1889 for the World Fair in Paris."),
        Passage("c", "Nowhere", "A small village called Plimbury was founded by Tomas Grell in the year 1312."),
    ]
    out = lite.derive_lite_passages(passages, task_sentences=10)
    texts = {p.text for p in out}
    assert any("1889" in t and "Eiffel Tower was" in t for t in texts)  # the task sentence
    assert any(t.startswith("His company") for t in texts)  # its evidence, from another article
    assert not any("Plimbury" in t for t in texts)  # nothing else states these facts
    assert len({p.id for p in out}) == len(out)

"""The span seed shipped for the default corpus: used only when it matches, and still true."""

from __future__ import annotations

import gzip
import json
import logging
import random
from pathlib import Path

import pytest

from ramp_env.corpus import prepared as prepared_module
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.corpus.span_seed import read_seed, seed_path, write_seed
from ramp_env.text.spans import make_span_extractor
from tests.conftest import FIXTURES


def _corpus_and_seed(tmp_path: Path) -> tuple[PreparedCorpus, str, list]:
    corpus = PreparedCorpus.open(FIXTURES / "tiny_dpr.tsv", cache_dir=tmp_path / "cache", progress=False)
    extractor = corpus.bind_extractor(make_span_extractor("rules"))
    live = [extractor.extract(p.text) for p in corpus.store]
    write_seed(seed_path(extractor.cache_key, tmp_path / "seeds"), corpus.store, live, extractor.cache_key)
    return corpus, extractor.cache_key, live


def test_a_matching_seed_replaces_extraction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, _, live = _corpus_and_seed(tmp_path)
    monkeypatch.setattr(prepared_module, "seed_path", lambda k: seed_path(k, tmp_path / "seeds"))

    def no_extraction(*args: object) -> None:
        raise AssertionError("a matching seed must not be re-extracted")

    monkeypatch.setattr(prepared_module, "extract_all", no_extraction)
    table = corpus.span_table("rules")
    assert [table.get(row) for row in range(1, len(corpus.store) + 1)] == live
    assert any(live)  # the fixture has spans, so equality is not vacuous


def test_a_seed_for_other_passages_or_another_extractor_is_ignored(tmp_path: Path) -> None:
    corpus, key, _ = _corpus_and_seed(tmp_path)
    path = seed_path(key, tmp_path / "seeds")
    assert read_seed(path, corpus.store, key) is not None
    assert read_seed(path, corpus.store, key + "-other") is None
    other_src = tmp_path / "other.tsv"
    lines = (FIXTURES / "tiny_dpr.tsv").read_text(encoding="utf-8").splitlines()
    other_src.write_text("\n".join(lines[:-1] + [lines[-1].replace("a", "e", 1)]) + "\n", encoding="utf-8")
    other = PreparedCorpus.open(other_src, cache_dir=tmp_path / "cache", progress=False)
    assert len(other.store) == len(corpus.store)
    assert read_seed(path, other.store, key) is None  # one passage's text differs


def test_a_damaged_seed_is_refused_and_spans_are_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    corpus, key, live = _corpus_and_seed(tmp_path)
    path = seed_path(key, tmp_path / "seeds")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    pid, digest, _ = json.loads(rows[0])
    rows[0] = json.dumps([pid, digest, [[0, 10**6, "PERSON"]]])  # a span beyond the passage
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join([header, *rows]) + "\n")
    monkeypatch.setattr(prepared_module, "seed_path", lambda k: seed_path(k, tmp_path / "seeds"))
    with caplog.at_level(logging.WARNING, logger="ramp_env.corpus.span_seed"):
        table = corpus.span_table("rules")
    assert "row 1" in caplog.text and "not used" in caplog.text
    assert [table.get(row) for row in range(1, len(corpus.store) + 1)] == live
    path.write_bytes(b"not gzip")
    assert read_seed(path, corpus.store, key) is None


@pytest.mark.slow
def test_the_shipped_seed_is_what_the_default_extractor_computes() -> None:
    """Fails when the default extractor changed (new key, or new output under the same key):
    regenerate with ``python -m ramp_env.corpus.span_seed ramp_env/corpus/data``."""
    corpus = PreparedCorpus.open(progress=False)  # $RAMP_ENV_CACHE's default corpus
    extractor = corpus.bind_extractor(make_span_extractor("auto"))
    seed = read_seed(seed_path(extractor.cache_key), corpus.store, extractor.cache_key)
    assert seed is not None, f"no span seed for {extractor.cache_key}: regenerate it (see ramp_env.corpus.span_seed)"
    rows = random.Random(0).sample(range(len(corpus.store)), 60)
    passages = corpus.store.get_many([r + 1 for r in rows])
    assert [seed[r] for r in rows] == list(extractor.extract_batch(p.text for p in passages))

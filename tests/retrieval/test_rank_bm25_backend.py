"""The rank_bm25 backend scores from postings exactly as ``BM25Okapi.get_scores`` does."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.retrieval.base import analyze, query_terms
from ramp_env.retrieval.rank_bm25_backend import RankBM25Retriever


@pytest.fixture(scope="module")
def retriever(cache_dir: Path, wiki_sample: Path) -> RankBM25Retriever:
    retriever = PreparedCorpus.open(str(wiki_sample), cache_dir=str(cache_dir), progress=False).retriever("rank_bm25")
    assert isinstance(retriever, RankBM25Retriever)
    return retriever


@pytest.fixture(scope="module")
def reference(retriever: RankBM25Retriever) -> BM25Okapi:
    """rank_bm25's own index of the same passages, terms and constants."""
    return BM25Okapi([analyze(p.contents) for p in retriever.store], k1=retriever.k1, b=retriever.b)


def _queries(retriever: RankBM25Retriever) -> list[str]:
    rng = random.Random(0)
    words = [w for p in list(retriever.store)[:200] for w in p.text.split()]
    queries = [" ".join(rng.sample(words, k=n)) for n in (1, 3, 10, 60, 300)]
    return queries + ["the the the of", "zzzz-unknown qqqq", "Lincoln Lincoln Lincoln", "", "!!!"]


def test_scores_are_bit_identical_to_rank_bm25(retriever: RankBM25Retriever, reference: BM25Okapi) -> None:
    for query in _queries(retriever):
        terms = query_terms(query)
        expected = np.asarray(reference.get_scores(terms), dtype=np.float64)
        assert np.array_equal(retriever._postings.scores(terms), expected), query


def test_required_terms_mask_matches_a_scan(retriever: RankBM25Retriever, reference: BM25Okapi) -> None:
    for required in ("Lincoln president", "war", "zzzz-unknown", "Aristotle Athens philosopher"):
        must = list(dict.fromkeys(analyze(required)))
        scan = np.array([all(t in counts for t in must) for counts in reference.doc_freqs])
        assert np.array_equal(retriever._postings.holding_all(must), scan), required


def test_a_query_touches_only_its_terms_postings(retriever: RankBM25Retriever, monkeypatch: pytest.MonkeyPatch) -> None:
    # the old path walked every passage's term dict per term (minutes for one 256-query request);
    # searching must no longer call it at all
    def refuse(*_: object) -> None:
        raise AssertionError("get_scores scans every passage")

    monkeypatch.setattr(BM25Okapi, "get_scores", refuse)
    hits = retriever.search("Abraham Lincoln president", 3)
    assert hits and hits[0].title == "Abraham Lincoln"
    assert retriever.search_with_required("president", "Lincoln", 3)


def test_the_retriever_keeps_only_its_postings(retriever: RankBM25Retriever) -> None:
    # BM25Okapi's per-passage term dicts would hold every term of the corpus a second time
    assert not any(isinstance(value, BM25Okapi) for value in vars(retriever).values())

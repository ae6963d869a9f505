"""Both BM25 backends: parity on real passages, exclusion, and odd queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.retrieval import Hit, RankBM25Retriever, Retriever, TantivyRetriever

QUERIES = [
    "Aristotle teacher Athens",
    "Alexander the Great conquered Persia",
    "American Civil War president assassinated",
    "theory of relativity physicist",
    "Roman emperor Augustus",
    "anarchism Proudhon property",
    "Apollo 11 Moon landing astronaut",
    "analytical engine Babbage",
]


@pytest.fixture(scope="module")
def corpus(cache_dir: Path, wiki_sample: Path) -> PreparedCorpus:
    return PreparedCorpus.open(wiki_sample, cache_dir=cache_dir, progress=False)


@pytest.fixture(scope="module", params=["tantivy", "rank_bm25"])
def retriever(request: pytest.FixtureRequest, corpus: PreparedCorpus) -> Retriever:
    return corpus.retriever(request.param)


def test_backends_satisfy_the_protocol(corpus: PreparedCorpus) -> None:
    assert isinstance(corpus.retriever("tantivy"), TantivyRetriever)
    assert isinstance(corpus.retriever("rank_bm25"), RankBM25Retriever)
    assert all(isinstance(corpus.retriever(b), Retriever) for b in ("tantivy", "rank_bm25"))


def test_top_results_overlap_between_backends(corpus: PreparedCorpus) -> None:
    tantivy, reference = corpus.retriever("tantivy"), corpus.retriever("rank_bm25")
    overlaps = []
    for query in QUERIES:
        a = {h.passage_id for h in tantivy.search(query, 5)}
        b = {h.passage_id for h in reference.search(query, 5)}
        assert len(a) == len(b) == 5
        overlaps.append(len(a & b) / 5)
    assert sum(overlaps) / len(overlaps) >= 0.6, overlaps
    assert tantivy.search(QUERIES[0], 1)[0].passage_id == reference.search(QUERIES[0], 1)[0].passage_id


def test_hits_are_ranked_and_complete(retriever: Retriever) -> None:
    hits = retriever.search("Aristotle Plato Academy", 4)
    assert [h.rank for h in hits] == [0, 1, 2, 3]
    assert all(isinstance(h, Hit) and h.text and h.passage_id for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_excluded_ids_never_come_back(retriever: Retriever) -> None:
    top = retriever.search("Aristotle Plato Academy", 3)
    banned = {top[0].passage_id, top[1].passage_id}
    again = retriever.search("Aristotle Plato Academy", 3, exclude_ids=banned)
    assert len(again) == 3 and not banned & {h.passage_id for h in again}


@pytest.mark.parametrize("query", ["", "   ", "!!! ??? ...", 'title:"x" AND (', "<search>", "a" * 100_000])
def test_odd_queries_do_not_raise(retriever: Retriever, query: str) -> None:
    hits = retriever.search(query, 3)
    assert isinstance(hits, list) and len(hits) <= 3


def test_k_larger_than_matches(retriever: Retriever) -> None:
    hits = retriever.search("Stagira", 500)
    assert 0 < len(hits) < 500 and all("stagira" in (h.title + h.text).lower() for h in hits)


def test_search_with_required_keeps_only_passages_with_every_required_term(retriever: Retriever) -> None:
    from ramp_env.retrieval.base import analyze

    hits = retriever.search_with_required("president war", "United States", 15)
    assert hits and len(hits) <= 15
    assert all({"unit", "state"} <= set(analyze(h.title + "\n" + h.text)) for h in hits)
    assert [h.rank for h in hits] == list(range(len(hits)))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    excluded = retriever.search_with_required("president war", "United States", 15, exclude_ids=[hits[0].passage_id])
    assert hits[0].passage_id not in {h.passage_id for h in excluded}
    assert retriever.search_with_required("president", "zzqxv", 5) == []
    assert retriever.search_with_required("president", "", 5) == []

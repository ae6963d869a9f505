"""Restricted retrievers: hidden passages never come back, and the ranking of the rest is unchanged."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.split import PassageSplit
from ramp_env.retrieval.base import Hit
from ramp_env.retrieval.restricted import FilteredRetriever, restrict


@pytest.fixture(scope="module")
def corpus(cache_dir: Path, wiki_sample: Path) -> PreparedCorpus:
    return PreparedCorpus.open(wiki_sample, cache_dir=cache_dir, progress=False)


def _queries(corpus: PreparedCorpus) -> list[str]:
    # every passage's title and opening words, plus its answer-like middle: ~2000 queries
    out = []
    for passage in corpus.store:
        words = passage.text.split()
        out += [f"{passage.title} {' '.join(words[:6])}", " ".join(words[len(words) // 2 : len(words) // 2 + 5])]
    return out


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_no_query_returns_a_hidden_passage_and_the_rest_rank_as_before(corpus: PreparedCorpus, backend: str) -> None:
    base = corpus.retriever(backend)
    split = PassageSplit.for_corpus(corpus)
    hidden = split.ids("test", corpus)
    assert 100 < len(hidden) < len(corpus.store) // 2
    view = restrict(base, hidden)
    assert type(view).__name__ == {"tantivy": "FilteredRetriever", "rank_bm25": "RestrictedBM25"}[backend]
    queries = _queries(corpus)
    for i, query in enumerate(queries):
        hits = view.search(query, 5, exclude_ids=())
        assert not {h.passage_id for h in hits} & hidden, query
        if i % 10 == 0:  # the visible passages keep their order (the engine, not luck, filters)
            deep = [h.passage_id for h in base.search(query, 400) if h.passage_id not in hidden][:5]
            assert [h.passage_id for h in hits] == deep, query
    # the evidence search path too, with exclusions on top
    for passage in list(corpus.store)[:200]:
        answer = passage.title
        hits = view.search_with_required(passage.text[:80], answer, 10, exclude_ids=(passage.id,))
        assert not {h.passage_id for h in hits} & (hidden | {passage.id})


class _OnlySearch:
    """A user's retriever: ``search`` only, and it ignores nothing."""

    def __init__(self, base) -> None:
        self.base = base

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        return self.base.search(query, k, exclude_ids=exclude_ids)


def test_a_custom_retriever_is_post_filtered_to_a_full_page(corpus: PreparedCorpus) -> None:
    base = corpus.retriever("tantivy")
    hidden = PassageSplit.for_corpus(corpus).ids("test", corpus)
    view = restrict(_OnlySearch(base), hidden)
    assert isinstance(view, FilteredRetriever)
    for query in _queries(corpus)[:300]:
        hits = view.search(query, 4)
        expected = [h.passage_id for h in base.search(query, 400) if h.passage_id not in hidden][:4]
        assert [h.passage_id for h in hits] == expected
        assert [h.rank for h in hits] == list(range(len(hits)))

"""The retrievers' optional hooks are protocols: ``restrict`` and the evidence search use a
backend's own filter or required-term search exactly when it has one."""

from __future__ import annotations

from collections.abc import Collection

from ramp_env.masking.evidence import search_candidates
from ramp_env.protocols import RequiredTermRetriever, RestrictableRetriever
from ramp_env.retrieval.base import Hit, Retriever
from ramp_env.retrieval.rank_bm25_backend import RankBM25Retriever
from ramp_env.retrieval.restricted import FilteredRetriever, restrict
from ramp_env.retrieval.tantivy_backend import TantivyRetriever


class Plain:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        self.queries.append(query)
        return [Hit(f"p{i}", "T", "text", 1.0 / (i + 1), i) for i in range(k)]


class WithHooks(Plain):
    def restricted(self, hidden_ids: frozenset[str]) -> Retriever:
        self.hidden = hidden_ids
        return self

    def search_with_required(self, query: str, required: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        self.queries.append(f"required={required} {query}")
        return self.search(query, k, exclude_ids)[:k]


def test_the_backends_declare_their_hooks() -> None:
    assert issubclass(RankBM25Retriever, RestrictableRetriever)
    assert issubclass(TantivyRetriever, RequiredTermRetriever)
    assert not isinstance(Plain(), RestrictableRetriever) and not isinstance(Plain(), RequiredTermRetriever)


def test_restrict_uses_the_backend_filter_when_it_has_one() -> None:
    own = WithHooks()
    assert restrict(own, {"p1"}) is own and own.hidden == {"p1"}
    assert isinstance(restrict(Plain(), {"p1"}), FilteredRetriever)


def test_the_evidence_search_weighs_the_required_text_up_without_the_hook() -> None:
    plain, own = Plain(), WithHooks()
    search_candidates(plain, "Paris", "capital France", 2, ())
    search_candidates(own, "Paris", "capital France", 2, ())
    assert plain.queries == ["Paris Paris capital France"]
    assert own.queries[0] == "required=Paris capital France"

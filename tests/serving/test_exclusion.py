"""``exclude_ids`` keeps out near copies of the excluded passages by default, on both backends."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.near_duplicates import CopyCheck
from ramp_env.retrieval.base import Hit
from ramp_env.serving.exclusion import CopyExcluder
from tests.serving.conftest import Served, serve

SOURCE_ID = "wiki:Abraham Lincoln#0"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> tuple[Path, dict[str, str]]:
    """The sample corpus plus copies of one passage: verbatim, one word changed, re-cased and re-spaced."""
    rows = [json.loads(line) for line in wiki_sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    source = next(r for r in rows if r["id"] == SOURCE_ID)
    words = source["text"].split()
    copies = {
        "copy:verbatim": source["text"],
        "copy:one-word": " ".join(words[:5] + ["sixteenth"] + words[6:]),
        "copy:recased": "  ".join(w.upper() for w in words),
    }
    rows += [{"id": pid, "title": "Mirror", "text": text} for pid, text in copies.items()]
    path = tmp_path_factory.mktemp("planted") / "planted.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, {"source": source["text"], **copies}


@pytest.fixture(scope="module", params=["tantivy", "rank_bm25"])
def server(request: pytest.FixtureRequest, planted: tuple[Path, dict[str, str]], cache_dir: Path) -> Iterator[Served]:
    corpus_path, _ = planted
    PreparedCorpus.open(str(corpus_path), cache_dir=str(cache_dir), progress=False).retriever("tantivy")
    with serve(corpus_path, cache_dir, "--retriever", request.param) as served:
        yield served


def _ids(served: Served, body: dict) -> list[list[str]]:
    reply = httpx.post(served.url, json=body, timeout=60, trust_env=False)
    assert reply.status_code == 200, reply.text
    result = reply.json()["result"]
    return [[d["id"] for d in items] for items in result] if "queries" in body else [[i["document"]["id"] for i in result]]


def test_near_copies_of_excluded_passages_never_come_back(served_query: tuple[Served, str]) -> None:
    served, query = served_query
    for body in (
        {"queries": [query], "topk": 5, "exclude_ids": [SOURCE_ID]},
        {"queries": [query, query], "topk": 5, "exclude_ids": [[], [SOURCE_ID]]},
        {"query": query, "topk": 5, "exclude_ids": [SOURCE_ID]},
    ):
        got = _ids(served, body)[-1]
        assert len(got) == 5  # topk stays filled with other passages
        assert not {SOURCE_ID, "copy:verbatim", "copy:one-word", "copy:recased"} & set(got)


def test_exclude_near_copies_false_excludes_only_the_ids(served_query: tuple[Served, str]) -> None:
    served, query = served_query
    unfiltered = _ids(served, {"queries": [query], "topk": 5})[0]
    assert {SOURCE_ID, "copy:verbatim", "copy:one-word"} <= set(unfiltered)  # the copies do rank at the top
    only_ids = _ids(served, {"queries": [query], "topk": 5, "exclude_ids": [SOURCE_ID], "exclude_near_copies": False})
    assert SOURCE_ID not in only_ids[0] and {"copy:verbatim", "copy:one-word"} <= set(only_ids[0])


@pytest.fixture()
def served_query(server: Served, planted: tuple[Path, dict[str, str]]) -> tuple[Served, str]:
    _, texts = planted
    return server, " ".join(texts["source"].split()[:25])


class _OneQueryRetriever:
    """A backend that answers only the client's query: the candidate search for copies finds nothing,
    so only the check of each hit can keep a copy out."""

    def __init__(self, hits: list[Hit], query: str) -> None:
        self.hits, self.query = hits, query

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        return [h for h in self.hits if h.passage_id not in exclude_ids][:k] if query == self.query else []


class _Store:
    def __init__(self, passages: dict[str, Any]) -> None:
        self.rows = list(passages)
        self.passages = passages

    def rowid_of(self, pid: str) -> int | None:
        return self.rows.index(pid) + 1 if pid in self.passages else None

    def get(self, row: int) -> Any:
        return self.passages[self.rows[row - 1]]


def test_each_hit_is_checked_with_the_envs_copy_test() -> None:
    """A copy with a word inserted between every word shares no 3-gram with the source; the
    env's second criterion (words in order) calls it a copy, so the server keeps it out too."""
    words = [f"w{i}" for i in range(40)]
    source = SimpleNamespace(id="src", text=" ".join(words))
    interleaved = " ".join(f"{w} filler{i}" for i, w in enumerate(words))
    assert CopyCheck(source.text).is_copy(interleaved)  # the env's verdict
    hits = [Hit("copy", "Mirror", interleaved, 2.0, 0), Hit("other", "Other", "unrelated text here", 1.0, 1)]
    excluder = CopyExcluder(_OneQueryRetriever(hits, "q"), _Store({"src": source}))  # type: ignore[arg-type]
    assert [h.passage_id for h in excluder.search("q", 1, ["src"])] == ["other"]

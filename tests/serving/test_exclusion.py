"""``exclude_ids`` keeps out near copies of the excluded passages by default, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ramp_env.corpus.prepared import PreparedCorpus
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

"""The peers' retrieval clients, request for request, against a real ``ramp-env serve`` on 127.0.0.1.

Each helper below builds its request and reads the reply the way the peer's current code does
(read in their repositories; not copied):

* GEM ``gem/tools/search_tool.py`` (``SearchTool._search``, main branch and gem-llm 0.1.0): one
  query per request, ``requests.post(url, data=<msgspec msgpack bytes>, timeout=5)`` with no
  content type, ``raise_for_status()``, ``msgspec.msgpack.decode(r.content)["result"]`` as a flat
  list of ``{"document": {"contents": ...}, "score": ...}``; any exception becomes the text
  ``[SearchTool Error: ...]``; documents are shown as ``Doc i(Title: <first line>) <rest>``.
* Search-R1 ``search_r1/llm_agent/generation.py`` (``batch_search``/``_batch_search``): all of a
  turn's queries in one ``requests.post(url, json={"queries": [...], "topk": k, "return_scores":
  True}).json()["result"]`` with no status check (an empty list when no sample searched);
  ``topk`` comes from its config and may be null.
* GEM before July 2025: ``{"queries": [...]}`` in msgpack, nested ``result``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import msgspec
import pytest
import requests

from ramp_env.corpus.prepared import PreparedCorpus
from tests.serving.conftest import Served, serve

QUERIES = ["Aristotle philosopher Athens", "Abraham Lincoln president", "Roman Empire emperor", "Ada Lovelace engine"]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # the clients use plain requests, which honours proxy variables: loopback traffic must not leave
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server(prepared: PreparedCorpus, cache_dir: Path, wiki_sample: Path) -> Iterator[Served]:
    with serve(wiki_sample, cache_dir) as served:
        yield served


def passages_to_text(result: list[dict[str, Any]]) -> str:
    """How both clients show documents to the model: title = the first line of ``contents``."""
    out = ""
    for i, item in enumerate(result):
        lines = item["document"]["contents"].split("\n")
        out += f"Doc {i + 1}(Title: {lines[0]}) {chr(10).join(lines[1:])}\n"
    return out


def gem_search(url: str, query: str, topk: int = 3) -> str:
    """GEM SearchTool's request and reply handling."""
    payload = {"query": query, "topk": topk, "return_scores": True}
    try:
        response = requests.post(url, data=msgspec.msgpack.encode(payload), timeout=5)
        response.raise_for_status()
        return passages_to_text(msgspec.msgpack.decode(response.content)["result"])
    except Exception as exc:  # noqa: BLE001 - GEM turns every failure into the observation
        return f"[SearchTool Error: {exc}]"


def search_r1_batch_search(url: str, queries: list[str], topk: int | None = 3) -> list[str]:
    """Search-R1's batch_search: one request for the turn, ``.json()["result"]`` unchecked."""
    payload = {"queries": queries, "topk": topk, "return_scores": True}
    results = requests.post(url, json=payload).json()["result"]
    return [passages_to_text(result) for result in results]


def expected_text(corpus: PreparedCorpus, query: str, k: int) -> str:
    hits = corpus.retriever("tantivy").search(query, k)
    return "".join(f'Doc {i + 1}(Title: "{h.title}") {h.text}\n' for i, h in enumerate(hits))


def test_gem_search_tool_request_gets_its_flat_result(server: Served, prepared: PreparedCorpus) -> None:
    for query in QUERIES:
        shown = gem_search(server.url, query, topk=3)
        assert "[SearchTool Error" not in shown
        assert shown == expected_text(prepared, query, 3)
    # the reply is msgpack (GEM decodes it as such) and the flat list carries scores
    response = requests.post(server.url, data=msgspec.msgpack.encode({"query": QUERIES[0], "topk": 2,
                                                                       "return_scores": True}), timeout=5)
    assert response.headers["content-type"] == "application/msgpack"
    result = msgspec.msgpack.decode(response.content)["result"]
    hits = prepared.retriever("tantivy").search(QUERIES[0], 2)
    assert [r["document"]["id"] for r in result] == [h.passage_id for h in hits]
    assert [r["score"] for r in result] == pytest.approx([h.score for h in hits])


def test_gem_request_without_scores_or_topk_gets_gem_servers_shape(server: Served, prepared: PreparedCorpus) -> None:
    # GEM's server: topk None -> its default; without return_scores every item has "score": None
    response = requests.post(server.url, data=msgspec.msgpack.encode({"query": QUERIES[1], "topk": None}), timeout=5)
    result = msgspec.msgpack.decode(response.content)["result"]
    assert len(result) == 3 and all(item["score"] is None for item in result)
    assert passages_to_text(result) == expected_text(prepared, QUERIES[1], 3)


def test_gem_bad_query_is_a_search_tool_error_not_a_crash(server: Served) -> None:
    shown = gem_search(server.url, "x" * 5000)
    assert shown.startswith("[SearchTool Error: 422")
    assert gem_search(server.url, QUERIES[0]).startswith("Doc 1(Title:")


def test_sixteen_concurrent_gem_clients_are_batched_and_answered_correctly(
    server: Served, prepared: PreparedCorpus
) -> None:
    before = httpx.get(f"{server.base}/health", trust_env=False).json()["batching"]
    queries = [QUERIES[i % len(QUERIES)] + f" {word}" for i, word in enumerate(["war"] * 8 + ["city"] * 8)] * 4
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        shown = list(pool.map(lambda q: gem_search(server.url, q), queries))
    assert shown == [expected_text(prepared, q, 3) for q in queries]
    after = httpx.get(f"{server.base}/health", trust_env=False).json()["batching"]
    searched = after["single_queries"] - before["single_queries"]
    batches = after["batches"] - before["batches"]
    assert searched == len(queries)
    assert batches < searched  # concurrent requests shared engine calls


def test_search_r1_batch_search_including_empty_512_and_null_topk(server: Served, prepared: PreparedCorpus) -> None:
    shown = search_r1_batch_search(server.url, QUERIES, topk=3)
    assert shown == [expected_text(prepared, q, 3) for q in QUERIES]
    # execute_predictions searches with an empty list when no sample searched this turn
    assert search_r1_batch_search(server.url, []) == []
    # train_batch_size=512: one request with every sample's query
    batch = [QUERIES[i % len(QUERIES)] for i in range(512)]
    big = search_r1_batch_search(server.url, batch, topk=3)
    assert len(big) == 512 and big[:4] == shown
    # topk null: the server's default (3)
    assert search_r1_batch_search(server.url, QUERIES[:2], topk=None) == shown[:2]


def test_search_r1_reply_without_scores_is_documents(server: Served, prepared: PreparedCorpus) -> None:
    result = requests.post(server.url, json={"queries": QUERIES[:1], "topk": 2}).json()["result"]
    hits = prepared.retriever("tantivy").search(QUERIES[0], 2)
    assert result[0] == [{"id": h.passage_id, "contents": f'"{h.title}"\n{h.text}'} for h in hits]


def test_old_gem_batch_shape_still_answers(server: Served, prepared: PreparedCorpus) -> None:
    body = msgpack.packb({"queries": QUERIES[:2], "topk": 2, "return_scores": True})
    result = msgpack.unpackb(requests.post(server.url, data=body, timeout=5).content)["result"]
    assert [passages_to_text(r) for r in result] == [expected_text(prepared, q, 2) for q in QUERIES[:2]]

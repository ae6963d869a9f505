"""ramp_env.serving.retrieval through the real ``ramp-env serve`` process on 127.0.0.1.

The server is started as a subprocess on a free port (``--port 0``, the bound port is read from
its first line), sent Search-R1's JSON request and GEM's msgpack request, and always stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msgpack
import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from tests.serving.conftest import serve

QUERY = "Aristotle philosopher Athens"
# trust_env=False: a proxy set in the environment must never see loopback test traffic
HTTP = httpx.Client(trust_env=False, timeout=30.0)


@pytest.fixture(scope="module")
def corpus(prepared: PreparedCorpus) -> PreparedCorpus:
    return prepared


@pytest.fixture(scope="module")
def server(corpus: PreparedCorpus, cache_dir: Path, wiki_sample: Path) -> Iterator[str]:
    limits = ("--max-queries", "8", "--max-topk", "20", "--max-body-bytes", "4096", "--max-exclude-ids", "4", "--max-results", "100")
    with serve(wiki_sample, cache_dir, *limits) as served:
        yield served.base


def test_health_reports_the_corpus_and_limits(server: str, corpus: PreparedCorpus) -> None:
    health = HTTP.get(f"{server}/health").json()
    assert health["status"] == "ok" and health["passages"] == corpus.manifest["passages"]
    assert health["limits"]["max_queries"] == 8 and health["limits"]["max_topk"] == 20


def test_search_r1_json_request_gets_search_r1_documents(server: str, corpus: PreparedCorpus) -> None:
    body = {"queries": [QUERY, "Roman Empire emperor"], "topk": 3, "return_scores": True}
    reply = HTTP.post(f"{server}/retrieve", json=body)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/json")
    result = reply.json()["result"]
    assert len(result) == 2
    local = corpus.retriever("tantivy")
    for query, items in zip(body["queries"], result):
        expected = local.search(query, 3)
        assert [item["document"]["id"] for item in items] == [h.passage_id for h in expected]
        assert [item["score"] for item in items] == pytest.approx([h.score for h in expected])
        first = expected[0]
        assert items[0]["document"]["contents"] == f'"{first.title}"\n{first.text}'
    # without scores each item is the document itself, as Search-R1's server answers
    plain = HTTP.post(f"{server}/retrieve", json={"queries": [QUERY], "topk": 2}).json()["result"][0]
    assert set(plain[0]) == {"id", "contents"} and len(plain) == 2


def test_untyped_msgpack_batch_request_as_gem_sent_before_july_2025(server: str, corpus: PreparedCorpus) -> None:
    # msgpack bytes with no content type, decoded by the first byte; the reply is msgpack too
    payload = msgpack.packb({"queries": [QUERY], "topk": 2, "return_scores": True})
    reply = HTTP.post(f"{server}/retrieve", content=payload)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/msgpack"
    items = msgpack.unpackb(reply.content)["result"][0]
    title = items[0]["document"]["contents"].split("\n")[0]
    expected = corpus.retriever("tantivy").search(QUERY, 2)
    assert [i["document"]["id"] for i in items] == [h.passage_id for h in expected]
    assert title == f'"{expected[0].title}"'


def test_exclusion_ids_for_all_or_each_query(server: str, corpus: PreparedCorpus) -> None:
    top = corpus.retriever("tantivy").search(QUERY, 3)
    shared = HTTP.post(f"{server}/retrieve", json={"queries": [QUERY], "topk": 3, "exclude_ids": [top[0].passage_id]})
    ids = [d["id"] for d in shared.json()["result"][0]]
    assert top[0].passage_id not in ids and ids[:2] == [h.passage_id for h in top[1:]]
    per_query = HTTP.post(
        f"{server}/retrieve", json={"queries": [QUERY, QUERY], "topk": 1, "exclude_ids": [[], [top[0].passage_id]]}
    ).json()["result"]
    assert per_query[0][0]["id"] == top[0].passage_id and per_query[1][0]["id"] == top[1].passage_id


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"queries": ["q"] * 9, "topk": 1}, 422, "at most 8"),
        ({"queries": ["q"] * 8, "topk": 20}, 422, "160 results; this server returns at most 100"),
        ({"queries": ["q"], "topk": 21}, 422, "topk must be an integer in 1..20"),
        ({"queries": ["q"], "topk": 0}, 422, "topk must be an integer in 1..20"),
        ({"queries": "just one string"}, 422, "queries"),
        ({"queries": [1, 2]}, 422, "queries"),
        ({"queries": ["a", "b"], "exclude_ids": [["x"]]}, 422, "one per query"),
        ({"topk": 3}, 422, "queries"),
        ({"queries": ["q"], "topk": 2.0}, 422, "topk must be an integer"),
        ({"queries": ["q"], "topk": True}, 422, "topk must be an integer"),
        ({"queries": ["q"], "return_scores": "yes"}, 422, "return_scores must be true or false"),
        ({"query": "q", "queries": ["q"]}, 422, "not both"),
        ({"query": 5}, 422, "query must be a string"),
        (["q"], 422, "must be an object"),
        ({"queries": ["q"], "exclude_ids": ["1", "2", "3", "4", "5"]}, 422, "limit is 4"),
        ({"queries": ["q", "r"], "exclude_ids": [[], ["1", "2", "3", "4", "5"]]}, 422, "limit is 4"),
    ],
)
def test_bad_requests_get_clear_4xx(server: str, body: dict, status: int, message: str) -> None:
    reply = HTTP.post(f"{server}/retrieve", json=body)
    assert reply.status_code == status and message in reply.json()["detail"]


def test_oversized_and_undecodable_bodies(server: str) -> None:
    big = HTTP.post(f"{server}/retrieve", json={"queries": ["x" * 5000]})
    assert big.status_code == 413 and "4096 bytes" in big.json()["detail"]
    broken = HTTP.post(f"{server}/retrieve", content=b'{"queries": [', headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "not valid json" in broken.json()["detail"]
    garbage = HTTP.post(f"{server}/retrieve", content=b"\xc1\xc1\xc1")
    assert garbage.status_code == 400 and "not valid msgpack" in garbage.json()["detail"]
    deep = HTTP.post(f"{server}/retrieve", content=b"[" * 4000, headers={"content-type": "application/json"})
    assert deep.status_code == 400
    # the server is still answering after all of that
    assert HTTP.post(f"{server}/retrieve", json={"queries": [QUERY], "topk": 1}).status_code == 200

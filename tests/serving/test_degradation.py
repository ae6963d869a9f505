"""``ramp-env serve`` degrades gracefully: bad queries, slow or idle clients, too many connections.

Every test runs the real server on 127.0.0.1 and talks to it with raw sockets where the
connection itself is what is checked (keep-alive after an error, timeouts, the cap).
"""

from __future__ import annotations

import json
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from tests.serving.conftest import Served, post_bytes, raw_exchange, serve, stderr_of

GOOD = "Aristotle philosopher Athens"


def _json(obj: object) -> bytes:
    # ensure_ascii: a lone surrogate travels as the escape "\ud800", as a JSON client sends it
    return json.dumps(obj, ensure_ascii=True).encode()


@pytest.fixture(scope="module")
def server(prepared: PreparedCorpus, cache_dir: Path, wiki_sample: Path) -> Iterator[Served]:
    with serve(wiki_sample, cache_dir) as served:
        yield served


def test_a_lone_surrogate_fails_only_its_query_and_keep_alive_survives(server: Served, prepared: PreparedCorpus) -> None:
    top = [h.passage_id for h in prepared.retriever("tantivy").search(GOOD, 2)]
    with socket.create_connection(server.address) as sock:
        body = _json({"queries": [GOOD, "bad \ud800 query", "x" * 5000], "topk": 2})
        status, _, raw = raw_exchange(sock, post_bytes("/retrieve", body))
        assert status == 200
        reply = json.loads(raw)
        assert [d["id"] for d in reply["result"][0]] == top
        assert reply["result"][1] == [] and reply["result"][2] == []
        errors = {e["index"]: e["detail"] for e in reply["errors"]}
        assert set(errors) == {1, 2}
        assert "queries[1]" in errors[1] and "lone surrogate" in errors[1]
        assert "queries[2]" in errors[2] and "4096" in errors[2]
        # the same connection answers the next request
        status, _, raw = raw_exchange(sock, post_bytes("/retrieve", _json({"queries": [GOOD], "topk": 2})))
        assert status == 200 and [d["id"] for d in json.loads(raw)["result"][0]] == top


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"query": "\ud800"}, 422, "query is not valid Unicode"),
        ({"queries": [GOOD], "exclude_ids": ["ok", "\udfff"]}, 422, "exclude_ids[1] is not valid Unicode"),
        ({"queries": [GOOD, GOOD], "exclude_ids": [["a"], ["\ud800"]]}, 200, "exclude_ids[1][0]"),
        ({"query": GOOD, "exclude_ids": ["\ud800"]}, 422, "exclude_ids[0]"),
    ],
)
def test_surrogates_elsewhere_are_named_and_never_a_500(server: Served, body: dict, status: int, names: str) -> None:
    with socket.create_connection(server.address) as sock:
        got, _, raw = raw_exchange(sock, post_bytes("/retrieve", _json(body)))
        assert got == status
        reply = json.loads(raw)
        if status == 200:  # a per-query list: only that query fails
            assert reply["result"][0] and reply["result"][1] == []
            detail = reply["errors"][0]["detail"]
        else:
            detail = reply["detail"]
        assert names in detail
        got, _, _ = raw_exchange(sock, post_bytes("/retrieve", _json({"query": GOOD})))
        assert got == 200


def test_msgpack_with_invalid_utf8_is_a_400_and_the_connection_lives(server: Served) -> None:
    # msgpack str holding the UTF-8-encoded surrogate bytes: undecodable, refused as a body
    body = b"\x81\xa5query\xa3\xed\xa0\x80"
    with socket.create_connection(server.address) as sock:
        status, _, raw = raw_exchange(sock, post_bytes("/retrieve", body, "application/msgpack"))
        assert status == 400 and "not valid msgpack" in json.loads(raw)["detail"]
        status, _, _ = raw_exchange(sock, post_bytes("/retrieve", _json({"query": GOOD})))
        assert status == 200


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_cpu_per_request_is_bounded_on_every_backend(
    backend: str, prepared: PreparedCorpus, cache_dir: Path, wiki_sample: Path
) -> None:
    # 256 queries of 256 distinct terms each: legal, and the most work a request can ask for per query
    words = list(dict.fromkeys(w for p in prepared.store for w in p.text.split() if w.isalpha()))
    queries = [" ".join(words[(i * 7 + j) % len(words)] for j in range(256))[:4096] for i in range(256)]
    with serve(wiki_sample, cache_dir, "--retriever", backend, "--max-request-cpu-seconds", "0.05") as served:
        started = time.monotonic()
        reply = httpx.post(served.url, json={"queries": queries, "topk": 3}, timeout=120, trust_env=False)
        assert reply.status_code == 422
        assert "0.05 s" in reply.json()["detail"] and "fewer or shorter queries" in reply.json()["detail"]
        assert time.monotonic() - started < 60  # refused after the budget, not after the whole batch
        small = httpx.post(served.url, json={"queries": queries[:2], "topk": 3}, timeout=60, trust_env=False)
        assert small.status_code == 200 and len(small.json()["result"]) == 2


def test_the_rank_bm25_backend_answers_a_full_256_query_request(
    prepared: PreparedCorpus, cache_dir: Path, wiki_sample: Path
) -> None:
    words = list(dict.fromkeys(w for p in prepared.store for w in p.text.split() if w.isalpha()))
    queries = [" ".join(words[(i * 13 + j) % len(words)] for j in range(256))[:4096] for i in range(256)]
    with serve(wiki_sample, cache_dir, "--retriever", "rank_bm25") as served:
        reply = httpx.post(served.url, json={"queries": queries, "topk": 3}, timeout=300, trust_env=False)
    assert reply.status_code == 200 and len(reply.json()["result"]) == 256
    local = prepared.retriever("rank_bm25")
    assert [d["id"] for d in reply.json()["result"][5]] == [h.passage_id for h in local.search(queries[5], 3)]


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_idle_dripping_and_slow_body_connections_are_closed(cache_dir: Path, wiki_sample: Path) -> None:
    args = ("--head-timeout", "0.5", "--keepalive-timeout", "0.5", "--read-timeout", "0.5")
    with serve(wiki_sample, cache_dir, *args) as served:
        silent = socket.create_connection(served.address)
        assert _closed_within(silent, 10)
        # a byte of the head every 0.2 s does not keep the connection open
        drip = socket.create_connection(served.address)
        closed = False
        deadline = time.monotonic() + 10
        request = post_bytes("/retrieve", b"{}")
        for byte in request:
            try:
                drip.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if _closed_within(drip, 0.2) or time.monotonic() > deadline:
                closed = True
                break
        assert closed and time.monotonic() < deadline
        # a body promised but not sent: 408 after the read timeout
        slow = socket.create_connection(served.address)
        slow.sendall(b"POST /retrieve HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
        status, _, raw = raw_exchange(slow, b"", timeout=10)
        assert status == 408 and "0.5 s" in json.loads(raw)["detail"]
        # an idle keep-alive connection after a response
        kept = socket.create_connection(served.address)
        assert raw_exchange(kept, post_bytes("/retrieve", _json({"query": GOOD})))[0] == 200
        assert _closed_within(kept, 10)
        for sock in (silent, drip, slow, kept):
            sock.close()


def test_connections_over_the_cap_evict_idle_ones_and_requests_still_work(cache_dir: Path, wiki_sample: Path) -> None:
    with serve(wiki_sample, cache_dir, "--max-connections", "8", "--head-timeout", "60") as served:
        idle = [socket.create_connection(served.address) for _ in range(20)]
        try:
            time.sleep(0.5)
            reply = httpx.post(served.url, json={"query": GOOD}, timeout=30, trust_env=False)
            assert reply.status_code == 200
            closed = sum(_closed_within(s, 0.2) for s in idle)
            assert closed >= 20 - 8 + 1  # every idle connection over the cap, and one more for the request
        finally:
            for sock in idle:
                sock.close()


@pytest.fixture()
def many_descriptors() -> Iterator[None]:
    """This test process may hold 1,000+ sockets (raised to the hard limit for the test, then restored)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if wanted < 1200:
        pytest.skip(f"the hard descriptor limit ({hard}) is too low for 1,000 client sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("many_descriptors")
def test_a_thousand_idle_connections_under_ulimit_1024(cache_dir: Path, wiki_sample: Path) -> None:
    with serve(wiki_sample, cache_dir, "--head-timeout", "60", nofile=1024) as served:
        health = httpx.get(f"{served.base}/health", trust_env=False).json()
        assert health["max_connections"] == 512
        idle = []
        try:
            for _ in range(1000):
                idle.append(socket.create_connection(served.address))
            time.sleep(1.0)
            for _ in range(3):
                reply = httpx.post(served.url, json={"query": GOOD}, timeout=30, trust_env=False)
                assert reply.status_code == 200
        finally:
            for sock in idle:
                sock.close()
    err = stderr_of(served)
    assert "Traceback" not in err and len(err) < 2000, err[-2000:]


@pytest.mark.usefixtures("many_descriptors")
def test_descriptor_exhaustion_is_reported_in_one_line_not_a_flood(cache_dir: Path, wiki_sample: Path) -> None:
    # a cap above what the descriptors allow: accept() fails with EMFILE while the idle clients stay
    args = ("--max-connections", "1000", "--head-timeout", "3")
    with serve(wiki_sample, cache_dir, *args, nofile=200) as served:
        idle = []
        try:
            for _ in range(400):
                idle.append(socket.create_connection(served.address))
            time.sleep(2.0)  # several accept() retries happen in here
            try:  # while descriptors are exhausted: an answer or a clean refusal, never a hang
                status = httpx.post(served.url, json={"query": GOOD}, timeout=10, trust_env=False).status_code
                assert status in (200, 503)
            except httpx.TransportError:
                pass
        finally:
            for sock in idle:
                sock.close()
        time.sleep(1.0)
        assert httpx.post(served.url, json={"query": GOOD}, timeout=30, trust_env=False).status_code == 200
    err = stderr_of(served)
    assert "Traceback" not in err and err.count("cannot accept connections") <= 1 and len(err) < 2000, err[-2000:]


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_near_copy_expansion_of_many_exclude_ids_is_inside_the_budget(
    backend: str, prepared: PreparedCorpus, cache_dir: Path, wiki_sample: Path
) -> None:
    # one query, 1,000 ids of real passages: each id's near copies are searched for, within the budget
    ids = [p.id for p in prepared.store][:1000]
    args = ("--retriever", backend, "--max-request-cpu-seconds", "0.05")
    with serve(wiki_sample, cache_dir, *args) as served:
        for body in ({"query": GOOD, "exclude_ids": ids}, {"queries": [GOOD], "exclude_ids": ids}):
            reply = httpx.post(served.url, json=body, timeout=120, trust_env=False)
            assert reply.status_code == 422 and "fewer exclude_ids" in reply.json()["detail"]
        few = httpx.post(served.url, json={"query": GOOD, "exclude_ids": ids[:1]}, timeout=60, trust_env=False)
        assert few.status_code == 200


def test_garbage_requests_do_not_flood_the_log(cache_dir: Path, wiki_sample: Path) -> None:
    with serve(wiki_sample, cache_dir) as served:
        for _ in range(200):
            with socket.create_connection(served.address) as sock:
                sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
                status, _, _ = raw_exchange(sock, b"", timeout=10)
                assert status == 400
        assert httpx.post(served.url, json={"query": GOOD}, timeout=30, trust_env=False).status_code == 200
    err = stderr_of(served)
    assert err.count("Invalid HTTP request") <= 1 and len(err) < 2000, err[-2000:]

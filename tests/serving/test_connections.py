"""ramp_env.serving.connections and the app's error paths, with the app under uvicorn in this process.

A stand-in retriever (a mock is fine for error paths) raises or blocks on cue, so a crash
inside a search and a server whose every connection is busy can be produced on demand.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Collection, Iterator

import pytest
import uvicorn

from ramp_env.cli.serve import listening_socket
from ramp_env.retrieval.base import Hit
from ramp_env.serving import create_app
from ramp_env.serving.connections import ConnectionLimits, QuietExceptionHandler, guarded_protocol
from tests.serving.conftest import post_bytes, raw_exchange


class CueRetriever:
    """Answers one hit; raises on "explode"; blocks on "block" until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.blocked = threading.Semaphore(0)

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        if query == "explode":
            raise RuntimeError("backend crashed")
        if query == "block":
            self.blocked.release()
            self.release.wait(30)
        return [Hit("p1", "Title", "text", 1.0, 0)][:k]


@pytest.fixture()
def app_server() -> Iterator[tuple[tuple[str, int], CueRetriever]]:
    retriever = CueRetriever()
    app = create_app(retriever)
    config = uvicorn.Config(
        app, loop="asyncio", log_level="critical", access_log=False,
        http=guarded_protocol(ConnectionLimits(max_connections=3, head_timeout=30)),
    )
    server = uvicorn.Server(config)
    sock = listening_socket("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield sock.getsockname()[:2], retriever
    finally:
        retriever.release.set()
        server.should_exit = True
        thread.join(30)
        sock.close()


def _body(obj: object) -> bytes:
    return post_bytes("/retrieve", json.dumps(obj).encode())


def test_a_crash_inside_a_search_fails_only_its_query_and_the_connection_lives(app_server) -> None:
    address, _ = app_server
    with socket.create_connection(address) as sock:
        status, _, raw = raw_exchange(sock, _body({"queries": ["fine", "explode", "fine"]}))
        assert status == 200
        reply = json.loads(raw)
        assert [len(r) for r in reply["result"]] == [1, 0, 1]
        assert reply["errors"] == [{"index": 1, "detail": "queries[1]: search failed (RuntimeError)"}]
        # a single query crashing is its own request's JSON 500
        status, headers, raw = raw_exchange(sock, _body({"query": "explode"}))
        assert status == 500 and headers["content-type"] == "application/json"
        assert json.loads(raw)["detail"] == "internal error: RuntimeError"
        assert raw_exchange(sock, _body({"query": "fine"}))[0] == 200


def test_when_every_connection_is_busy_a_newcomer_gets_503(app_server) -> None:
    address, retriever = app_server
    busy = [socket.create_connection(address) for _ in range(3)]
    for sock in busy:
        sock.sendall(_body({"queries": ["block"]}))
    for _ in busy:  # all three searches are in flight
        assert retriever.blocked.acquire(timeout=30)
    with socket.create_connection(address) as newcomer:
        status, _, raw = raw_exchange(newcomer, b"", timeout=10)
        assert status == 503 and "too many connections" in json.loads(raw)["detail"]
    retriever.release.set()
    for sock in busy:
        assert raw_exchange(sock, b"")[0] == 200
        sock.close()
    with socket.create_connection(address) as later:
        assert raw_exchange(later, _body({"query": "fine"}))[0] == 200


def test_descriptor_exhaustion_reports_are_rate_limited() -> None:
    import asyncio
    import errno
    import logging

    handler = QuietExceptionHandler(every=60)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("ramp_env.serving.connections")
    keep = Keep()
    logger.addHandler(keep)
    loop = asyncio.new_event_loop()
    try:
        for _ in range(1000):
            handler(loop, {"message": "socket.accept() out of system resource",
                           "exception": OSError(errno.EMFILE, "Too many open files")})
    finally:
        logger.removeHandler(keep)
        loop.close()
    assert len(records) == 1 and "ulimit -n" in records[0].getMessage() and handler.suppressed == 999

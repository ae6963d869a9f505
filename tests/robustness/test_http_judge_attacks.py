"""A hostile or broken judge server against :class:`HTTPJudge`: one behaviour per case, each a real
``http.server`` on 127.0.0.1 (ephemeral ports; nothing leaves the machine).

The judge must never send its API key to another origin, never read an unbounded
reply, never wait past its deadline, and turn every malformed reply into a
:class:`JudgeServerError` (never ``AttributeError``/``OverflowError``/a made-up score).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ramp_env.rewards.judges import HTTPJudge, JudgeServerError

Handler = Callable[[BaseHTTPRequestHandler], None]


LOG_09, LOG_01 = math.log(0.9), math.log(0.1)


def verdict(logprob_yes: Any = LOG_09, logprob_no: Any = LOG_01) -> dict[str, Any]:
    top = [{"token": "Yes", "logprob": logprob_yes}, {"token": "No", "logprob": logprob_no}]
    return {"choices": [{"message": {"role": "assistant", "content": "Yes"},
                         "logprobs": {"content": [{"token": "Yes", "logprob": logprob_yes, "top_logprobs": top}]}}]}


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


class Server:
    """A loopback HTTP server whose POST (and GET) handling is ``handle(request_handler)``;
    records every request's path and headers."""

    def __init__(self, handle: Handler) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.requests.append((self.command, self.path, dict(self.headers)))
                try:
                    handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the judge hung up on us: what a deadline or a size cap should do

            do_POST = do_GET = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = self.origin + "/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def serve() -> Iterator[Callable[[Handler], Server]]:
    servers: list[Server] = []

    def start(handle: Handler) -> Server:
        servers.append(Server(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def score_within(judge: HTTPJudge, seconds: float) -> tuple[list[float] | None, BaseException | None, float]:
    """Score one pair in a thread; fail the test if it does not return within ``seconds``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["scores"] = judge.score(["JFK"], ["John F. Kennedy"])
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcome["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the judge was still waiting after {seconds} s"
    return outcome.get("scores"), outcome.get("error"), time.monotonic() - started


def judge_for(server: Server, **kwargs: Any) -> HTTPJudge:
    kwargs.setdefault("contrastive", False)
    kwargs.setdefault("retries", 1)
    return HTTPJudge(server.url, model="m", **kwargs)


# -- credentials ---------------------------------------------------------------------------------


def test_a_redirect_to_another_origin_never_carries_the_api_key(serve, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")  # the default source of the key
    elsewhere = serve(lambda h: send_json(h, 200, verdict()))
    redirecting = serve(lambda h: send_json(h, 302, {}, {"Location": elsewhere.url + "/chat/completions"}))
    _, error, _ = score_within(judge_for(redirecting), 20)
    assert isinstance(error, JudgeServerError) and "redirect" in str(error)
    assert redirecting.requests[0][2].get("Authorization") == "Bearer sk-secret"  # the key goes where it was told
    assert not any("Authorization" in headers for _, _, headers in elsewhere.requests)


def test_the_key_comes_from_the_argument_or_the_named_variable_only(serve, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-mine")
    server = serve(lambda h: send_json(h, 200, verdict()))
    judge_for(server, api_key_env="MY_JUDGE_KEY").score(["Lisboa"], ["Lisbon"])
    judge_for(server, api_key_env=None).score(["Porto"], ["Oporto"])
    judge_for(server, api_key="sk-explicit", api_key_env=None).score(["JFK"], ["Kennedy"])
    sent = [headers.get("Authorization") for _, _, headers in server.requests]
    assert sent == ["Bearer sk-mine", None, "Bearer sk-explicit"]


# -- size and time -------------------------------------------------------------------------------


def test_an_endless_reply_is_cut_off_at_the_size_cap(serve) -> None:
    sent = {"bytes": 0}

    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()  # no Content-Length: the body ends when the connection does
        h.wfile.write(b'{"choices": [{"text": "')
        for _ in range(2000):  # up to 128 MB
            h.wfile.write(b"y" * 65536)
            sent["bytes"] += 65536

    _, error, _ = score_within(judge_for(serve(endless), max_response_bytes=1 << 20), 60)
    assert isinstance(error, JudgeServerError) and "answered too much" in str(error)
    assert sent["bytes"] < 64 << 20  # the judge hung up long before the end


def test_a_declared_huge_reply_is_refused_before_reading_it(serve) -> None:
    def huge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(300 << 20))
        h.end_headers()
        h.wfile.write(b"{")

    _, error, seconds = score_within(judge_for(serve(huge), timeout=30), 20)
    assert isinstance(error, JudgeServerError) and "declared" in str(error)
    assert seconds < 10  # not a timeout: refused on the header


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_server_dripping_bytes_hits_the_overall_deadline(serve, where: str) -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        payload = json.dumps(verdict()).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        if where == "body":
            h.wfile.write(head)
            h.wfile.flush()
            data = payload
        else:
            data = head + payload
        for byte in data:  # one byte every 0.1 s: every single read is well within any timeout
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(0.1)

    _, error, seconds = score_within(judge_for(serve(drip), timeout=1.0, retries=2), 30)
    assert isinstance(error, JudgeServerError) and "within 1.0 s" in str(error)
    assert seconds < 8  # two attempts of 1 s and a short back-off


def test_a_server_that_never_answers_times_out(serve) -> None:
    release = threading.Event()
    server = serve(lambda h: release.wait(30))
    try:
        _, error, seconds = score_within(judge_for(server, timeout=0.5, retries=2), 20)
    finally:
        release.set()
    assert isinstance(error, JudgeServerError) and "failed after 2 attempts" in str(error)
    assert len(server.requests) == 2 and seconds < 5


# -- status codes and garbage -------------------------------------------------------------------


def test_overload_statuses_are_retried(serve) -> None:
    server_ok = {"n": 0}

    def flaky(h: BaseHTTPRequestHandler) -> None:
        server_ok["n"] += 1
        status = {1: 429, 2: 500}.get(server_ok["n"], 200)
        send_json(h, status, verdict() if status == 200 else {"error": "busy"})

    server = serve(flaky)
    scores, error, _ = score_within(judge_for(server, retries=3), 30)
    assert error is None and scores == [pytest.approx(0.9)]
    assert server_ok["n"] == 3


def test_a_client_error_is_not_retried(serve) -> None:
    server = serve(lambda h: send_json(h, 400, {"error": "bad model"}))
    _, error, _ = score_within(judge_for(server, retries=3), 20)
    assert isinstance(error, JudgeServerError) and "refused the request: 400" in str(error)
    assert len(server.requests) == 1


@pytest.mark.parametrize("body", [b"not json at all", b'{"choices": [', b"\xff\xfe\x00garbage"],
                         ids=["text", "cut-json", "binary"])
def test_garbage_replies_are_a_server_error(serve, body: bytes) -> None:
    _, error, _ = score_within(judge_for(serve(lambda h: send_json(h, 200, body)), retries=2), 20)
    assert isinstance(error, JudgeServerError) and "not JSON" in str(error)


MALFORMED = {
    "choices-string": {"choices": "yes"},
    "choices-of-numbers": {"choices": [1]},
    "top-level-list": [{"choices": []}],
    "logprobs-list": {"choices": [{"logprobs": [1, 2]}]},
    "content-dict": {"choices": [{"logprobs": {"content": {"token": "Yes"}}}]},
    "top-logprobs-string": {"choices": [{"logprobs": {"content": [{"token": "Yes", "top_logprobs": "Yes"}]}}]},
    "token-number": {"choices": [{"logprobs": {"content": [{"token": 1, "logprob": -0.1}]}}]},
    "logprob-text": verdict(logprob_yes="high"),
    "logprob-bool": verdict(logprob_yes=True),
    "logprob-huge": verdict(logprob_yes=1e308),
    "message-string": {"choices": [{"message": "Yes"}]},
    "content-list": {"choices": [{"message": {"content": ["Yes"]}}]},
}


@pytest.mark.parametrize("reply", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_fields_are_a_server_error(serve, reply: Any) -> None:
    _, error, _ = score_within(judge_for(serve(lambda h: send_json(h, 200, reply))), 20)
    assert isinstance(error, JudgeServerError), repr(error)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"])
def test_non_finite_log_probabilities_are_an_error_not_a_score(serve, value: float) -> None:
    # json.dumps writes Infinity/-Infinity/NaN, which Python's json (and many servers) accept
    _, error, _ = score_within(judge_for(serve(lambda h: send_json(h, 200, verdict(logprob_yes=value)))), 20)
    assert isinstance(error, JudgeServerError) and "log-probability" in str(error)

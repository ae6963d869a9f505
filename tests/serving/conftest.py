"""Starting a real ``ramp-env serve`` process on 127.0.0.1 for the serving tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from tests._servers import stop

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """A running server: its base URL (``http://127.0.0.1:port``) and process."""

    base: str
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"{self.base}/retrieve"

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.base.removeprefix("http://").split(":")
        return host, int(port)


_LIMITED = (
    "import resource, sys\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}))\n"
    "from ramp_env.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@contextlib.contextmanager
def serve(corpus: Path, cache_dir: Path, *args: str, nofile: int | None = None) -> Iterator[Served]:
    """``ramp-env serve --corpus corpus ARGS`` on a free port; always stopped (stderr kept in ``proc``)."""
    cli = ["serve", "--corpus", str(corpus), "--cache-dir", str(cache_dir), "--host", "127.0.0.1", "--port", "0", *args]
    command = [sys.executable, "-m", "ramp_env", *cli]
    if nofile:  # the child lowers its own descriptor limit, then runs the CLI (no preexec_fn with threads)
        command = [sys.executable, "-c", _LIMITED.format(nofile=nofile), *cli]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("serving http://127.0.0.1:"):
            proc.kill()
            raise AssertionError(f"server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        base = line.split()[1].removesuffix("/retrieve")
        with httpx.Client(trust_env=False) as client:
            for _ in range(400):  # the port is bound before uvicorn accepts: wait for /health
                try:
                    if client.get(f"{base}/health", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.05)
        yield Served(base, proc)
    finally:
        stop(proc)


def stderr_of(served: Served) -> str:
    """The stderr of a stopped server."""
    assert served.proc.poll() is not None
    return served.proc.stderr.read() if served.proc.stderr else ""


def raw_exchange(sock: socket.socket, request: bytes, timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request on ``sock`` and read one response (status, headers, body)."""
    sock.settimeout(timeout)
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response head: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside a response body")
        body += chunk
    return status, headers, body[:length]


def post_bytes(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    """A keep-alive ``POST path`` request carrying ``body``."""
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.fixture(scope="session")
def prepared(cache_dir: Path, wiki_sample: Path) -> PreparedCorpus:
    corpus = PreparedCorpus.open(str(wiki_sample), cache_dir=str(cache_dir), progress=False)
    corpus.retriever("tantivy")  # build the index here so servers only open it
    return corpus


@pytest.fixture(scope="module")
def default_server(prepared: PreparedCorpus, cache_dir: Path, wiki_sample: Path) -> Iterator[Served]:
    """A server with default limits over the sample corpus (tantivy)."""
    with serve(wiki_sample, cache_dir) as served:
        yield served


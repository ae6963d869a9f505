"""ramp_env.cli.serve: the listening socket and argument errors (the HTTP protocol is in tests/serving)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ramp_env.cli import main
from ramp_env.cli.serve import listening_socket


def test_accepted_connections_have_nagle_off() -> None:
    # with Nagle on, every response waited for a delayed ACK: the load benchmark caught it
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    nodelay: list[int] = []

    async def run() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nodelay.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0.2)
            writer.close()

    try:
        asyncio.run(run())
    finally:
        sock.close()
    assert nodelay and nodelay[0] != 0


def test_busy_port_and_bad_limits_are_clear_errors(capsys: pytest.CaptureFixture[str]) -> None:
    taken = listening_socket("127.0.0.1", 0)
    taken.listen()
    try:
        with pytest.raises(ValueError, match="cannot listen on 127.0.0.1"):
            listening_socket("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-queries", "0"], "--max-queries must be a positive integer"),
        (["--max-request-cpu-seconds", "nan"], "--max-request-cpu-seconds must be a positive number of seconds"),
        (["--read-timeout", "-1"], "--read-timeout must be a positive number of seconds"),
        (["--default-topk", "500"], "--default-topk (500) must not exceed max_topk (100)"),
        (["--max-connections", "0"], "--max-connections must be a positive integer"),
        (["--head-timeout", "inf"], "--head-timeout must be a positive number of seconds"),
        (["--keepalive-timeout", "0"], "--keepalive-timeout must be a positive number of seconds"),
        (["--batch-window-ms", "-1"], "--batch-window-ms must be in 0..1000"),
    ],
)
def test_bad_server_settings_are_one_line_errors_naming_the_flag(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # refused before the corpus is opened: the default corpus need not exist
    assert main(["serve", "--corpus", "/nonexistent.jsonl", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) <= 2

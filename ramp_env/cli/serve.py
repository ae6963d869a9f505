"""``ramp-env serve``: a prepared corpus's BM25 index over HTTP, with Search-R1's and GEM's ``/retrieve``.

    ramp-env serve --corpus default --port 8000
    curl -s localhost:8000/retrieve -H 'content-type: application/json' \\
        -d '{"queries": ["Aristotle teacher"], "topk": 3, "return_scores": true}'

See :mod:`ramp_env.serving.retrieval` for the protocol, :mod:`ramp_env.serving.connections` for
timeouts and the connection cap, and ``docs/integrations.md`` for clients.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import socket
import sys

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.errors import InvalidOptionError
from ramp_env.serving.limits import ServeLimits


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "serve", help="serve the corpus's BM25 search over HTTP (Search-R1 and GEM /retrieve protocols)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_corpus_args(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port, printed on start)")
    d = ServeLimits()
    parser.add_argument("--max-queries", type=int, default=d.max_queries, help="queries per request at most")
    parser.add_argument("--max-topk", type=int, default=d.max_topk, help="largest topk a request may ask for")
    parser.add_argument("--default-topk", type=int, default=d.default_topk, help="topk when a request gives none or null")
    parser.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes, help="largest request body, in bytes")
    parser.add_argument("--max-exclude-ids", type=int, default=d.max_exclude_ids, help="exclusion ids per query at most")
    parser.add_argument("--max-results", type=int, default=d.max_results,
                        help="queries x topk per request at most (bounds the reply's size)")
    parser.add_argument("--max-request-cpu-seconds", type=float, default=d.max_request_cpu_seconds,
                        help="CPU seconds one request's searches may take before it is refused (422)")
    parser.add_argument("--read-timeout", type=float, default=d.read_timeout,
                        help="seconds to receive a request body (408 after)")
    parser.add_argument("--head-timeout", type=float, default=10.0,
                        help="seconds for a request head to arrive on an open connection before it is closed")
    parser.add_argument("--keepalive-timeout", type=float, default=5.0, help="seconds an idle keep-alive connection stays open")
    parser.add_argument("--max-connections", type=int, default=argparse.SUPPRESS,
                        help="open connections at most (default: half of ulimit -n, at most 1024)")
    parser.add_argument("--batch-window-ms", type=float, default=2.0,
                        help="under concurrent load, how long a single-query request waits for others to be searched with it")
    parser.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ramp_env.serving import create_app
        from ramp_env.serving.connections import (
            ConnectionLimits,
            RepeatLimiter,
            default_max_connections,
            guarded_protocol,
            quiet_exception_handler,
        )
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"{exc.name} is missing: install the extra with pip install 'ramp-env[serve]'") from exc
    if not 0 <= args.port <= 65535:
        raise InvalidOptionError(f"--port must be in 0..65535, got {args.port}")
    if not 0 <= args.batch_window_ms <= 1000:
        raise InvalidOptionError(f"--batch-window-ms must be in 0..1000, got {args.batch_window_ms}")
    if not 0 < args.keepalive_timeout < float("inf"):
        raise InvalidOptionError(f"--keepalive-timeout must be a positive number of seconds, got {args.keepalive_timeout}")
    try:
        limits = ServeLimits(
            max_queries=args.max_queries, max_topk=args.max_topk, default_topk=args.default_topk,
            max_body_bytes=args.max_body_bytes, max_exclude_ids=args.max_exclude_ids, max_results=args.max_results,
            max_request_cpu_seconds=args.max_request_cpu_seconds, read_timeout=args.read_timeout,
        )
        connections = ConnectionLimits(
            max_connections=getattr(args, "max_connections", default_max_connections()),
            head_timeout=args.head_timeout,
        )
    except ValueError as exc:  # name the flag, not the field: "--max-queries must be ..."
        field, _, rest = str(exc).partition(" ")
        raise InvalidOptionError(f"--{field.replace('_', '-')} {rest}") from None
    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir)
    retriever = corpus.retriever(args.retriever)
    info = {"corpus": corpus.directory.name, "passages": corpus.manifest["passages"], "retriever": args.retriever,
            "max_connections": connections.max_connections}
    app = create_app(retriever, info=info, limits=limits, store=corpus.store, batch_window=args.batch_window_ms / 1000)
    if not _is_loopback(args.host):
        print(f"ramp-env serve: binding {args.host}: the server has no authentication", file=sys.stderr)
    config = uvicorn.Config(
        app, log_level=args.log_level, access_log=False, loop="asyncio", http=guarded_protocol(connections),
        timeout_keep_alive=args.keepalive_timeout,
    )
    # uvicorn warns once per malformed request, the app once per failed search: this process's
    # log shows each kind once a minute, with a count
    for name in ("uvicorn.error", "ramp_env.serving.retrieval"):
        logging.getLogger(name).addFilter(RepeatLimiter())
    # bind here rather than in uvicorn so the real port is known (and printed) with --port 0
    sock = listening_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"serving http://{host}:{port}/retrieve ({info['passages']} passages; GET /health)", flush=True)

    async def serve() -> None:
        # this process's own loop: descriptor exhaustion is reported once a minute, not per accept()
        asyncio.get_running_loop().set_exception_handler(quiet_exception_handler())
        await uvicorn.Server(config).serve(sockets=[sock])

    try:
        asyncio.run(serve())
    finally:
        sock.close()
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: any free one) for uvicorn to serve on.

    ``IPPROTO_TCP`` is given explicitly: asyncio turns Nagle's algorithm off
    (``TCP_NODELAY``) only on sockets that declare it, and with it on every response
    waits for the client's delayed ACK, tens of milliseconds per request.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidOptionError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

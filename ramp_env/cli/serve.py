"""``ramp-env serve``: a prepared corpus's BM25 index over HTTP, with Search-R1's ``/retrieve`` protocol.

    ramp-env serve --corpus default --port 8000
    curl -s localhost:8000/retrieve -H 'content-type: application/json' \\
        -d '{"queries": ["Aristotle teacher"], "topk": 3, "return_scores": true}'

See :mod:`ramp_env.serving.retrieval` for the protocol and ``docs/integrations.md`` for clients.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("serve", help="serve the corpus's BM25 search over HTTP (Search-R1 /retrieve protocol)")
    add_corpus_args(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port, printed on start)")
    parser.add_argument("--max-queries", type=int, default=256, help="queries per request at most")
    parser.add_argument("--max-topk", type=int, default=100, help="largest topk a request may ask for")
    parser.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body, in bytes")
    parser.add_argument("--max-exclude-ids", type=int, default=1024, help="exclusion ids per query at most")
    parser.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ramp_env.serving import ServeLimits, create_app
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"{exc.name} is missing: install the extra with pip install 'ramp-env[serve]'") from exc
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    limits = ServeLimits(
        max_queries=args.max_queries, max_topk=args.max_topk, max_body_bytes=args.max_body_bytes,
        max_exclude_ids=args.max_exclude_ids,
    )
    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir)
    retriever = corpus.retriever(args.retriever)
    info = {"corpus": corpus.directory.name, "passages": corpus.manifest["passages"], "retriever": args.retriever}
    app = create_app(retriever, info=info, limits=limits)
    if not _is_loopback(args.host):
        print(f"ramp-env serve: binding {args.host}: the server has no authentication", file=sys.stderr)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False)
    # bind here rather than in uvicorn so the real port is known (and printed) with --port 0
    sock = listening_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"serving http://{host}:{port}/retrieve ({info['passages']} passages; GET /health)", flush=True)
    try:
        uvicorn.Server(config).run(sockets=[sock])
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
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

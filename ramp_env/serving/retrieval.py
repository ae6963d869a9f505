"""BM25 over HTTP with Search-R1's and GEM's ``/retrieve`` protocols.

Requests (``POST /retrieve``), JSON or msgpack::

    {"queries": ["who wrote hamlet", ...], "topk": 3, "return_scores": true}   # Search-R1 (batch)
    {"query": "who wrote hamlet", "topk": 3, "return_scores": true}            # GEM's SearchTool (one query)

optional in both: ``"exclude_ids": ["12", ...]`` (one list for all queries, or one list per
query) and ``"exclude_near_copies": true`` (the default: near copies of excluded passages are
kept out too, as the env does; :mod:`ramp_env.serving.exclusion`). ``topk`` missing or null
is the server's default (``ServeLimits.default_topk``).

Replies, in the request's encoding::

    {"result": [[{"document": {"id": "123", "contents": "\\"Title\\"\\ntext"}, "score": 11.2}, ...], ...]}
    {"result": [{"document": {"id": "123", "contents": "\\"Title\\"\\ntext"}, "score": 11.2}, ...]}

the first for a batch (one list per query, best first; without ``return_scores`` each item
is the document itself, as Search-R1's server answers; ``queries: []`` gives
``{"result": []}``), the second for one query (GEM's flat list; ``"score": null`` without
``return_scores``, as GEM's server answers). ``contents`` is Search-R1's wiki-18 layout:
the title in double quotes, a newline, the text.

Single-query requests that arrive together are searched together
(:mod:`ramp_env.serving.batcher`), like GEM's batching server.

The encoding is read from ``Content-Type`` (``application/json``, ``application/msgpack``,
``application/x-msgpack``); GEM posts msgpack bytes without one, so a body without a known
type is JSON when its first non-blank byte is ``{`` and msgpack otherwise. ``GET /health``
reports the corpus and the limits.

Errors. Whatever is wrong with one query's own data (text that is not valid Unicode, such as
a lone surrogate; text over ``max_query_chars``; its own ``exclude_ids`` list) does not fail
the batch: that query's result is ``[]`` and the reply carries
``"errors": [{"index": i, "detail": "..."}]``. A lone query with such a problem, and anything
wrong with the request as a whole, is a 4xx whose JSON body ``{"detail": "..."}`` names the
problem: a body over ``max_body_bytes`` (413, refused before it is read in full), a body not
sent within ``read_timeout`` (408), an undecodable body (400), a wrong shape or type, more
than ``max_queries`` queries, ``topk`` outside ``1..max_topk``, more than ``max_exclude_ids``
exclusions, more than ``max_results`` queries x topk (422), and a request whose searches need more than ``max_request_cpu_seconds``
of CPU (422: split it). An unexpected failure searching one query of a batch is that query's
error entry; otherwise (a single query, a damaged cache) it is a JSON 500, and the connection
stays usable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from ramp_env.corpus.integrity import CacheIntegrityError
from ramp_env.corpus.store import PassageStore
from ramp_env.retrieval.base import Hit, Retriever
from ramp_env.serving.batcher import Batcher
from ramp_env.serving.exclusion import CopyExcluder
from ramp_env.serving.limits import ServeLimits
from ramp_env.serving.protocol import (
    MSGPACK_MEDIA_TYPE,
    ProtocolError,
    Query,
    SearchRequest,
    decode,
    encode,
    media_type,
    parse,
    reply,
)

log = logging.getLogger(__name__)


def format_contents(title: str, text: str) -> str:
    """A passage as Search-R1's ``contents``: ``"Title"\\ntext``."""
    return f'"{title}"\n{text}'


def _item(hit: Hit) -> dict[str, Any]:
    return {"document": {"id": hit.passage_id, "contents": format_contents(hit.title, hit.text)}, "score": hit.score}


@dataclass(frozen=True)
class _Job:
    """One query of a request, for the engine."""

    query: Query
    topk: int
    near_copies: bool


class Budget:
    """CPU time one request's searches may take, counted on the thread running them.

    CPU time of this thread, not wall time: a busy machine slows a request without
    making it cost more, and the budget bounds what one request can make the server do.
    Checked between queries and between the exclusions a query expands.
    """

    def __init__(self, seconds: float, queries: int) -> None:
        self.seconds = seconds
        self.queries = queries
        self.done = 0
        self.started = time.thread_time()

    def check(self) -> None:
        spent = time.thread_time() - self.started
        if spent > self.seconds:
            raise ProtocolError(
                422,
                f"this request needs more search than the server allows per request: {spent:.2f} s of CPU "
                f"after {self.done} of {self.queries} queries (limit {self.seconds:g} s); "
                "send fewer or shorter queries, or fewer exclude_ids, per request",
            )


class Engine:
    """Runs searches for requests: exclusions, per-query errors, the per-request CPU budget."""

    def __init__(self, retriever: Retriever, store: PassageStore | None, limits: ServeLimits) -> None:
        self.retriever = retriever
        self.limits = limits
        self.excluder = CopyExcluder(retriever, store)

    def search(self, job: _Job, budget: Budget) -> list[dict[str, Any]]:
        query = job.query
        if query.error is not None:
            return []
        if job.near_copies and query.exclude_ids:
            hits = self.excluder.search(query.text, job.topk, query.exclude_ids, check=budget.check)
        else:
            hits = self.retriever.search(query.text, job.topk, exclude_ids=query.exclude_ids)
        return [_item(h) for h in hits]

    def run_request(self, request: SearchRequest) -> list[list[dict[str, Any]]]:
        """Every query of ``request``; :class:`ProtocolError` 422 once its CPU time exceeds the budget."""
        budget = Budget(self.limits.max_request_cpu_seconds, len(request.queries))
        results = []
        for i, query in enumerate(request.queries):
            budget.check()
            try:
                results.append(self.search(_Job(query, request.topk, request.exclude_near_copies), budget))
            except (ProtocolError, CacheIntegrityError):
                raise  # over budget, or a damaged cache: the whole request fails, loudly
            except Exception as exc:  # an engine failure on one query fails only that query
                log.exception("search failed for query %d of a batch", i)
                results.append([])
                request.errors.append({"index": i, "detail": f"queries[{i}]: search failed ({type(exc).__name__})"})
            budget.done += 1
        request.errors.sort(key=lambda e: e["index"])
        return results

    def run_batch(self, jobs: Sequence[_Job]) -> list[Any]:
        """Single-query requests batched together: a result or an exception per job, each its own budget."""
        out: list[Any] = []
        for job in jobs:
            try:
                out.append(self.search(job, Budget(self.limits.max_request_cpu_seconds, 1)))
            except Exception as exc:  # noqa: BLE001 - one request's failure is its own
                out.append(exc)
        return out


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProtocolError(413, f"request body of {declared} bytes exceeds the server's limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProtocolError(413, f"request body exceeds the server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, detail: str) -> JSONResponse:
    # a body left unread (413, 408) cannot be skipped on this connection: close it
    headers = {"connection": "close"} if status in (408, 413) else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(
    retriever: Retriever,
    info: dict[str, Any] | None = None,
    limits: ServeLimits | None = None,
    store: PassageStore | None = None,
    batch_window: float = 0.002,
    max_batch: int = 64,
) -> FastAPI:
    """The ASGI app: ``POST /retrieve`` and ``GET /health`` over ``retriever`` (see the module docs).

    ``info`` is added to the health report (corpus name, passage count, backend). ``store``
    holds the passages' texts for near-copy exclusion (default: ``retriever.store`` if any).
    Concurrent single-query requests wait up to ``batch_window`` seconds to be searched
    together, at most ``max_batch`` at a time.
    """
    limits = limits or ServeLimits()
    engine = Engine(retriever, store if store is not None else getattr(retriever, "store", None), limits)
    batcher: Batcher[_Job] = Batcher(engine.run_batch, max_batch=max_batch, window=batch_window)
    app = FastAPI(title="ramp-env retrieval", description="Search-R1/GEM-compatible BM25 retrieval", docs_url=None)
    app.state.batcher = batcher
    health = {"status": "ok", **(info or {}), "limits": asdict(limits)}

    @app.get("/health")
    async def get_health() -> dict[str, Any]:
        # single-query requests searched so far, and in how many engine calls
        return {**health, "batching": {"single_queries": batcher.jobs, "batches": batcher.batches}}

    @app.post("/retrieve")
    async def retrieve(request: Request) -> Response:
        try:
            try:
                body = await asyncio.wait_for(_read_body(request, limits.max_body_bytes), limits.read_timeout)
            except TimeoutError:
                raise ProtocolError(408, f"request body not received within {limits.read_timeout:g} s") from None
            kind = media_type(request.headers.get("content-type", ""), body)
            parsed = parse(decode(body, kind), limits)
            if parsed.single:
                results = [await batcher.submit(_Job(parsed.queries[0], parsed.topk, parsed.exclude_near_copies))]
            elif parsed.queries:
                results = await run_in_threadpool(engine.run_request, parsed)
            else:
                results = []  # Search-R1 sends an empty batch when no sample searched this turn
            content = encode(reply(parsed, results), kind)
        except ProtocolError as exc:
            return _error(exc.status, exc.detail)
        except Exception as exc:  # a JSON 500 keeps the connection usable
            log.exception("search failed")
            return _error(500, f"internal error: {type(exc).__name__}")
        media = MSGPACK_MEDIA_TYPE if kind == "msgpack" else "application/json"
        return Response(content, media_type=media)

    return app

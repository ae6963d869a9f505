"""BM25 over HTTP with Search-R1's ``/retrieve`` protocol (also what GEM's ``SearchTool`` posts).

Request (``POST /retrieve``), JSON or msgpack::

    {"queries": ["who wrote hamlet", ...], "topk": 3, "return_scores": true,
     "exclude_ids": ["12", ...]}           # optional: one list for all queries, or one list per query

Response, in the request's encoding::

    {"result": [[{"document": {"id": "123", "contents": "\\"Title\\"\\ntext"}, "score": 11.2}, ...], ...]}

one list per query, best first; without ``return_scores`` each item is the document itself
(``{"id", "contents"}``), as Search-R1's server answers. ``contents`` is Search-R1's wiki-18
layout: the title in double quotes, a newline, the text, so clients that split on the first
newline get the title back.

The encoding is read from ``Content-Type`` (``application/json``, ``application/msgpack``,
``application/x-msgpack``); GEM posts msgpack bytes without one, so a body without a known
type is JSON when its first non-blank byte is ``{`` (a msgpack map never starts with it) and
msgpack otherwise. ``GET /health`` reports the corpus and the limits.

Limits (:class:`ServeLimits`) bound the work one request can ask for: a body larger than
``max_body_bytes`` is refused with 413 before it is read in full, more than ``max_queries``
queries, a ``topk`` above ``max_topk`` or more than ``max_exclude_ids`` exclusions with 422, an undecodable body with 400; every error
body is JSON ``{"detail": "..."}`` naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import msgpack
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError

from ramp_env.retrieval.base import Hit, Retriever

JSON_TYPES = ("application/json",)
MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")
MSGPACK_MEDIA_TYPE = "application/msgpack"


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for (see the module docs)."""

    max_queries: int = 256
    max_topk: int = 100
    max_body_bytes: int = 1 << 20
    max_query_chars: int = 4096
    max_exclude_ids: int = 1024  # per query: each one is a clause of the search query

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


class RetrieveRequest(BaseModel):
    """Search-R1's request fields (strict: a number is not a query, a string is not a bool)."""

    model_config = ConfigDict(extra="ignore")

    queries: list[StrictStr]
    topk: StrictInt = 3
    return_scores: StrictBool = False
    exclude_ids: list[StrictStr] | list[list[StrictStr]] | None = None


def format_contents(title: str, text: str) -> str:
    """A passage as Search-R1's ``contents``: ``"Title"\\ntext``."""
    return f'"{title}"\n{text}'


def _document(hit: Hit) -> dict[str, str]:
    return {"id": hit.passage_id, "contents": format_contents(hit.title, hit.text)}


def _media_type(request: Request, body: bytes) -> str:
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared in JSON_TYPES:
        return "json"
    if declared in MSGPACK_TYPES:
        return "msgpack"
    return "json" if body.lstrip()[:1] == b"{" else "msgpack"


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body of {declared} bytes exceeds the server's limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body exceeds the server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes, kind: str) -> Any:
    if not body:
        raise HTTPException(400, "empty request body: expected {\"queries\": [...], \"topk\": k}")
    try:
        if kind == "json":
            return json.loads(body)
        # no ext types, string keys only: plain data, nothing a client can make us construct
        return msgpack.unpackb(body, raw=False, strict_map_key=True, ext_hook=_refuse_ext)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:  # deep nesting: RecursionError
        raise HTTPException(400, f"request body is not valid {kind}: {exc}") from None


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not accepted")


def _validate(payload: Any, limits: ServeLimits) -> RetrieveRequest:
    if not isinstance(payload, dict):
        raise HTTPException(422, f"request must be an object with 'queries', got {type(payload).__name__}")
    try:
        request = RetrieveRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise HTTPException(422, f"invalid request: {problems}") from None
    if not request.queries:
        raise HTTPException(422, "queries is empty: send at least one query")
    if len(request.queries) > limits.max_queries:
        raise HTTPException(
            422, f"{len(request.queries)} queries in one request; this server accepts at most {limits.max_queries}"
        )
    if not 1 <= request.topk <= limits.max_topk:
        raise HTTPException(422, f"topk must be in 1..{limits.max_topk}, got {request.topk}")
    longest = max(len(q) for q in request.queries)
    if longest > limits.max_query_chars:
        raise HTTPException(422, f"a query has {longest} characters; the limit is {limits.max_query_chars}")
    excluded = request.exclude_ids or []
    per_query = isinstance(excluded[0], list) if excluded else False
    if per_query and len(excluded) != len(request.queries):
        raise HTTPException(
            422, f"exclude_ids has {len(excluded)} lists for {len(request.queries)} queries: give one per query"
        )
    most = max((len(ids) for ids in excluded), default=0) if per_query else len(excluded)
    if most > limits.max_exclude_ids:
        raise HTTPException(422, f"{most} exclude_ids for one query; the limit is {limits.max_exclude_ids}")
    return request


def search_batch(retriever: Retriever, request: RetrieveRequest) -> list[list[dict[str, Any]]]:
    """Search-R1's ``result``: per query, the top ``topk`` documents (with scores when asked)."""
    excluded = request.exclude_ids or []
    per_query: Sequence[Sequence[str]]
    if excluded and isinstance(excluded[0], list):
        per_query = excluded  # type: ignore[assignment]
    else:
        per_query = [excluded] * len(request.queries)  # type: ignore[list-item]
    result = []
    for query, exclude in zip(request.queries, per_query):
        hits = retriever.search(query, request.topk, exclude_ids=tuple(exclude))
        if request.return_scores:
            result.append([{"document": _document(h), "score": h.score} for h in hits])
        else:
            result.append([_document(h) for h in hits])
    return result


def create_app(retriever: Retriever, info: dict[str, Any] | None = None, limits: ServeLimits | None = None) -> FastAPI:
    """The ASGI app: ``POST /retrieve`` and ``GET /health`` over ``retriever`` (see the module docs).

    ``info`` is added to the health report (corpus name, passage count, backend).
    """
    limits = limits or ServeLimits()
    app = FastAPI(title="ramp-env retrieval", description="Search-R1-compatible BM25 retrieval", docs_url=None)
    health = {"status": "ok", **(info or {}), "limits": asdict(limits)}

    @app.get("/health")
    async def get_health() -> dict[str, Any]:
        return health

    @app.post("/retrieve")
    async def retrieve(request: Request) -> Response:
        body = await _read_body(request, limits.max_body_bytes)
        kind = _media_type(request, body)
        parsed = _validate(_decode(body, kind), limits)
        result = await run_in_threadpool(search_batch, retriever, parsed)
        if kind == "msgpack":
            return Response(msgpack.packb({"result": result}, use_bin_type=True), media_type=MSGPACK_MEDIA_TYPE)
        return JSONResponse({"result": result})

    return app

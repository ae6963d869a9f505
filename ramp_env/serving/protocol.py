"""The ``/retrieve`` wire protocol: decoding a body, validating it, shaping the reply.

Three request shapes are accepted (see :mod:`ramp_env.serving.retrieval` for the whole protocol):

* Search-R1's batch ``{"queries": [str, ...], "topk": k, "return_scores": bool}``, answered
  ``{"result": [[...] per query]}``; also GEM's pre-July-2025 request, which was the same;
* GEM's current single query ``{"query": str, "topk": k, "return_scores": bool}``, answered
  ``{"result": [...]}``, one flat list of ``{"document": ..., "score": ...}``.

Validation is written out rather than left to a pydantic model: problems with one query's
own data (text that is not valid Unicode, too long, its own exclusion list) must become an
error entry for that query, not a failure of the whole batch, and error messages must never
echo a client's string back unescaped (a lone surrogate cannot even be encoded in a reply).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from ramp_env.errors import RampEnvError
from ramp_env.serving.limits import ServeLimits

JSON_TYPES = ("application/json",)
MSGPACK_TYPES = ("application/msgpack", "application/x-msgpack", "application/vnd.msgpack")
MSGPACK_MEDIA_TYPE = "application/msgpack"


class ProtocolError(RampEnvError):
    """A request the server refuses as a whole: ``status`` and a one-line ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[int, str]]:  # pickles across processes, like every package error
        return type(self), (self.status, self.detail)


@dataclass(frozen=True)
class Query:
    """One query of a request: its text and exclusions, or why it cannot be searched."""

    text: str
    exclude_ids: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class SearchRequest:
    """A validated request; ``single`` is GEM's one-query shape (flat ``result``)."""

    queries: list[Query]
    topk: int
    return_scores: bool
    exclude_near_copies: bool
    single: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)


def media_type(content_type: str, body: bytes) -> str:
    """``"json"`` or ``"msgpack"``: by the declared type, else by the body's first byte.

    GEM posts msgpack without a content type; a msgpack map never starts with ``{``.
    """
    declared = content_type.split(";")[0].strip().lower()
    if declared in JSON_TYPES:
        return "json"
    if declared in MSGPACK_TYPES:
        return "msgpack"
    return "json" if body.lstrip()[:1] == b"{" else "msgpack"


def decode(body: bytes, kind: str) -> Any:
    """The request body as plain data; :class:`ProtocolError` 400 when it is not ``kind``."""
    if not body:
        raise ProtocolError(400, 'empty request body: expected {"queries": [...]} or {"query": "..."}')
    try:
        if kind == "json":
            return json.loads(body)
        # no ext types, string keys only: plain data, nothing a client can make us construct
        return msgpack.unpackb(body, raw=False, strict_map_key=True, ext_hook=_refuse_ext)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:  # deep nesting: RecursionError
        raise ProtocolError(400, f"request body is not valid {kind}: {_clip(str(exc))}") from None


def encode(reply: dict[str, Any], kind: str) -> bytes:
    if kind == "msgpack":
        return msgpack.packb(reply, use_bin_type=True)
    return json.dumps(reply, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not accepted")


def _clip(text: str, limit: int = 200) -> str:
    """``text`` safe to put in a reply: lone surrogates escaped, at most ``limit`` characters."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def text_problem(text: str, max_chars: int) -> str | None:
    """Why ``text`` cannot be searched (not valid Unicode, or too long), or None."""
    if len(text) > max_chars:
        return f"has {len(text)} characters; the limit is {max_chars}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode text (lone surrogate {exc.object[exc.start]!a} at character {exc.start})"
    return None


def _strict_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list(value: Any, name: str, max_len: int) -> list[Any]:
    if not isinstance(value, list):
        raise ProtocolError(422, f"{name} must be a list of strings, got {type(value).__name__}")
    if len(value) > max_len:
        raise ProtocolError(422, f"{name} has {len(value)} items; this server accepts at most {max_len}")
    return value


def _id_list_problem(ids: Sequence[Any], name: str) -> str | None:
    for i, pid in enumerate(ids):
        if not isinstance(pid, str):
            return f"{name}[{i}] must be a string, got {type(pid).__name__}"
        problem = text_problem(pid, 1 << 16)
        if problem:
            return f"{name}[{i}] {problem}"
    return None


def parse(payload: Any, limits: ServeLimits) -> SearchRequest:
    """Validate a decoded body against ``limits`` (a missing or null ``topk`` is ``limits.default_topk``)."""
    if not isinstance(payload, dict):
        raise ProtocolError(422, f"request must be an object with 'queries' or 'query', got {type(payload).__name__}")
    single = "query" in payload and "queries" not in payload
    if "query" in payload and "queries" in payload:
        raise ProtocolError(422, "give either 'query' (one query) or 'queries' (a list), not both")
    if not single and "queries" not in payload:
        raise ProtocolError(422, "queries: field required (or 'query' for a single query)")
    topk = payload.get("topk")
    if topk is None:  # missing or null: the server's default, as Search-R1's and GEM's servers do
        topk = limits.default_topk
    if not _strict_int(topk) or not 1 <= topk <= limits.max_topk:
        raise ProtocolError(422, f"topk must be an integer in 1..{limits.max_topk} (or null), got {_clip(repr(topk))}")
    flags = {}
    for name, default in (("return_scores", False), ("exclude_near_copies", True)):
        value = payload.get(name, default)
        if value is None:
            value = default
        if not isinstance(value, bool):
            raise ProtocolError(422, f"{name} must be true or false, got {_clip(repr(value))}")
        flags[name] = value
    texts = [payload["query"]] if single else _string_list(payload["queries"], "queries", limits.max_queries)
    if len(texts) * topk > limits.max_results:
        raise ProtocolError(
            422, f"{len(texts)} queries x topk {topk} = {len(texts) * topk} results; this server returns at most "
            f"{limits.max_results} per request: send fewer queries or a smaller topk",
        )
    queries = _queries(texts, payload.get("exclude_ids"), limits, single)
    request = SearchRequest(queries, topk, flags["return_scores"], flags["exclude_near_copies"], single)
    request.errors = [{"index": i, "detail": q.error} for i, q in enumerate(queries) if q.error]
    if single and request.errors:
        raise ProtocolError(422, str(queries[0].error))
    return request


def _queries(texts: list[Any], excluded: Any, limits: ServeLimits, single: bool) -> list[Query]:
    """One :class:`Query` per text; a bad text or own exclusion list is that query's error."""
    for i, text in enumerate(texts):
        if not isinstance(text, str):  # a client bug, not model output: refuse the request
            name = "query" if single else f"queries[{i}]"
            raise ProtocolError(422, f"{name} must be a string, got {type(text).__name__}")
    per_query, own = _exclusions(excluded, len(texts), limits)
    queries = []
    for i, text in enumerate(texts):
        name = "query" if single else f"queries[{i}]"
        problem = text_problem(text, limits.max_query_chars)
        error = f"{name} {problem}" if problem else None
        ids = per_query[i]
        if error is None and own:
            error = _id_list_problem(ids, f"exclude_ids[{i}]")
        queries.append(Query(text if error is None else "", tuple(ids) if error is None else (), error))
    return queries


def _exclusions(excluded: Any, count: int, limits: ServeLimits) -> tuple[list[list[Any]], bool]:
    """Exclusion lists per query, and whether the client gave each query its own list."""
    if excluded is None:
        return [[] for _ in range(count)], False
    if not isinstance(excluded, list):
        raise ProtocolError(422, f"exclude_ids must be a list of ids or one list per query, got {type(excluded).__name__}")
    if excluded and all(isinstance(e, list) for e in excluded):
        if len(excluded) != count:
            raise ProtocolError(422, f"exclude_ids has {len(excluded)} lists for {count} queries: give one per query")
        for i, ids in enumerate(excluded):
            if len(ids) > limits.max_exclude_ids:
                raise ProtocolError(
                    422, f"exclude_ids[{i}] has {len(ids)} ids for one query; the limit is {limits.max_exclude_ids}"
                )
        return excluded, True
    if len(excluded) > limits.max_exclude_ids:
        raise ProtocolError(422, f"{len(excluded)} exclude_ids for one query; the limit is {limits.max_exclude_ids}")
    problem = _id_list_problem(excluded, "exclude_ids")  # shared by every query: refuse the request
    if problem:
        raise ProtocolError(422, problem)
    return [excluded] * count, False


def reply(request: SearchRequest, results: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The reply object: Search-R1's nested ``result``, or GEM's flat one for a single query.

    ``results`` holds, per query, items ``{"document": {...}, "score": float}``. Without
    ``return_scores`` a batch reply lists the documents alone (Search-R1's server) and a
    single-query reply keeps the items with ``"score": null`` (GEM's server).
    """
    if request.single:
        items = results[0]
        return {"result": items if request.return_scores else [{**i, "score": None} for i in items]}
    shaped = results if request.return_scores else [[i["document"] for i in items] for items in results]
    out: dict[str, Any] = {"result": shaped}
    if request.errors:
        out["errors"] = request.errors
    return out

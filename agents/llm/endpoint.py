"""Talking to OpenAI-compatible chat endpoints safely: one place for the client's settings.

Used by :class:`agents.llm.openai_agent.OpenAIAgent` and the synthesis
:class:`agents.synthesis.backends.OpenAIBackend`. The official ``openai`` client does
the requests, its retries (connection errors, 408, 409, 429 and 5xx) and their
exponential back-off with ``Retry-After``; this module adds what it does not do:

* **no redirects**: the client is built on an ``httpx`` client with
  ``follow_redirects=False``, so the API key only ever goes to the ``base_url``'s
  origin; a 3xx reply is an :class:`EndpointError` naming where it pointed;
* **a reply size cap**: a reply longer than ``max_response_bytes`` is refused while it
  streams in (a hostile or broken server cannot fill the memory);
* **the key from an explicit argument or a named environment variable**
  (:func:`resolve_api_key`), never from a hard-coded default variable.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from ramp_env.errors import InvalidOptionError, RampEnvError

try:
    import openai
except ModuleNotFoundError as exc:  # the `synthesis` extra
    raise ModuleNotFoundError(
        "OpenAI-compatible endpoints need the openai client: pip install 'ramp-env[synthesis]'", name="openai"
    ) from exc

DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# local servers (llama.cpp, vLLM without --api-key, Ollama) ignore the key, but the
# openai client refuses to start without one
NO_KEY = "no-key"


class EndpointError(RampEnvError, RuntimeError):
    """The endpoint failed in a way retrying will not fix (or retries and time ran out)."""


class ResponseTooLarge(EndpointError, openai.OpenAIError):
    # an OpenAIError so the openai client re-raises it at once instead of retrying
    pass


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, or a ``ValueError`` saying what is wrong with it."""
    parts = urlsplit(str(base_url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOptionError(f"base_url must be an http:// or https:// URL such as http://127.0.0.1:8000/v1, got {base_url!r}")
    if parts.username or parts.password:
        raise InvalidOptionError("base_url must not carry credentials; pass api_key or api_key_env instead")
    return str(base_url).rstrip("/")


def resolve_api_key(api_key: str | None = None, api_key_env: str | None = None) -> str | None:
    """The key: ``api_key`` if given, else the value of the environment variable named ``api_key_env``.

    Raises ``ValueError`` when ``api_key_env`` names a variable that is not set (a typo
    would otherwise send requests without a key and fail later with a vaguer 401).
    """
    if api_key:
        return str(api_key)
    if api_key_env:
        value = os.environ.get(str(api_key_env))
        if not value:
            raise InvalidOptionError(f"api_key_env={api_key_env!r}: that environment variable is not set")
        return value
    return None


def _check_length(response: httpx.Response, limit: int) -> None:
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ResponseTooLarge(f"the endpoint's reply is {int(length)} bytes, over the {limit}-byte limit")


class _CappedAsyncStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, limit: int) -> None:
        self._stream, self._limit = stream, limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._stream:
            total += len(chunk)
            if total > self._limit:
                raise ResponseTooLarge(f"the endpoint's reply exceeded the {self._limit}-byte limit")
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, limit: int) -> None:
        self._stream, self._limit = stream, limit

    def __iter__(self) -> Iterator[bytes]:
        total = 0
        for chunk in self._stream:
            total += len(chunk)
            if total > self._limit:
                raise ResponseTooLarge(f"the endpoint's reply exceeded the {self._limit}-byte limit")
            yield chunk

    def close(self) -> None:
        self._stream.close()


class CappedAsyncTransport(httpx.AsyncHTTPTransport):
    """An ``httpx`` transport that refuses replies longer than ``max_response_bytes`` (compressed size)."""

    def __init__(self, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_response_bytes = int(max_response_bytes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        try:
            _check_length(response, self.max_response_bytes)
        except ResponseTooLarge:
            await response.aclose()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code, headers=response.headers, extensions=response.extensions,
            stream=_CappedAsyncStream(response.stream, self.max_response_bytes),
        )


class CappedTransport(httpx.HTTPTransport):
    """The synchronous twin of :class:`CappedAsyncTransport`."""

    def __init__(self, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_response_bytes = int(max_response_bytes)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        try:
            _check_length(response, self.max_response_bytes)
        except ResponseTooLarge:
            response.close()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code, headers=response.headers, extensions=response.extensions,
            stream=_CappedStream(response.stream, self.max_response_bytes),
        )


def client_settings(base_url: str, api_key: str | None, request_timeout: float, max_retries: int) -> dict[str, Any]:
    """The openai client's keyword arguments, checked (``ValueError`` names a bad one)."""
    if request_timeout <= 0:
        raise InvalidOptionError(f"request_timeout must be > 0 seconds, got {request_timeout}")
    if max_retries < 0:
        raise InvalidOptionError(f"max_retries must be >= 0, got {max_retries}")
    return {
        "base_url": check_base_url(base_url), "api_key": api_key or NO_KEY, "timeout": float(request_timeout),
        "max_retries": int(max_retries),
    }


def make_async_client(
    base_url: str,
    api_key: str | None = None,
    request_timeout: float = 60.0,
    max_retries: int = 4,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` that follows no redirects and caps reply sizes (see the module docs).

    ``request_timeout`` bounds each HTTP attempt; ``max_retries`` is the openai
    client's own retry count (exponential back-off from 0.5 s, ``Retry-After`` honoured).
    """
    kwargs = client_settings(base_url, api_key, request_timeout, max_retries)
    http_client = httpx.AsyncClient(
        follow_redirects=False, timeout=kwargs["timeout"], headers={"Accept-Encoding": "identity"},
        transport=CappedAsyncTransport(max_response_bytes),
    )
    return openai.AsyncOpenAI(http_client=http_client, **kwargs)


def make_client(
    base_url: str,
    api_key: str | None = None,
    request_timeout: float = 60.0,
    max_retries: int = 4,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> openai.OpenAI:
    """The synchronous ``openai.OpenAI`` with the same settings as :func:`make_async_client`."""
    kwargs = client_settings(base_url, api_key, request_timeout, max_retries)
    http_client = httpx.Client(
        follow_redirects=False, timeout=kwargs["timeout"], headers={"Accept-Encoding": "identity"},
        transport=CappedTransport(max_response_bytes),
    )
    return openai.OpenAI(http_client=http_client, **kwargs)


def describe_status_error(exc: openai.APIStatusError, base_url: str) -> str:
    """A one-line account of an HTTP error reply (redirects say where they pointed)."""
    status = exc.status_code
    if 300 <= status < 400:
        location = exc.response.headers.get("location", "?")
        return (
            f"{base_url} answered {status} redirecting to {location}; redirects are not followed (the API key "
            "must not reach another origin): use the final URL as base_url"
        )
    body = exc.response.text if exc.response is not None else ""
    return f"{base_url} answered HTTP {status}: {' '.join(body.split())[:300]}"

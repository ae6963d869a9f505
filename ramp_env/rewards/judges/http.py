"""A judge served behind an OpenAI-compatible ``/chat/completions`` endpoint (vLLM, SGLang, TGI, ...).

For users who serve a large judge, as MaskSearch does (Qwen2.5-72B-Instruct).
Each pair is one request with the same prompt as
:class:`~ramp_env.rewards.judges.llm.LLMJudge`, ``max_tokens=1``,
``temperature=0``, ``seed=0`` and ``logprobs=true, top_logprobs=20``, and::

    p_yes = P(yes) / (P(yes) + P(no))

summed over the returned top log-probabilities of the first token whose text
is ``yes``/``no`` in any case and spacing.

Fallback, documented because it changes the reward's shape: when the server
returns no log-probabilities (some do not implement them), or neither yes nor
no is among the top tokens, the generated text decides: ``1.0`` if its first
word is yes, ``0.0`` otherwise (no, or anything else: an unreadable verdict
earns nothing). :attr:`HTTPJudge.fallbacks` counts these.

Requests go through ``httpx`` (async, one client per batch, at most
``max_workers`` in flight). A hostile or broken server cannot hurt the caller:

* redirects are never followed (a 3xx is a :class:`JudgeServerError` naming the
  target), so the API key never reaches another origin;
* a reply larger than ``max_response_bytes`` is cut off with an error;
* ``timeout`` is an overall deadline for each attempt (connect, headers, body),
  so a server dripping bytes cannot stall a step past it;
* every malformed reply (missing or mistyped fields, non-finite or positive
  log-probabilities, invalid JSON) is a :class:`JudgeServerError`.

The API key, if any, is ``api_key`` or the value of the environment variable
named by ``api_key_env`` (``None`` sends no key). A server that cannot be
reached after ``retries`` attempts raises :class:`JudgeServerError`: a reward is
never silently made up.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ramp_env.errors import InvalidOptionError, RampEnvError
from ramp_env.rewards.judges.base import Pair
from ramp_env.rewards.judges.prompt import DEFAULT_PROMPT, JudgePrompt
from ramp_env.rewards.judges.yesno import YesNoJudge

_FIRST_WORD = re.compile(r"[a-z]+")


class JudgeServerError(RampEnvError, RuntimeError):
    """The judge endpoint could not be reached or answered something unusable."""


def _verdict(token: str) -> str | None:
    word = token.strip().lower()
    return word if word in ("yes", "no") else None


def _logprob(entry: Any) -> float | None:
    value = entry.get("logprob")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JudgeServerError(f"the judge answered a log-probability that is not a number: {value!r}")
    if not math.isfinite(value) or value > 1e-6:
        raise JudgeServerError(f"the judge answered an impossible log-probability: {value!r}")
    return float(value)


def p_yes_from_response(response: Any) -> tuple[float, bool]:
    """``(p_yes, used_logprobs)`` from a chat-completions response (see the module docs).

    Raises :class:`JudgeServerError` for any reply that is not shaped like one.
    """
    choices = response.get("choices") if isinstance(response, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise JudgeServerError(f"the judge answered without choices: {str(response)[:200]}")
    choice = choices[0]
    logprobs = choice.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, dict):
        raise JudgeServerError(f"the judge answered malformed logprobs: {str(logprobs)[:200]}")
    content = (logprobs or {}).get("content") or []
    if not isinstance(content, list) or not all(isinstance(e, dict) for e in content):
        raise JudgeServerError(f"the judge answered malformed logprobs content: {str(content)[:200]}")
    if content:
        mass = {"yes": 0.0, "no": 0.0}
        first = content[0]
        entries = first.get("top_logprobs") or [first]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise JudgeServerError(f"the judge answered malformed top_logprobs: {str(entries)[:200]}")
        for entry in entries:
            token = entry.get("token", "")
            if not isinstance(token, str):
                raise JudgeServerError(f"the judge answered a token that is not text: {token!r}")
            verdict = _verdict(token)
            logprob = _logprob(entry)
            if verdict is not None and logprob is not None:
                mass[verdict] += math.exp(logprob)
        if mass["yes"] + mass["no"] > 0:
            return mass["yes"] / (mass["yes"] + mass["no"]), True
    message = choice.get("message")
    if message is not None and not isinstance(message, dict):
        raise JudgeServerError(f"the judge answered a malformed message: {str(message)[:200]}")
    text = (message or {}).get("content") or choice.get("text") or ""
    if not isinstance(text, str):
        raise JudgeServerError(f"the judge answered text that is not a string: {str(text)[:200]}")
    word = _FIRST_WORD.search(text.lower())
    return (1.0 if word is not None and word.group(0) == "yes" else 0.0), False


class HTTPJudge(YesNoJudge):
    """Asks an OpenAI-compatible chat endpoint whether the prediction matches the gold.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: the served model name.
        api_key: bearer token; default the value of the ``api_key_env`` variable, else none.
        api_key_env: environment variable holding the key (``OPENAI_API_KEY``); ``None`` reads none.
        timeout: overall deadline in seconds for each attempt (connect, headers and body).
        retries: attempts per request before :class:`JudgeServerError`.
        max_workers: requests in flight at once.
        top_logprobs: alternatives asked for the first token.
        max_response_bytes: largest reply read (a verdict with 20 alternatives is ~3 KB).
        prompt, contrastive, cache_size, cache_path: see :class:`~ramp_env.rewards.judges.yesno.YesNoJudge`.
    """

    name = "judge_http"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 3,
        max_workers: int = 4,
        top_logprobs: int = 20,
        max_response_bytes: int = 1 << 20,
        prompt: JudgePrompt = DEFAULT_PROMPT,
        contrastive: bool = True,
        cache_size: int = 65536,
        cache_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(prompt=prompt, contrastive=contrastive, cache_size=cache_size, cache_path=cache_path)
        if not base_url.startswith(("http://", "https://")):
            raise InvalidOptionError(f"base_url must start with http:// or https://, got {base_url!r}")
        if retries < 1 or max_workers < 1:
            raise InvalidOptionError("retries and max_workers must be >= 1")
        if not timeout > 0 or max_response_bytes < 1:
            raise InvalidOptionError("timeout and max_response_bytes must be > 0")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self.max_workers = max_workers
        self.top_logprobs = top_logprobs
        self.max_response_bytes = max_response_bytes
        self.fallbacks = 0

    @property
    def model_key(self) -> str:
        return f"{self.url}|{self.model}"

    def request_body(self, prediction: str, reference: str) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": self.prompt.messages(prediction, reference),
            "max_tokens": 1,
            "temperature": 0,
            "seed": 0,
            "logprobs": True,
            "top_logprobs": self.top_logprobs,
        }

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = self.api_key or (os.environ.get(self.api_key_env) if self.api_key_env else None)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def _attempt(self, client: Any, data: bytes) -> dict[str, Any]:
        """One request under the overall deadline; the reply read in pieces up to the size cap."""
        async with asyncio.timeout(self.timeout):
            async with client.stream("POST", self.url, content=data) as reply:
                if reply.is_redirect:
                    # never followed: the Authorization header must not reach another origin
                    raise JudgeServerError(
                        f"judge endpoint {self.url} redirected ({reply.status_code}) to "
                        f"{reply.headers.get('location', '?')!r}; redirects are not followed: set base_url to the "
                        "final address"
                    )
                declared = reply.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_response_bytes:
                    raise JudgeServerError(self._too_big(f"{declared} bytes declared"))
                body = bytearray()
                async for chunk in reply.aiter_bytes():  # decoded: a gzip bomb meets the cap too
                    body += chunk
                    if len(body) > self.max_response_bytes:
                        raise JudgeServerError(self._too_big(f"more than {len(body)} bytes sent"))
                if reply.status_code >= 400:
                    detail = bytes(body[:300]).decode("utf-8", "replace")
                    raise _HTTPStatusError(reply.status_code, detail)
        try:
            return json.loads(bytes(body).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BadReply(f"the reply is not JSON ({exc}): {bytes(body[:200])!r}") from exc

    def _too_big(self, what: str) -> str:
        return f"judge endpoint {self.url} answered too much ({what}; max_response_bytes={self.max_response_bytes})"

    async def _post(self, client: Any, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        data = json.dumps(body).encode("utf-8")
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                return await self._attempt(client, data)
            except _HTTPStatusError as exc:
                last = exc
                if exc.code < 500 and exc.code != 429:  # a client error will not fix itself
                    raise JudgeServerError(
                        f"judge endpoint {self.url} refused the request: {exc.code} {exc.detail}"
                    ) from exc
            except (httpx.HTTPError, TimeoutError, OSError, _BadReply) as exc:
                last = exc
            if attempt + 1 < self.retries:
                await asyncio.sleep(min(4.0, 0.25 * 2**attempt))
        reason = f"no complete reply within {self.timeout} s" if isinstance(last, TimeoutError) else str(last)
        raise JudgeServerError(f"judge endpoint {self.url} failed after {self.retries} attempts: {reason}")

    async def _score_all(self, pairs: list[Pair]) -> list[tuple[float, bool]]:
        import httpx

        limit = asyncio.Semaphore(self.max_workers)
        # no client-level timeout: _attempt's deadline covers the whole request
        async with httpx.AsyncClient(headers=self._headers(), follow_redirects=False, timeout=None,
                                     trust_env=False) as client:

            async def one(pair: Pair) -> tuple[float, bool]:
                async with limit:
                    return p_yes_from_response(await self._post(client, self.request_body(*pair)))

            async with asyncio.TaskGroup() as group:  # the first error cancels the other requests
                tasks = [group.create_task(one(pair)) for pair in pairs]
        return [task.result() for task in tasks]

    def _run(self, pairs: list[Pair]) -> list[tuple[float, bool]]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._score_all(pairs))
        # called from code running an event loop (a notebook): run ours in a thread of its own
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._score_all(pairs)).result()

    def p_yes(self, pairs: list[Pair]) -> list[float]:
        try:
            results = self._run(pairs)
        except BaseExceptionGroup as group:  # the TaskGroup's: report the first failure itself
            first: BaseException = group
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        self.fallbacks += sum(1 for _, used_logprobs in results if not used_logprobs)
        return [p for p, _ in results]


class _HTTPStatusError(RampEnvError):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"HTTP {code}: {detail}")
        self.code = code
        self.detail = detail

    def __reduce__(self) -> tuple[type, tuple[int, str]]:
        return type(self), (self.code, self.detail)


class _BadReply(RampEnvError):
    """A reply that is not JSON: retried like a dropped connection."""

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

Only the Python standard library is used (``urllib``). The API key, if any, is
taken from ``api_key`` or the environment variable named by ``api_key_env``.
A server that cannot be reached after ``retries`` attempts raises
:class:`JudgeServerError`: a reward is never silently made up.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ramp_env.rewards.judges.base import Pair
from ramp_env.rewards.judges.prompt import DEFAULT_PROMPT, JudgePrompt
from ramp_env.rewards.judges.yesno import YesNoJudge

_FIRST_WORD = re.compile(r"[a-z]+")


class JudgeServerError(RuntimeError):
    """The judge endpoint could not be reached or answered something unusable."""


def _verdict(token: str) -> str | None:
    word = token.strip().lower()
    return word if word in ("yes", "no") else None


def p_yes_from_response(response: dict[str, Any]) -> tuple[float, bool]:
    """``(p_yes, used_logprobs)`` from a chat-completions response (see the module docs)."""
    try:
        choice = response["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise JudgeServerError(f"the judge answered without choices: {str(response)[:200]}") from exc
    content = (choice.get("logprobs") or {}).get("content") or []
    if content:
        mass = {"yes": 0.0, "no": 0.0}
        first = content[0]
        entries = first.get("top_logprobs") or [first]
        for entry in entries:
            verdict = _verdict(str(entry.get("token", "")))
            if verdict is not None and entry.get("logprob") is not None:
                mass[verdict] += math.exp(float(entry["logprob"]))
        if mass["yes"] + mass["no"] > 0:
            return mass["yes"] / (mass["yes"] + mass["no"]), True
    text = str((choice.get("message") or {}).get("content") or choice.get("text") or "").lower()
    word = _FIRST_WORD.search(text)
    return (1.0 if word is not None and word.group(0) == "yes" else 0.0), False


class HTTPJudge(YesNoJudge):
    """Asks an OpenAI-compatible chat endpoint whether the prediction matches the gold.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: the served model name.
        api_key: bearer token; default the value of the ``api_key_env`` variable, else none.
        api_key_env: environment variable holding the key (``OPENAI_API_KEY``).
        timeout: seconds per request.
        retries: attempts per request before :class:`JudgeServerError`.
        max_workers: requests in flight at once.
        top_logprobs: alternatives asked for the first token.
        prompt, contrastive, cache_size, cache_path: see :class:`~ramp_env.rewards.judges.yesno.YesNoJudge`.
    """

    name = "judge_http"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 3,
        max_workers: int = 4,
        top_logprobs: int = 20,
        prompt: JudgePrompt = DEFAULT_PROMPT,
        contrastive: bool = True,
        cache_size: int = 65536,
        cache_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(prompt=prompt, contrastive=contrastive, cache_size=cache_size, cache_path=cache_path)
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if retries < 1 or max_workers < 1:
            raise ValueError("retries and max_workers must be >= 1")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self.max_workers = max_workers
        self.top_logprobs = top_logprobs
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

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        key = self.api_key or os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode("utf-8")
        last: Exception | None = None
        for attempt in range(self.retries):
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return json.loads(reply.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                last = exc
                if exc.code < 500 and exc.code != 429:  # a client error will not fix itself
                    detail = exc.read().decode("utf-8", "replace")[:300]
                    raise JudgeServerError(f"judge endpoint {self.url} refused the request: {exc.code} {detail}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
                last = exc
            time.sleep(min(4.0, 0.25 * 2**attempt))
        raise JudgeServerError(f"judge endpoint {self.url} failed after {self.retries} attempts: {last}")

    def _one(self, pair: Pair) -> tuple[float, bool]:
        return p_yes_from_response(self._post(self.request_body(*pair)))

    def p_yes(self, pairs: list[Pair]) -> list[float]:
        if self.max_workers == 1 or len(pairs) == 1:
            results = [self._one(pair) for pair in pairs]
        else:
            with ThreadPoolExecutor(self.max_workers) as pool:
                results = list(pool.map(self._one, pairs))
        self.fallbacks += sum(1 for _, used_logprobs in results if not used_logprobs)
        return [p for p, _ in results]

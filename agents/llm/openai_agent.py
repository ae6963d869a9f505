"""OpenAIAgent: any OpenAI-compatible chat endpoint playing RAMP, many episodes in flight.

vLLM, SGLang, llama.cpp's server, Ollama, TGI and OpenAI itself all serve
``POST {base_url}/chat/completions``. The agent prompts exactly as
:class:`~agents.llm.agent.LLMAgent` does (the same instructions, task and feedback
text from :mod:`ramp_env.prompts` through :mod:`ramp_env.trajectories`), asks the
server to stop at ``</search>``/``</answer>`` and sends the action back to the env.

Requests are asynchronous: ``submit(observation, slot)`` returns a future at once, so
``ramp-env evaluate`` keeps ``concurrency`` episodes in flight (one env each) and
steps each as soon as its reply arrives. ``act(observation)`` is the plain
synchronous interface for one episode.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Self

import openai

from agents.llm.chat import template_messages
from agents.llm.endpoint import (
    DEFAULT_MAX_RESPONSE_BYTES,
    EndpointError,
    check_base_url,
    client_settings,
    describe_status_error,
    make_async_client,
    resolve_api_key,
)
from ramp_env.actions import CLOSING_TAGS, STOP_STRINGS
from ramp_env.errors import InvalidOptionError
from ramp_env.prompts import INSTRUCTIONS
from ramp_env.trajectories import initial_messages, tool_message

logger = logging.getLogger(__name__)

ELIDED_RESULTS = "(earlier search results omitted)"


@dataclass
class EpisodeUsage:
    """What one episode cost at the endpoint (written to ``results.jsonl`` as ``usage``).

    Token counts are the server's ``usage`` fields summed over the episode's requests;
    ``unreported`` counts replies that had none (their tokens are not in the sums).
    """

    model: str = ""
    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cut_by_max_tokens: int = 0  # replies that ended because max_tokens ran out
    unreported: int = 0
    seconds: float = 0.0  # time spent waiting for replies

    def add(self, usage: Mapping[str, Any] | None, retries: int, finish_reason: str | None, seconds: float) -> None:
        self.requests += 1
        self.retries += retries
        self.seconds += seconds
        self.cut_by_max_tokens += finish_reason == "length"
        counts = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")} if usage else {}
        if not counts or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()):
            self.unreported += 1
            return
        self.prompt_tokens += counts["prompt_tokens"]
        self.completion_tokens += counts["completion_tokens"]
        self.total_tokens += counts["total_tokens"]


@dataclass
class _Slot:
    """One episode's chat and bookkeeping."""

    messages: list[dict[str, Any]]
    passage: str
    steps_left: int
    usage: EpisodeUsage
    turns: int = 0
    pending: str | None = None  # the last action, awaiting the env's reply
    busy: bool = False


@dataclass
class _Reply:
    text: str
    finish_reason: str | None
    stop_reason: Any
    usage: Mapping[str, Any] | None
    retries: int
    model: str = field(default="")


def close_open_tag(text: str, finish_reason: str | None, stop_reason: Any = None) -> str:
    """Put back the stop string the server cut off.

    OpenAI-compatible servers drop the stop string from the reply. vLLM says which
    one matched (``stop_reason``); others (llama.cpp, OpenAI) only say ``"stop"``, so
    the closing tag of a ``<search>``/``<answer>`` left open is appended. A reply
    cut by ``max_tokens`` (``"length"``) is left as it is: the env grades it as a
    malformed action, as it does for LLMAgent.
    """
    if isinstance(stop_reason, str) and stop_reason in STOP_STRINGS:
        return text + stop_reason
    if finish_reason != "stop":
        return text
    opened = max(CLOSING_TAGS, key=lambda tag: text.rfind(tag))
    start = text.rfind(opened)
    if start >= 0 and CLOSING_TAGS[opened] not in text[start:]:
        return text + CLOSING_TAGS[opened]
    return text


def _parse_reply(raw: bytes, base_url: str) -> tuple[str, str | None, Any, Mapping[str, Any] | None, str]:
    """Text, finish reason, stop reason, usage and model of a chat completion body; EndpointError if malformed."""
    def bad(why: str) -> EndpointError:
        snippet = raw[:200].decode("utf-8", "replace")
        return EndpointError(f"{base_url}/chat/completions sent a malformed reply ({why}): {snippet!r}")

    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad("not a JSON object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise bad("no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise bad("choice without a message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise bad("message content is not text")
    finish = choices[0].get("finish_reason")
    usage = body.get("usage")
    model = body.get("model")
    return (
        content or "", finish if isinstance(finish, str) else None, choices[0].get("stop_reason"),
        usage if isinstance(usage, dict) else None, model if isinstance(model, str) else "",
    )


class _LoopThread:
    """An asyncio event loop in a daemon thread, so synchronous callers (the evaluation
    harness, notebooks that already run a loop) can hand it coroutines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="openai-agent-loop", daemon=True)
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


class OpenAIAgent:
    """
    A model behind an OpenAI-compatible chat endpoint searching and answering RAMP tasks.

    ```python
    agent = OpenAIAgent("http://127.0.0.1:8000/v1")                    # the one model a local server serves
    agent = OpenAIAgent("https://api.openai.com/v1", model="gpt-4o-mini", api_key_env="OPENAI_API_KEY")
    ```

    ```bash
    ramp-env evaluate --agent openai --agent-arg base_url=http://127.0.0.1:8000/v1 \\
        --agent-arg concurrency=16 --episodes 200 --num-masks 1 2 3 4 --out results/
    ```

    The chat is LLMAgent's: the instructions (system), the masked passage (user), then
    per step the model's action (assistant) and the environment's feedback, sent as a
    ``user`` turn (OpenAI's ``tool`` role needs a tool-call id; ``tool_role="tool"`` for
    servers that accept it). Only the latest ``keep_results`` feedback turns keep their
    search results in full, so long episodes fit small contexts.

    Each request is bounded by ``request_timeout`` seconds and retried up to
    ``max_retries`` times on connection errors, 408/409/429 and 5xx with exponential
    back-off (``Retry-After`` honoured); one action may take at most ``timeout`` seconds
    in all. A request that still fails raises :class:`~agents.llm.endpoint.EndpointError`
    (the evaluation stops; ``ramp-env evaluate --out`` resumes it); a reply that is not a
    valid action is the env's graded format penalty. Redirects are never followed, so
    the key goes to ``base_url``'s origin only.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model's name; ``None`` asks ``GET {base_url}/models`` and uses
            the only model served there.
        api_key: the bearer key (prefer ``api_key_env``: it is not recorded anywhere).
        api_key_env: the name of the environment variable holding the key.
        concurrency: episodes (requests) in flight at once.
        max_tokens: tokens per reply at most (``None``: not sent; the server's default).
        temperature, top_p: sampling settings sent with every request.
        seed: sent with every request as ``seed + a hash of (passage, turn)``, so sampled
            runs are reproducible on servers that honour seeds, whatever the scheduling.
        request_timeout: seconds per HTTP attempt. ``timeout``: seconds per action, retries included.
        max_retries: retries per request.
        stop: stop strings (``None``: send none, for servers that reject ``stop``).
        system_prompt: the instructions (the same text LLMAgent and trajectories use).
        tool_role: ``"user"`` or ``"tool"``: the role of the environment's feedback.
        keep_results: feedback turns that keep their search results (older ones are elided).
        extra_body: more JSON fields for every request (``{"top_k": 20}``,
            ``{"chat_template_kwargs": {"enable_thinking": false}}``, ...).
        max_response_bytes: longer replies are refused.
        env: accepted (and unused) so evaluation harnesses may pass it.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000/v1",
        model: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 8,
        max_tokens: int | None = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = 0,
        request_timeout: float = 120.0,
        timeout: float = 600.0,
        max_retries: int = 4,
        stop: Sequence[str] | None = STOP_STRINGS,
        system_prompt: str = INSTRUCTIONS,
        tool_role: str = "user",
        keep_results: int = 1,
        extra_body: Mapping[str, Any] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        env: Any = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        if int(concurrency) < 1:
            raise InvalidOptionError(f"concurrency must be >= 1, got {concurrency}")
        if max_tokens is not None and int(max_tokens) < 1:
            raise InvalidOptionError(f"max_tokens must be >= 1 (or None), got {max_tokens}")
        if float(timeout) <= 0:
            raise InvalidOptionError(f"timeout must be > 0 seconds, got {timeout}")
        if tool_role not in ("user", "tool"):
            raise InvalidOptionError(f"tool_role must be 'user' or 'tool', got {tool_role!r}")
        if int(keep_results) < 1:
            raise InvalidOptionError(f"keep_results must be >= 1, got {keep_results}")
        if extra_body is not None and not isinstance(extra_body, Mapping):
            raise InvalidOptionError(f"extra_body must be a JSON object, got {extra_body!r}")
        self.model = model
        self.concurrency = int(concurrency)
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.seed = seed
        self.timeout = float(timeout)
        self.stop = None if stop is None else [str(s) for s in stop]
        self.system_prompt = system_prompt
        self.tool_role = tool_role
        self.keep_results = int(keep_results)
        self.extra_body = dict(extra_body or {})
        # the key is resolved now (a missing variable fails here, not mid-run) and kept only in
        # the client; the client is built inside the event loop that will use it
        self._client_args = (self.base_url, resolve_api_key(api_key, api_key_env), float(request_timeout),
                             int(max_retries), int(max_response_bytes))
        client_settings(*self._client_args[:4])  # a bad setting fails here
        self._client: Any = None
        self._slots: dict[int, _Slot] = {}
        self._lock = threading.Lock()
        self._loop: _LoopThread | None = None
        self._model_lock: asyncio.Lock | None = None
        self._semaphore: asyncio.Semaphore | None = None

    # -- episodes -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every slot's episode."""
        with self._lock:
            self._slots.clear()

    def end_episode(self, slot: int = 0) -> dict[str, Any]:
        """The slot's episode is over: return its :class:`EpisodeUsage` as a dict and free the slot."""
        with self._lock:
            state = self._slots.pop(slot, None)
        return asdict(state.usage) if state is not None else {}

    def _observe(self, slot: int, observation: Mapping[str, Any]) -> _Slot:
        """Start or continue the slot's chat with the observation (called in the caller's thread)."""
        with self._lock:
            state = self._slots.get(slot)
            if state is not None and state.busy:
                raise RuntimeError(f"slot {slot} already has a request in flight")
            new = (
                state is None
                or state.pending is None
                or str(observation["passage"]) != state.passage
                or int(observation["steps_left"]) >= state.steps_left
            )
            if new:
                state = _Slot(
                    messages=initial_messages(observation, self.system_prompt),
                    passage=str(observation["passage"]),
                    steps_left=int(observation["steps_left"]),
                    usage=EpisodeUsage(),
                )
                self._slots[slot] = state
            else:
                assert state is not None and state.pending is not None
                state.messages.append({"role": "assistant", "content": state.pending})
                state.messages.append(tool_message(observation))
                state.steps_left = int(observation["steps_left"])
                state.pending = None
            state.busy = True
            return state

    def _request_messages(self, state: _Slot) -> list[dict[str, str]]:
        messages = [dict(m) for m in state.messages]
        feedback = [i for i, m in enumerate(messages) if m["role"] == "tool"]
        for i in feedback[: -self.keep_results]:
            messages[i]["content"] = ELIDED_RESULTS
        return template_messages(messages, self.tool_role)

    def _request_seed(self, state: _Slot) -> int | None:
        if self.seed is None:
            return None
        digest = hashlib.sha256(f"{state.passage}\x00{state.turns}".encode()).digest()
        return (int(self.seed) + int.from_bytes(digest[:4], "little")) % 2**31

    # -- requests -----------------------------------------------------------------------------

    async def _resolve_model(self) -> str:
        if self.model is not None:
            return self.model
        assert self._model_lock is not None
        async with self._model_lock:
            if self.model is None:
                try:
                    served = [m.id async for m in self._client.models.list()]
                except Exception as exc:  # re-raised with the URL and the fix
                    raise EndpointError(f"cannot list {self.base_url}/models ({exc}); pass model=NAME") from exc
                if len(served) != 1:
                    raise EndpointError(f"{self.base_url} serves {len(served)} models {served[:10]}; pass model=NAME")
                self.model = str(served[0])
                logger.info("using %s served at %s", self.model, self.base_url)
        return self.model

    async def _complete(self, messages: list[dict[str, str]], seed: int | None) -> _Reply:
        model = await self._resolve_model()
        body: dict[str, Any] = {"temperature": self.temperature, "top_p": self.top_p}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.stop:
            body["stop"] = self.stop
        if seed is not None:
            body["seed"] = seed
        assert self._semaphore is not None
        async with self._semaphore:
            try:
                raw = await self._client.chat.completions.with_raw_response.create(
                    model=model, messages=messages, extra_body=self.extra_body or None, **body,
                )
            except EndpointError:
                raise
            except openai.APIStatusError as exc:
                raise EndpointError(describe_status_error(exc, self.base_url)) from None
            except openai.APIError as exc:
                cause = exc.__cause__ or exc
                if isinstance(cause, EndpointError):  # openai < 3 wraps the size cap's error
                    raise cause from None
                raise EndpointError(f"{self.base_url}: {type(cause).__name__}: {cause}") from exc
        text, finish, stop_reason, usage, served = _parse_reply(raw.http_response.content, self.base_url)
        return _Reply(text, finish, stop_reason, usage, int(getattr(raw, "retries_taken", 0)), served or model)

    async def _turn(self, state: _Slot) -> str:
        started = time.perf_counter()
        try:
            reply = await asyncio.wait_for(self._complete(self._request_messages(state), self._request_seed(state)),
                                           self.timeout)
        except TimeoutError:
            raise EndpointError(
                f"{self.base_url}: no reply within timeout={self.timeout:g} s (retries included)"
            ) from None
        action = close_open_tag(reply.text, reply.finish_reason, reply.stop_reason)
        state.usage.model = reply.model
        state.usage.add(reply.usage, reply.retries, reply.finish_reason, time.perf_counter() - started)
        state.turns += 1
        state.pending = action
        return action

    async def _guarded_turn(self, state: _Slot) -> str:
        try:
            return await self._turn(state)
        finally:
            state.busy = False

    def _ensure_loop(self) -> _LoopThread:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread()

                async def make_primitives() -> None:
                    self._client = make_async_client(*self._client_args)
                    self._semaphore = asyncio.Semaphore(self.concurrency)
                    self._model_lock = asyncio.Lock()

                self._loop.submit(make_primitives()).result()
            return self._loop

    # -- acting -------------------------------------------------------------------------------

    def submit(self, observation: Mapping[str, Any], slot: int = 0) -> concurrent.futures.Future[str]:
        """Start the request for the slot's next action; the future holds the action text.

        A slot's first observation (or the first after :meth:`end_episode`, or one whose
        passage differs or whose ``steps_left`` did not go down) starts a new episode.
        """
        state = self._observe(slot, observation)
        return self._ensure_loop().submit(self._guarded_turn(state))

    def act(self, observation: Mapping[str, Any]) -> str:
        """The action for one episode (slot 0), waiting for the reply."""
        return self.submit(observation, 0).result()

    def act_batch(self, observations: Sequence[Mapping[str, Any]], slots: Sequence[int] | None = None) -> list[str]:
        """Actions for several episodes, requested concurrently; ``slots`` default to ``0..n-1``."""
        slots = list(range(len(observations))) if slots is None else list(slots)
        if len(slots) != len(observations) or len(set(slots)) != len(slots):
            raise ValueError(f"need one distinct slot per observation, got {slots} for {len(observations)}")
        futures = [self.submit(obs, slot) for obs, slot in zip(observations, slots)]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Close the HTTP client and stop the event-loop thread (the agent can start again later)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        client = self._client

        async def shutdown() -> None:
            # requests still in flight (their futures were cancelled, or nobody waits) end first
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await client.close()

        try:
            loop.submit(shutdown()).result(timeout=10)
        except Exception:  # closing is best effort
            logger.debug("closing the HTTP client failed", exc_info=True)
        loop.stop()
        self._client = None
        with self._lock:
            for state in self._slots.values():
                state.busy = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


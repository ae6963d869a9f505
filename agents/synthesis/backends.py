"""LLM backends the synthesis roles talk to: one chat-completion interface, three implementations.

* :class:`TransformersBackend`: a local causal LM (the offline SmolLM2 by default,
  any path or hub id, any device), batched generation through its chat template.
* :class:`OpenAIBackend`: any OpenAI-compatible ``/chat/completions`` server (vLLM,
  SGLang, TGI, OpenAI itself), through the official ``openai`` client.
* :class:`ScriptedBackend`: a Python function answers each prompt; for tests and
  for rule-based teachers.

A backend takes a batch of conversations (lists of ``{"role", "content"}``
messages) and returns one completion each. ``name`` goes into every
trajectory's provenance.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ramp_env.errors import InvalidOptionError

Messages = list[dict[str, str]]


@runtime_checkable
class LLMBackend(Protocol):
    """Completes chat conversations; ``name`` identifies the model in provenance."""

    name: str

    def complete(self, conversations: Sequence[Messages], max_new_tokens: int = 96) -> list[str]: ...


class ScriptedBackend:
    """Answers each conversation with ``respond(messages)``: a stub LLM.

    Args:
        respond: a function from the conversation to the completion text.
        name: recorded in provenance.
    """

    def __init__(self, respond: Callable[[Messages], str], name: str = "scripted") -> None:
        self.respond = respond
        self.name = name
        self.calls = 0

    def complete(self, conversations: Sequence[Messages], max_new_tokens: int = 96) -> list[str]:
        self.calls += len(conversations)
        return [str(self.respond(list(messages))) for messages in conversations]


class TransformersBackend:
    """A local causal LM generating through its chat template, ``batch_size`` prompts at a time.

    Args:
        model: ``None`` (offline SmolLM2-135M-Instruct), a GGUF file, a model folder or a hub id
            (see :func:`ramp_env.models.load_causal_lm`), or a loaded ``(model, tokenizer)`` pair.
        device: torch device for a model loaded here.
        temperature: 0 decodes greedily; above 0 samples.
        top_p: nucleus mass when sampling.
        batch_size: conversations per ``generate`` call.
        seed: sampling seed; every :meth:`complete` call reseeds from it and a call counter,
            so a run is reproducible call by call.
    """

    def __init__(
        self,
        model: str | tuple[Any, Any] | None = None,
        device: str = "cpu",
        temperature: float = 0.0,
        top_p: float = 1.0,
        batch_size: int = 8,
        seed: int = 0,
    ) -> None:
        if isinstance(model, tuple):
            self.model, self.tokenizer = model
        else:
            from ramp_env.models import load_causal_lm

            self.model, self.tokenizer = load_causal_lm(model, device=device)
        from ramp_env.models import model_id

        # a local folder is named by its last part (the full cache path is noise in reports)
        self.name = f"transformers:{Path(model_id(self.model)).name or model_id(self.model)}"
        self.temperature = temperature
        self.top_p = top_p
        self.batch_size = batch_size
        self.seed = seed
        self._calls = 0

    def complete(self, conversations: Sequence[Messages], max_new_tokens: int = 96) -> list[str]:
        from agents.llm.chat import encode, render
        from agents.llm.generation import generate_batch
        from agents.rng import seeded_torch

        contexts = [encode(self.tokenizer, render(self.tokenizer, list(m), add_generation_prompt=True))
                    for m in conversations]
        with seeded_torch(self.seed * 1_000_003 + self._calls):
            generations = generate_batch(
                self.model, self.tokenizer, contexts, max_new_tokens=max_new_tokens, temperature=self.temperature,
                top_p=self.top_p, stop_strings=(), batch_size=self.batch_size,
            )
        self._calls += 1
        return [g.text.strip() for g in generations]


class OpenAIBackend:
    """An OpenAI-compatible chat endpoint (``base_url`` such as ``http://127.0.0.1:8000/v1``).

    Args:
        base_url: the API root; ``/chat/completions`` is called on it.
        model: the served model name.
        api_key: bearer token; default ``$OPENAI_API_KEY`` (or ``"none"`` for local servers).
        temperature: sampling temperature sent with every request.
        seed: sent with every request (servers that honour it reproduce their output).
        timeout: seconds per request; ``max_retries``: retries on connection errors,
            429 and 5xx (the ``openai`` client's own back-off).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        timeout: float = 120.0,
        max_retries: int = 3,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidOptionError(f"base_url must start with http:// or https://, got {base_url!r}")
        try:
            from agents.llm.endpoint import make_client
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError("OpenAIBackend needs the openai client: pip install 'ramp-env[synthesis]'") from exc
        # the shared endpoint client: no redirects (the key stays with base_url's origin), capped replies
        self.client = make_client(base_url, api_key or os.environ.get("OPENAI_API_KEY"), timeout, max_retries)
        self.model = model
        self.name = f"openai:{base_url.rstrip('/')}|{model}"
        self.temperature = temperature
        self.seed = seed

    def complete(self, conversations: Sequence[Messages], max_new_tokens: int = 96) -> list[str]:
        out = []
        for messages in conversations:
            response = self.client.chat.completions.create(
                model=self.model, messages=list(messages), max_tokens=max_new_tokens,
                temperature=self.temperature, seed=self.seed,
            )
            out.append((response.choices[0].message.content or "").strip())
        return out


def make_backend(spec: str | LLMBackend | None = None, **kwargs: Any) -> LLMBackend:
    """A backend from a spec: an :class:`LLMBackend`, ``None``/``"smollm2"`` (the offline model),
    ``"http(s)://host/v1|model"`` (an OpenAI-compatible server), or a model path / hub id."""
    if spec is None or spec == "smollm2":
        return TransformersBackend(None, **kwargs)
    if isinstance(spec, LLMBackend):
        return spec
    if isinstance(spec, str) and spec.startswith(("http://", "https://")):
        base_url, sep, model = spec.partition("|")
        if not sep or not model:
            raise InvalidOptionError(f"an endpoint backend is 'URL|MODEL', e.g. 'http://127.0.0.1:8000/v1|qwen', got {spec!r}")
        return OpenAIBackend(base_url, model, **kwargs)
    if isinstance(spec, str):
        return TransformersBackend(spec, **kwargs)
    raise TypeError(f"cannot make an LLM backend from {spec!r}")

"""LLMAgent: a ``transformers`` causal language model playing RAMP through its chat template."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agents.llm.cached_generation import PrefixKVCache, generate_cached
from agents.llm.chat import encode, render, resolve_tool_role, template_messages, tokenize_conversation
from agents.llm.generation import Generation, generate_batch, sampling_settings
from agents.rng import seeded_torch
from ramp_env.actions import STOP_STRINGS
from ramp_env.errors import InvalidOptionError
from ramp_env.prompts import INSTRUCTIONS
from ramp_env.trajectories import initial_messages, tool_message

logger = logging.getLogger(__name__)

ELIDED_RESULTS = "(earlier search results omitted to fit the context)"


@dataclass
class LLMAgentConfig:
    """How the agent prompts and generates.

    Attributes:
        max_new_tokens: tokens generated per turn at most.
        temperature: 0 decodes greedily (evaluation); > 0 samples (RL rollouts).
        top_p: nucleus sampling mass when sampling.
        max_context_tokens: the prompt plus one turn's generation stay within this;
            older search results are elided first, then the newest one is cut.
        batch_size: episodes per ``generate`` call.
        system_prompt: the instructions (the same text trajectories are recorded with).
        tool_role: template role for environment feedback: ``"auto"``, ``"tool"`` or ``"user"``.
        stop_strings: generation stops after any of these.
        seed: seeds sampling; each ``act_batch`` call reseeds from it and a call counter.
        cache_across_turns: keep each episode's KV cache between turns so a turn prefills
            only its new tokens (:mod:`agents.llm.cached_generation`); ``False`` re-encodes
            the whole context every turn with ``transformers``' ``generate``. Both sample
            the same distribution (:func:`agents.llm.generation.sampling_settings`).
    """

    max_new_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 1.0
    max_context_tokens: int = 2048
    batch_size: int = 8
    system_prompt: str = INSTRUCTIONS
    tool_role: str = "auto"
    stop_strings: tuple[str, ...] = STOP_STRINGS
    seed: int = 0
    cache_across_turns: bool = True

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise InvalidOptionError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.max_context_tokens <= self.max_new_tokens:
            raise InvalidOptionError(
                f"max_context_tokens ({self.max_context_tokens}) must exceed max_new_tokens ({self.max_new_tokens})"
            )
        if self.temperature < 0:
            raise InvalidOptionError(f"temperature must be >= 0, got {self.temperature}")


@dataclass
class TokenSegment:
    """A token sequence the model was conditioned on, with ``policy_mask`` 1 on the tokens it generated.

    While the chat template keeps the conversation a growing prefix, one episode is
    one segment; when the context had to be rebuilt (results elided to fit, or a
    template that rewrites history) a new segment starts, so each generated token
    is always scored in exactly the context it was sampled in.
    """

    input_ids: list[int] = field(default_factory=list)
    policy_mask: list[int] = field(default_factory=list)

    def extend(self, ids: Sequence[int], generated: bool) -> None:
        self.input_ids.extend(ids)
        self.policy_mask.extend([int(generated)] * len(ids))

    @property
    def num_generated(self) -> int:
        return sum(self.policy_mask)


@dataclass
class _Episode:
    """Per-slot state: the chat so far and the token context the model sees."""

    messages: list[dict[str, Any]]
    passage: str
    steps_left: int
    context: list[int] = field(default_factory=list)
    segments: list[TokenSegment] = field(default_factory=list)
    pending: str | None = None  # raw text of the last generation, awaiting the env's reply
    generations: list[Generation] = field(default_factory=list)


class LLMAgent:
    """
    A causal language model searching and answering RAMP tasks in a chat.

    The chat starts with the task instructions (system) and the masked passage
    (user). Each turn the model generates until ``</search>`` or ``</answer>`` (or
    its end-of-turn token); the text is the action. The environment's reply
    (message, search results, budget) comes back as a ``tool`` turn, or a ``user``
    turn for templates without a tool role. The context is kept within
    ``max_context_tokens`` by eliding the oldest search results first.

    ```python
    agent = LLMAgent()                                   # offline SmolLM2-135M-Instruct on CPU
    agent = LLMAgent("Qwen/Qwen2.5-1.5B-Instruct", device="cuda")
    agent = LLMAgent(model=model, tokenizer=tokenizer)   # objects already loaded
    ```

    ``act_batch(observations)`` plays several episodes at once, observation ``i``
    belonging to episode slot ``i``: one batched ``generate`` call per turn. A slot
    starts a new episode when its passage changes or its step count goes back up,
    so ``reset()`` is optional. With ``record_tokens=True`` the agent keeps each
    slot's exact token sequences and which tokens it generated
    (:meth:`token_segments`), which is what the RL trainer learns from.

    Args:
        model: a loaded causal LM, a local folder, a ``.gguf`` file, a hub id, or
            ``None`` for the offline SmolLM2-135M-Instruct.
        tokenizer: the model's tokenizer (loaded with the model when ``None``).
        config: an :class:`LLMAgentConfig`; the keyword arguments below that are not
            ``None`` replace its fields (so ``ramp-env evaluate --agent-arg`` can set them).
        device: where a model given by name is loaded.
        record_tokens: keep token segments for training.
        env: accepted (and unused) so evaluation harnesses may pass it.
        max_new_tokens, temperature, top_p, max_context_tokens, batch_size,
            system_prompt, tool_role, seed: see :class:`LLMAgentConfig`.
    """

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        config: LLMAgentConfig | None = None,
        device: str = "cpu",
        record_tokens: bool = False,
        env: Any = None,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_context_tokens: int | None = None,
        batch_size: int | None = None,
        system_prompt: str | None = None,
        tool_role: str | None = None,
        seed: int | None = None,
        cache_across_turns: bool | None = None,
    ) -> None:
        overrides = {
            name: value
            for name, value in dict(
                max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                max_context_tokens=max_context_tokens, batch_size=batch_size, system_prompt=system_prompt,
                tool_role=tool_role, seed=seed, cache_across_turns=cache_across_turns,
            ).items()
            if value is not None
        }
        self.config = replace(config or LLMAgentConfig(), **overrides)
        if model is None or isinstance(model, str | os.PathLike):
            from ramp_env.models import load_causal_lm

            model, loaded_tokenizer = load_causal_lm(model, device=device)
            tokenizer = tokenizer or loaded_tokenizer
        if tokenizer is None:
            raise InvalidOptionError("pass the tokenizer together with a loaded model")
        if getattr(tokenizer, "chat_template", None) is None:
            raise InvalidOptionError("LLMAgent needs a tokenizer with a chat template (an instruction-tuned model)")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.model = model
        self.tokenizer = tokenizer
        self.tool_role = resolve_tool_role(tokenizer, self.config.tool_role)
        self.record_tokens = record_tokens
        self._calls = 0
        self._episodes: dict[int, _Episode] = {}
        self.kv_cache = PrefixKVCache()

    # -- episodes -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every slot's episode (and the kept KV caches)."""
        self._episodes.clear()
        self.kv_cache.clear()

    def _is_new_episode(self, slot: int, observation: Mapping[str, Any]) -> bool:
        episode = self._episodes.get(slot)
        return (
            episode is None
            or episode.pending is None
            or str(observation["passage"]) != episode.passage
            or int(observation["steps_left"]) >= episode.steps_left
        )

    def _observe(self, slot: int, observation: Mapping[str, Any]) -> _Episode:
        if self._is_new_episode(slot, observation):
            episode = _Episode(
                messages=initial_messages(observation, self.config.system_prompt),
                passage=str(observation["passage"]),
                steps_left=int(observation["steps_left"]),
            )
            self._episodes[slot] = episode
            self._rebuild_context(episode)
            return episode
        episode = self._episodes[slot]
        assert episode.pending is not None
        previous = render(self.tokenizer, template_messages(episode.messages, self.tool_role), True)
        generated = previous + episode.pending
        episode.messages.append({"role": "assistant", "content": episode.generations[-1].text})
        episode.messages.append(tool_message(observation))
        episode.pending = None
        episode.steps_left = int(observation["steps_left"])
        current = render(self.tokenizer, template_messages(episode.messages, self.tool_role), True)
        delta = encode(self.tokenizer, current[len(generated) :]) if current.startswith(generated) else None
        fits = delta is not None and len(episode.context) + len(delta) + self.config.max_new_tokens <= (
            self.config.max_context_tokens
        )
        if delta is not None and fits:
            # the template kept the conversation a prefix: append only the new tokens, so the
            # context is exactly what the model generated plus the environment's reply
            episode.context.extend(delta)
            if self.record_tokens:
                episode.segments[-1].extend(delta, generated=False)
        else:
            self._rebuild_context(episode)
        return episode

    def _rebuild_context(self, episode: _Episode) -> None:
        """Tokenise the chat afresh, eliding old results until it fits the budget; start a new segment."""
        budget = self.config.max_context_tokens - self.config.max_new_tokens
        messages = [dict(m) for m in episode.messages]
        ids = self._prompt_ids(messages)
        tool_turns = [i for i, m in enumerate(messages) if m["role"] == "tool"]
        for i in tool_turns[:-1]:  # oldest results first, keep the latest
            if len(ids) <= budget:
                break
            messages[i]["content"] = ELIDED_RESULTS
            ids = self._prompt_ids(messages)
        if len(ids) > budget and tool_turns:
            last = messages[tool_turns[-1]]
            excess = len(ids) - budget
            content_ids = encode(self.tokenizer, last["content"])
            keep = max(0, len(content_ids) - excess - 8)
            last["content"] = self.tokenizer.decode(content_ids[:keep]) + " ..."
            ids = self._prompt_ids(messages)
        if len(ids) > budget:
            logger.warning("the prompt (%d tokens) exceeds max_context_tokens; keeping its last %d", len(ids), budget)
            ids = ids[-budget:]
        episode.context = ids
        if self.record_tokens:
            segment = TokenSegment()
            segment.extend(ids, generated=False)
            episode.segments.append(segment)

    def _prompt_ids(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        return tokenize_conversation(self.tokenizer, messages, self.tool_role, add_generation_prompt=True).input_ids

    # -- acting -------------------------------------------------------------------------------

    def act(self, observation: Mapping[str, Any]) -> str:
        """The action for one episode (slot 0)."""
        return self.act_batch([observation])[0]

    def act_batch(self, observations: Sequence[Mapping[str, Any]], slots: Sequence[int] | None = None) -> list[str]:
        """Actions for several episodes with one batched generation; ``slots`` default to ``0..n-1``."""
        slots = list(range(len(observations))) if slots is None else list(slots)
        if len(slots) != len(observations):
            raise ValueError(f"{len(slots)} slots for {len(observations)} observations")
        if len(set(slots)) != len(slots):
            raise ValueError(f"slots must be distinct, got {slots}")
        episodes = [self._observe(slot, obs) for slot, obs in zip(slots, observations)]
        with seeded_torch(self.config.seed * 1_000_003 + self._calls):
            generations = self._generate([e.context for e in episodes])
        self._calls += 1
        actions = []
        for episode, generation in zip(episodes, generations):
            episode.context.extend(generation.token_ids)
            if self.record_tokens:
                episode.segments[-1].extend(generation.token_ids, generated=True)
            episode.generations.append(generation)
            # the raw text (special tokens kept) is what the context now ends with
            episode.pending = self.tokenizer.decode(generation.token_ids, skip_special_tokens=False)
            actions.append(generation.text)
        return actions

    def _generate(self, contexts: Sequence[Sequence[int]]) -> list[Generation]:
        """One turn for every context. Subclasses swap the backend here (the TRL rollout
        generates through the trainer's vLLM engine); the rest of the turn logic is shared."""
        if self.config.cache_across_turns:
            return generate_cached(
                self.model,
                self.tokenizer,
                contexts,
                cache=self.kv_cache,
                max_new_tokens=self.config.max_new_tokens,
                temperature=self.config.temperature,
                top_p=self.config.top_p,
                stop_strings=self.config.stop_strings,
                batch_size=self.config.batch_size,
            )
        return generate_batch(
            self.model,
            self.tokenizer,
            contexts,
            max_new_tokens=self.config.max_new_tokens,
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            stop_strings=self.config.stop_strings,
            batch_size=self.config.batch_size,
        )

    # -- records for training -----------------------------------------------------------------

    def sampling_settings(self) -> dict[str, Any]:
        """The distribution this agent samples from (recorded in every rollout trajectory)."""
        return {
            **sampling_settings(self.config.temperature, self.config.top_p, self.config.max_new_tokens),
            "stop_strings": list(self.config.stop_strings),
            "seed": self.config.seed,
            "cache_across_turns": self.config.cache_across_turns,
        }

    def token_segments(self, slot: int = 0) -> list[TokenSegment]:
        """The slot's token sequences with the generated tokens marked (needs ``record_tokens=True``)."""
        if not self.record_tokens:
            raise RuntimeError("construct the agent with record_tokens=True to keep token segments")
        episode = self._episodes.get(slot)
        return [] if episode is None else [s for s in episode.segments if s.num_generated]

    def generations(self, slot: int = 0) -> list[Generation]:
        """The slot's generated turns in order (token ids, text, finish reason)."""
        episode = self._episodes.get(slot)
        return [] if episode is None else list(episode.generations)

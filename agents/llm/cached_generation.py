"""Batched generation that keeps each sequence's KV cache between calls (a prefix cache).

In a multi-turn episode every turn's context is the previous turn's context, the
tokens the model generated, and the environment's reply. ``transformers``'
``generate`` re-encodes the whole context every turn; here each finished row's
keys and values are kept (:class:`PrefixKVCache`) and the next call, given a
context that starts with a kept sequence, prefills only the new tokens.

Rows with different cached and new lengths share one batch: each row's cached
keys are left-padded to a common width, its new tokens are right-aligned in the
new block, and a 2-D attention mask hides the padding in between; every token
gets its true position (``position_ids``), so rotary embeddings match an
uncached forward exactly. Decoding then runs one token per step for the whole
batch. Why a loop of our own rather than ``generate(past_key_values=...)``:
``generate`` takes one cache for a batch whose rows share a prefix length, while
rows of different episodes have cached prefixes of different lengths.

Sampling is the same distribution as :func:`agents.llm.generation.generate_batch`:
``softmax(logits / temperature)`` (nucleus-truncated when ``top_p < 1``), greedy at
temperature 0, drawn from torch's global generator; the model's
``generation_config`` is never consulted. Models whose cache layers are not plain
full-attention layers (sliding windows, linear attention) run without reuse.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache, TopPLogitsWarper
from transformers.cache_utils import DynamicLayer

from agents.llm.generation import (
    STOP_STRINGS,
    Generation,
    _stop_criteria,
    eos_token_ids,
    trim_generation,
)

KV = list[tuple[torch.Tensor, torch.Tensor]]  # per layer ([1, heads, length, dim] keys, values)


@dataclass
class _Entry:
    ids: list[int]
    kv: KV


class PrefixKVCache:
    """Keys and values of recently generated sequences, looked up by longest token prefix.

    Only the sequences of the latest call are kept (``max_entries`` at most): a
    multi-turn rollout continues each of them once, so older entries are dead weight.
    Keys computed by other weights are never reused: the cache remembers the model
    and the in-place version counters of its parameters (an optimiser step bumps
    them) and empties itself when they change.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: list[_Entry] = []
        self._weights: tuple[int, ...] | None = None
        self.hits = 0
        self.reused_tokens = 0
        self.prefilled_tokens = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def lookup(self, context: Sequence[int]) -> tuple[int, KV | None]:
        """The longest kept prefix of ``context`` (at most ``len(context) - 1`` tokens) and its KV."""
        best: _Entry | None = None
        for entry in self._entries:
            n = len(entry.ids)
            if n < len(context) and (best is None or n > len(best.ids)) and list(context[:n]) == entry.ids:
                best = entry
        if best is None:
            return 0, None
        return len(best.ids), best.kv

    def replace(self, entries: list[_Entry]) -> None:
        self._entries = entries[-self.max_entries :]

    def bind(self, model: Any) -> None:
        """Forget everything if ``model`` or its weights changed since the entries were computed."""
        weights = (id(model), *(getattr(p, "_version", 0) for p in model.parameters()))
        if weights != self._weights:
            self._entries.clear()
            self._weights = weights


def _cache_is_plain(cache: DynamicCache) -> bool:
    return all(type(layer) is DynamicLayer for layer in cache.layers)


def _forward(model: Any, cache: DynamicCache, **inputs: Any) -> tuple[torch.Tensor, DynamicCache]:
    """One forward pass with a KV cache: transformers 5 calls the argument ``cache``, 4.x ``past_key_values``."""
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    out = model(**inputs, **{name: cache}, use_cache=True)
    return out.logits[:, -1].float(), getattr(out, name)


@torch.no_grad()
def generate_cached(
    model: Any,
    tokenizer: Any,
    contexts: Sequence[Sequence[int]],
    cache: PrefixKVCache,
    max_new_tokens: int = 128,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop_strings: Sequence[str] = STOP_STRINGS,
    batch_size: int = 8,
    return_logprobs: bool = False,
) -> list[Generation]:
    """Continue each context like :func:`~agents.llm.generation.generate_batch`, reusing ``cache``.

    ``return_logprobs`` fills ``Generation.logprobs`` (each kept token's log-probability
    under the distribution it was drawn from).

    After the call ``cache`` holds every row's context plus the generated tokens
    whose keys were computed (all but the last), replacing what it held before.
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if any(not c for c in contexts):
        raise ValueError("cannot generate from an empty context")
    cache.bind(model)
    was_training = model.training
    model.eval()
    results: list[Generation] = []
    entries: list[_Entry] = []
    try:
        for start in range(0, len(contexts), batch_size):
            chunk = [list(c) for c in contexts[start : start + batch_size]]
            generations, chunk_entries = _generate_chunk(
                model, tokenizer, chunk, cache, max_new_tokens, temperature, top_p, stop_strings, return_logprobs
            )
            results.extend(generations)
            entries.extend(chunk_entries)
    finally:
        model.train(was_training)
    cache.replace(entries)
    return results


def _generate_chunk(
    model: Any,
    tokenizer: Any,
    chunk: list[list[int]],
    cache: PrefixKVCache,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    stop_strings: Sequence[str],
    return_logprobs: bool,
) -> tuple[list[Generation], list[_Entry]]:
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos_ids = eos_token_ids(model, tokenizer)
    rows = len(chunk)
    found = [cache.lookup(c) for c in chunk]
    cached_lens = [n for n, _ in found]
    new_lens = [len(c) - n for c, n in zip(chunk, cached_lens)]
    cache.hits += sum(1 for n in cached_lens if n)
    cache.reused_tokens += sum(cached_lens)
    cache.prefilled_tokens += sum(new_lens)
    width, block = max(cached_lens), max(new_lens)

    # the batch's cache: each row's kept keys/values right-aligned in [0, width)
    past: DynamicCache | None = None
    if width:
        layers = next(kv for _, kv in found if kv is not None)
        batched: KV = []
        for layer, (k0, v0) in enumerate(layers):
            keys = k0.new_zeros((rows, k0.shape[1], width, k0.shape[3]))
            values = v0.new_zeros((rows, v0.shape[1], width, v0.shape[3]))
            for row, (n, kv) in enumerate(found):
                if kv is not None:
                    keys[row, :, width - n :] = kv[layer][0][0, :, :n]
                    values[row, :, width - n :] = kv[layer][1][0, :, :n]
            batched.append((keys, values))
        past = DynamicCache(ddp_cache_data=batched)
    ids = torch.full((rows, block), pad_id, dtype=torch.long)
    attention = torch.zeros((rows, width + block), dtype=torch.long)
    positions = torch.zeros((rows, block), dtype=torch.long)
    for row, (context, n, m) in enumerate(zip(chunk, cached_lens, new_lens)):
        ids[row, block - m :] = torch.tensor(context[n:], dtype=torch.long)
        attention[row, width - n : width] = 1
        attention[row, width + block - m :] = 1
        positions[row, block - m :] = torch.arange(n, n + m)
    attention = attention.to(device)
    lengths = torch.tensor([len(c) for c in chunk], dtype=torch.long, device=device)
    logits, past = _forward(
        model, past if past is not None else DynamicCache(),
        input_ids=ids.to(device), attention_mask=attention, position_ids=positions.to(device), logits_to_keep=1,
    )
    plain = _cache_is_plain(past)
    warper = TopPLogitsWarper(top_p) if temperature > 0 and top_p < 1.0 else None
    stop = _stop_criteria(tokenizer, stop_strings)
    eos = torch.tensor(sorted(eos_ids), dtype=torch.long, device=device)
    generated = torch.zeros((rows, 0), dtype=torch.long, device=device)
    chosen_logprobs: list[torch.Tensor] = []
    done = torch.zeros(rows, dtype=torch.bool, device=device)
    fed = 0  # generated tokens whose keys/values are in the cache
    for step in range(max_new_tokens):
        if temperature > 0:
            scores = logits / temperature
            if warper is not None:
                scores = warper(generated, scores)
            token = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)
        else:
            scores = logits
            token = logits.argmax(dim=-1)
        if return_logprobs:
            chosen_logprobs.append(torch.log_softmax(scores, dim=-1).gather(-1, token[:, None]).squeeze(1))
        token = torch.where(done, torch.full_like(token, pad_id), token)
        generated = torch.cat([generated, token[:, None]], dim=1)
        if len(eos):
            done |= torch.isin(token, eos)
        if stop is not None:
            done |= stop(generated, None).to(device)
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        attention = torch.cat([attention, torch.ones((rows, 1), dtype=attention.dtype, device=device)], dim=1)
        logits, past = _forward(
            model, past, input_ids=token[:, None], attention_mask=attention, position_ids=(lengths + step)[:, None]
        )
        fed += 1

    generations: list[Generation] = []
    entries: list[_Entry] = []
    for row, context in enumerate(chunk):
        generation = trim_generation(tokenizer, generated[row].tolist(), eos_ids, stop_strings, max_new_tokens)
        if return_logprobs:
            generation.logprobs = [float(step[row]) for step in chosen_logprobs[: len(generation.token_ids)]]
        generations.append(generation)
        if not plain:
            continue
        keep = min(fed, len(generation.token_ids))  # the kept tokens whose keys were computed
        n, m = cached_lens[row], new_lens[row]
        columns = torch.cat([
            torch.arange(width - n, width),
            torch.arange(width + block - m, width + block),
            torch.arange(width + block, width + block + keep),
        ]).to(device)
        kv = [
            (layer.keys[row : row + 1].index_select(2, columns), layer.values[row : row + 1].index_select(2, columns))
            for layer in past.layers
        ]
        entries.append(_Entry(context + generation.token_ids[:keep], kv))
    return generations, entries

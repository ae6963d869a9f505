"""Batched generation that keeps each sequence's KV cache between calls (a prefix cache).

In a multi-turn episode every turn's context is the previous turn's context, the
tokens the model generated, and the environment's reply. ``transformers``'
``generate`` re-encodes the whole context every turn; here each finished row's
keys and values are kept (:class:`PrefixKVCache`) and the next call, given a
context that starts with a kept sequence, prefills only the new tokens.

Each row's new tokens are encoded on their own, on top of its kept keys (no
padding is computed: rows' new blocks differ a lot in length), and its keys and
values are written into the batch's cache right-aligned at a common end; a 2-D
attention mask hides the padding on the left and every token gets its true
position (``position_ids``), so rotary embeddings match an uncached forward.
Decoding then runs one token per step for the whole batch. Why a loop of our own
rather than ``generate(past_key_values=...)``: ``generate`` takes one cache for a
batch whose rows share a prefix length, while rows of different episodes have
cached prefixes of different lengths.

The batch's keys and values live in buffers allocated once per call at their
final width (longest context + ``max_new_tokens``): ``DynamicCache`` grows by
``torch.cat``, which copies the whole cache on every decoded token and took about
45% of a batch-8 decode step on the CPU (SmolLM2-135M, 400-token contexts).

Sampling is the same distribution as :func:`agents.llm.generation.generate_batch`:
``softmax(logits / temperature)`` (nucleus-truncated when ``top_p < 1``), greedy at
temperature 0, drawn from torch's global generator by :func:`sample_from`; the
model's ``generation_config`` is never consulted. Under bf16 autocast the cache
holds keys and values in bf16, the precision attention reads them in. Models
whose cache layers are not plain full-attention layers (sliding windows, linear
attention) run without reuse.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache, TopPLogitsWarper
from transformers.cache_utils import DynamicLayer

from agents.llm.generation import (
    Generation,
    check_generation_args,
    eos_token_ids,
    stop_criteria,
    trim_generation,
)
from ramp_env.actions import STOP_STRINGS

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
        # this process's CPU seconds spent encoding new tokens and decoding (for benchmarks)
        self.prefill_cpu_seconds = 0.0
        self.decode_cpu_seconds = 0.0

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
        """Forget everything if ``model``, its weights or the autocast precision changed since the
        entries were computed (keys made under bf16 autocast are bf16: a float32 pass cannot use them,
        and they are not the keys it would compute)."""
        device = next(model.parameters()).device.type
        precision = (torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
        weights = (id(model), precision, *(getattr(p, "_version", 0) for p in model.parameters()))
        if weights != self._weights:
            self._entries.clear()
            self._weights = weights


def _cache_is_plain(cache: DynamicCache) -> bool:
    return all(type(layer) in (DynamicLayer, _PreallocatedLayer) for layer in cache.layers)


class _PreallocatedLayer(DynamicLayer):
    """A full-attention cache layer whose keys and values live in buffers of a fixed capacity.

    ``update`` writes the new states in place and returns views of the filled part,
    so decoding a token copies one column instead of the whole cache. Same contract
    as :class:`DynamicLayer` (which ``transformers``' masks and models expect).
    """

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def allocate(self, keys_like: torch.Tensor, values_like: torch.Tensor) -> None:
        rows, heads, _, key_dim = keys_like.shape
        self.device = keys_like.device
        dtype = _storage_dtype(keys_like)
        self._keys = keys_like.new_zeros((rows, heads, self.capacity, key_dim), dtype=dtype)
        self._values = values_like.new_zeros((rows, values_like.shape[1], self.capacity, values_like.shape[3]), dtype=dtype)
        self.keys, self.values = self._keys[:, :, :0], self._values[:, :, :0]
        self.is_initialized = True

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.allocate(key_states, value_states)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:  # cannot happen within generate_cached; grow rather than fail
            grow = max(end, 2 * self.capacity) - self.capacity
            self._keys = torch.cat([self._keys, self._keys.new_zeros((*self._keys.shape[:2], grow, self._keys.shape[3]))], 2)
            self._values = torch.cat(
                [self._values, self._values.new_zeros((*self._values.shape[:2], grow, self._values.shape[3]))], 2
            )
            self.capacity += grow
        self._keys[:, :, self.length : end] = key_states
        self._values[:, :, self.length : end] = value_states
        self.length = end
        self.keys, self.values = self._keys[:, :, :end], self._values[:, :, :end]
        return self.keys, self.values

    def select(self, rows: torch.Tensor, drop_columns: int) -> None:
        """Keep only batch ``rows`` and drop the first ``drop_columns`` columns (one copy of what stays)."""
        self._keys = self._keys[rows, :, drop_columns:].contiguous()
        self._values = self._values[rows, :, drop_columns:].contiguous()
        self.capacity -= drop_columns
        self.length -= drop_columns
        self.keys, self.values = self._keys[:, :, : self.length], self._values[:, :, : self.length]

    def crop(self, tokens_to_remove: int) -> None:
        super().crop(tokens_to_remove)
        if self.is_initialized:
            self.length = self.keys.shape[-2]


def _storage_dtype(keys: torch.Tensor) -> torch.dtype:
    """The dtype to keep keys and values in: autocast's dtype while autocast is on, else their own.

    Under bf16 autocast the key/value projections are bf16 but rotary embeddings
    promote keys to float32, and attention casts the whole cache back to bf16 on
    every decoding step: a copy of every layer's keys and values per token (about
    20% of a batch-8 step with 1,000-token contexts). Storing what attention will
    read anyway gives it the very same numbers without the copy.
    """
    device = keys.device.type
    if keys.is_floating_point() and torch.is_autocast_enabled(device):
        lower = torch.get_autocast_dtype(device)
        if torch.finfo(lower).bits < torch.finfo(keys.dtype).bits:
            return lower
    return keys.dtype


def sample_from(scores: torch.Tensor) -> torch.Tensor:
    """One token per row drawn from ``softmax(scores)``, by inverting the cumulative distribution.

    The same distribution as ``torch.multinomial(softmax(scores), 1)`` (the sampler
    of ``transformers``' ``generate``), from torch's global generator; why not
    multinomial itself: on the CPU it draws an exponential variate per vocabulary
    entry, about 7 ms per step for 8 rows of a 49k vocabulary against 0.5 ms here.
    Token ids are not the ones ``generate`` draws for the same seed. The cumulative
    sum is in float64 so tokens far down a 150k vocabulary keep their own share
    (the probabilities themselves are the float32 softmax multinomial would use).
    """
    cdf = torch.softmax(scores, dim=-1).double().cumsum_(dim=-1)
    if not bool(torch.isfinite(cdf[:, -1]).all()):  # multinomial raises here too; never draw from garbage
        raise ValueError("cannot sample: the model's logits hold NaN or are -inf for every token")
    draws = torch.rand((scores.shape[0], 1), dtype=torch.float64, device=scores.device) * cdf[:, -1:]
    # right=True: the first bin whose upper edge exceeds the draw, so zero-probability tokens are never drawn
    token = torch.searchsorted(cdf, draws, right=True).squeeze(1)
    return token.clamp_(max=scores.shape[-1] - 1)


def _left_padded_mask(lengths: Sequence[int], total: int) -> torch.Tensor:
    """[rows, total] attention mask: each row's ``length`` tokens end at column ``total``."""
    mask = torch.zeros((len(lengths), total), dtype=torch.long)
    for row, length in enumerate(lengths):
        mask[row, total - length :] = 1
    return mask


def _prefill_rows(
    model: Any, chunk: list[list[int]], found: list[tuple[int, KV | None]], past: DynamicCache, total: int
) -> torch.Tensor:
    """Encode each row's uncached tokens on its own and write its keys/values into ``past``.

    Why row by row: rows of a rollout batch have new blocks of very different
    lengths (one episode's context was rebuilt, the others only add a search
    result), and one padded pass computes every row at the longest block's width;
    a pass per row computes only real tokens, still in GEMMs of tens of rows.
    Returns the rows' last-position logits.
    """
    device = next(model.parameters()).device
    rows = len(chunk)
    last_logits = []
    for row, (context, (n, kv)) in enumerate(zip(chunk, found)):
        row_cache = DynamicCache(ddp_cache_data=kv) if kv is not None else DynamicCache()
        logits, row_cache = _forward(
            model, row_cache,
            input_ids=torch.tensor([context[n:]], dtype=torch.long, device=device),
            position_ids=torch.arange(n, len(context), device=device)[None],
            logits_to_keep=1,
        )
        last_logits.append(logits[0])
        for layer, row_layer in zip(past.layers, row_cache.layers):
            if not layer.is_initialized:
                layer.allocate(row_layer.keys.expand(rows, -1, -1, -1), row_layer.values.expand(rows, -1, -1, -1))
            layer._keys[row, :, total - len(context) : total] = row_layer.keys[0, :, : len(context)]
            layer._values[row, :, total - len(context) : total] = row_layer.values[0, :, : len(context)]
    for layer in past.layers:
        layer.length = total
        layer.keys, layer.values = layer._keys[:, :, :total], layer._values[:, :, :total]
    return torch.stack(last_logits)


def _preallocated_cache(model: Any, capacity: int) -> DynamicCache | None:
    """An empty cache of :class:`_PreallocatedLayer` for ``model``, or None if its layers are not all full attention."""
    config = model.config.get_text_config(decoder=True)
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None and any(t != "full_attention" for t in layer_types):
        return None
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return None
    cache = DynamicCache()
    cache.layers = [_PreallocatedLayer(capacity) for _ in range(config.num_hidden_layers)]
    cache.layer_class_to_replicate = None
    return cache


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
    check_generation_args(max_new_tokens, batch_size, temperature)
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
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    found = [cache.lookup(c) for c in chunk]
    cached_lens = [n for n, _ in found]
    cache.hits += sum(1 for n in cached_lens if n)
    cache.reused_tokens += sum(cached_lens)
    cache.prefilled_tokens += sum(len(c) - n for c, n in zip(chunk, cached_lens))
    started = time.process_time()
    logits, past, attention = _prefill_chunk(model, chunk, found, max_new_tokens, pad_id)
    cache.prefill_cpu_seconds += time.process_time() - started
    started = time.process_time()
    decoding = _ChunkDecoding(model, tokenizer, chunk, past, attention, pad_id, stop_strings, max_new_tokens)
    chosen_logprobs = decoding.run(logits, temperature, top_p, return_logprobs)
    cache.decode_cpu_seconds += time.process_time() - started
    return decoding.results(chosen_logprobs if return_logprobs else None)


def _prefill_chunk(
    model: Any, chunk: list[list[int]], found: list[tuple[int, KV | None]], max_new_tokens: int, pad_id: int
) -> tuple[torch.Tensor, DynamicCache, torch.Tensor]:
    """Encode the chunk's contexts (each row's uncached tokens only, where the model's layers allow):
    the rows' last logits, the batch cache (every row's keys end at the longest context's length,
    right-aligned) and the left-padded attention mask."""
    device = next(model.parameters()).device
    lengths = [len(c) for c in chunk]
    total = max(lengths)
    attention = _left_padded_mask(lengths, total).to(device)
    past = _preallocated_cache(model, total + max_new_tokens)
    if past is not None:
        return _prefill_rows(model, chunk, found, past, total), past, attention
    # layers we cannot batch row by row (sliding windows, linear attention): one padded pass, no reuse
    assert not any(n for n, _ in found), "only plain caches keep entries"
    ids = torch.full((len(chunk), total), pad_id, dtype=torch.long)
    positions = torch.zeros((len(chunk), total), dtype=torch.long)
    for row, context in enumerate(chunk):
        ids[row, total - len(context) :] = torch.tensor(context, dtype=torch.long)
        positions[row, total - len(context) :] = torch.arange(len(context))
    logits, past = _forward(
        model, DynamicCache(config=model.config), input_ids=ids.to(device),
        attention_mask=attention, position_ids=positions.to(device), logits_to_keep=1,
    )
    return logits, past, attention


class _ChunkDecoding:
    """The decode loop of one chunk: one token per step for the rows still in the batch.

    Rows are chunk indices; a row's *position* is its index in the (shrinking) batch.
    Why a class: the loop, the compaction of finished rows and the cache entries all
    read and update the same state (the batch's cache, mask, rows left and tokens fed).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        chunk: list[list[int]],
        past: DynamicCache,
        attention: torch.Tensor,
        pad_id: int,
        stop_strings: Sequence[str],
        max_new_tokens: int,
    ) -> None:
        device = attention.device
        self.model, self.tokenizer, self.chunk, self.past, self.attention = model, tokenizer, chunk, past, attention
        self.pad_id, self.stop_strings, self.max_new_tokens = pad_id, stop_strings, max_new_tokens
        self.eos_ids = eos_token_ids(model, tokenizer)
        self.row_lengths = [len(c) for c in chunk]
        self.total = max(self.row_lengths)  # every row's keys/values end at column `total`, right-aligned
        self.lengths = torch.tensor(self.row_lengths, dtype=torch.long, device=device)
        self.plain = _cache_is_plain(past)
        self.compactable = all(isinstance(layer, _PreallocatedLayer) for layer in past.layers)
        rows = len(chunk)
        self.generated = torch.zeros((rows, 0), dtype=torch.long, device=device)
        self.done = torch.zeros(rows, dtype=torch.bool, device=device)
        self.alive = torch.arange(rows, device=device)  # the chunk rows still in the batch, in batch order
        self.trimmed = 0  # leading columns dropped from the cache (padding of every row left in the batch)
        self.kept: dict[int, _Entry] = {}  # entries of rows that left the batch early
        self.fed = 0  # generated tokens whose keys/values are in the cache

    def run(self, logits: torch.Tensor, temperature: float, top_p: float, return_logprobs: bool) -> list[torch.Tensor]:
        """Decode from the prefill's ``logits``; returns each step's chosen-token log-probs (if asked)."""
        device, rows = self.attention.device, len(self.chunk)
        warper = TopPLogitsWarper(top_p) if temperature > 0 and top_p < 1.0 else None
        stop = stop_criteria(self.tokenizer, self.stop_strings)
        eos = torch.tensor(sorted(self.eos_ids), dtype=torch.long, device=device)
        chosen_logprobs: list[torch.Tensor] = []
        for step in range(self.max_new_tokens):
            scores, sampled = _pick(logits, temperature, warper, self.generated[self.alive])
            token = torch.full((rows,), self.pad_id, dtype=torch.long, device=device)
            token[self.alive] = sampled
            if return_logprobs:
                chosen = torch.zeros(rows, dtype=scores.dtype, device=device)
                chosen[self.alive] = torch.log_softmax(scores, dim=-1).gather(-1, sampled[:, None]).squeeze(1)
                chosen_logprobs.append(chosen)
            token = torch.where(self.done, torch.full_like(token, self.pad_id), token)
            self.generated = torch.cat([self.generated, token[:, None]], dim=1)
            if len(eos):
                self.done |= torch.isin(token, eos)
            if stop is not None:
                self.done |= stop(self.generated, None).to(device)
            if bool(self.done.all()) or step == self.max_new_tokens - 1:
                break
            finished = self.done[self.alive]
            # Rows that finished still cost attention over their keys (and pad columns) every step until the
            # last row stops: drop them once a quarter of the batch has, and the left padding no row needs.
            if (self.compactable and self.plain and int(finished.sum()) * 4 >= len(self.alive)
                    and self.max_new_tokens - step > 4):
                self._compact(finished)
            logits = self._feed(token, step)
        return chosen_logprobs

    def _feed(self, token: torch.Tensor, step: int) -> torch.Tensor:
        """One forward pass on the rows' latest tokens; their next logits."""
        ones = torch.ones((len(self.alive), 1), dtype=self.attention.dtype, device=self.attention.device)
        self.attention = torch.cat([self.attention, ones], dim=1)
        logits, self.past = _forward(
            self.model, self.past, input_ids=token[self.alive][:, None], attention_mask=self.attention,
            position_ids=(self.lengths[self.alive] + step)[:, None],
        )
        self.fed += 1
        return logits

    def _compact(self, finished: torch.Tensor) -> None:
        """Keep the finished rows' entries, drop them from the batch, and drop the left padding no row needs."""
        for position in finished.nonzero().flatten().tolist():
            row = int(self.alive[position])
            self.kept[row] = self._entry(row, position, self._trimmed_row(row))
        stay = (~finished).nonzero().flatten()
        self.alive = self.alive[stay]
        drop = min(self.total - self.row_lengths[int(row)] for row in self.alive) - self.trimmed
        for layer in self.past.layers:
            layer.select(stay, drop)
        self.trimmed += drop
        self.attention = self.attention[stay, drop:]

    def _trimmed_row(self, row: int) -> Generation:
        return trim_generation(
            self.tokenizer, self.generated[row].tolist(), self.eos_ids, self.stop_strings, self.max_new_tokens
        )

    def _entry(self, row: int, position: int, generation: Generation) -> _Entry:
        """Row ``row``'s context and kept tokens with their keys/values (batch position ``position``)."""
        context = self.chunk[row]
        keep = min(self.fed, len(generation.token_ids))  # the kept tokens whose keys were computed
        start, end = self.total - len(context) - self.trimmed, self.total + keep - self.trimmed
        kv = [
            (layer.keys[position : position + 1, :, start:end].clone(),
             layer.values[position : position + 1, :, start:end].clone())
            for layer in self.past.layers
        ]
        return _Entry(context + generation.token_ids[:keep], kv)

    def results(self, chosen_logprobs: list[torch.Tensor] | None) -> tuple[list[Generation], list[_Entry]]:
        """Every row's generation (with log-probs when given) and, for a plain cache, its entry."""
        generations: list[Generation] = []
        entries: list[_Entry] = []
        position_of = {int(row): position for position, row in enumerate(self.alive.tolist())}
        for row in range(len(self.chunk)):
            generation = self._trimmed_row(row)
            if self.plain:  # (before the log-probs are set: an entry only needs the token ids)
                entries.append(self.kept[row] if row in self.kept else self._entry(row, position_of[row], generation))
            if chosen_logprobs is not None:
                generation.logprobs = [float(step[row]) for step in chosen_logprobs[: len(generation.token_ids)]]
            generations.append(generation)
        return generations, entries


def _pick(
    logits: torch.Tensor, temperature: float, warper: TopPLogitsWarper | None, history: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The scores the next tokens are drawn from and the tokens: greedy at temperature 0, else sampled."""
    if temperature <= 0:
        return logits, logits.argmax(dim=-1)
    scores = logits / temperature
    if warper is not None:
        scores = warper(history, scores)
    return scores, sample_from(scores)

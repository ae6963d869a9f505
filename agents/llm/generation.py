"""Batched generation until a closing action tag, with the exact sampled token ids.

``transformers``' ``generate`` does the decoding (left-padded batch, sampling or
greedy, ``stop_strings``); this module only cuts each row where it really
ended, because in a batch a finished row keeps receiving pad tokens until the
last row stops, and with SmolLM2 the pad token *is* the end-of-turn token. A row
ends after the first end-of-sequence token the model produced, or after the
token that completed a stop string, whichever comes first. The kept ids are the
policy's actions for RL, so they are returned as generated, never re-tokenised.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteriaList, StopStringCriteria

STOP_STRINGS = ("</search>", "</answer>")


@dataclass
class Generation:
    """One generated turn: the sampled ``token_ids``, their ``text`` (special tokens
    dropped), and why it ended (``"stop"``: a stop string, ``"eos"``: an end-of-turn
    token, ``"length"``: ``max_new_tokens`` ran out)."""

    token_ids: list[int]
    text: str
    finish_reason: str


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every id that ends a turn: the tokenizer's EOS and the generation config's."""
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value is not None:
            ids.update(int(v) for v in value)
    return ids


# StopStringCriteria scans the whole vocabulary when built (tens of ms per call even when
# transformers' own cache hits); build it once per tokenizer and stop-string set
_STOP_CRITERIA: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], StopStringCriteria]] = (
    weakref.WeakKeyDictionary()
)


def _stop_criteria(tokenizer: Any, stop_strings: Sequence[str]) -> StoppingCriteriaList | None:
    if not stop_strings:
        return None
    per_tokenizer = _STOP_CRITERIA.setdefault(tokenizer, {})
    key = tuple(stop_strings)
    if key not in per_tokenizer:
        per_tokenizer[key] = StopStringCriteria(tokenizer, list(key))
    return StoppingCriteriaList([per_tokenizer[key]])


def _first_stop(tokenizer: Any, ids: list[int], stop_strings: Sequence[str]) -> int | None:
    """Smallest ``k`` such that ``ids[:k]`` decodes to text containing a stop string, if any.

    Containment only grows with ``k``, so a binary search needs log2(len) decodes.
    """

    def contains(k: int) -> bool:
        text = tokenizer.decode(ids[:k], skip_special_tokens=False)
        return any(s in text for s in stop_strings)

    if not ids or not contains(len(ids)):
        return None
    lo, hi = 1, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if contains(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def trim_generation(
    tokenizer: Any, new_ids: list[int], eos_ids: set[int], stop_strings: Sequence[str], max_new_tokens: int
) -> Generation:
    """Cut one row of ``generate`` output where the model stopped (see the module docs)."""
    end, reason = len(new_ids), "length"
    for i, token in enumerate(new_ids):
        if token in eos_ids:
            end, reason = i + 1, "eos"
            break
    stop_at = _first_stop(tokenizer, new_ids[:end], stop_strings) if stop_strings else None
    if stop_at is not None:
        end, reason = stop_at, "stop"
    if reason == "length" and len(new_ids) < max_new_tokens:
        reason = "eos"  # generate stopped early on an id we were not told about
    kept = new_ids[:end]
    return Generation(kept, tokenizer.decode(kept, skip_special_tokens=True), reason)


@torch.no_grad()
def generate_batch(
    model: Any,
    tokenizer: Any,
    contexts: Sequence[Sequence[int]],
    max_new_tokens: int = 128,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop_strings: Sequence[str] = STOP_STRINGS,
    batch_size: int = 8,
) -> list[Generation]:
    """Continue each token-id context; ``temperature=0`` decodes greedily.

    Contexts are run ``batch_size`` at a time, left-padded. Sampling draws from
    torch's global generator: seed it (``torch.manual_seed``) for repeatable runs.
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos_ids = eos_token_ids(model, tokenizer)
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": float(temperature), "top_p": float(top_p), "top_k": 0}
        if temperature > 0
        else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    )
    was_training = model.training
    model.eval()
    results: list[Generation] = []
    try:
        for start in range(0, len(contexts), batch_size):
            chunk = [list(c) for c in contexts[start : start + batch_size]]
            if any(not c for c in chunk):
                raise ValueError("cannot generate from an empty context")
            width = max(len(c) for c in chunk)
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, ids in enumerate(chunk):
                input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                attention[row, width - len(ids) :] = 1
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                max_new_tokens=max_new_tokens,
                stopping_criteria=_stop_criteria(tokenizer, stop_strings),
                pad_token_id=pad_id,
                eos_token_id=sorted(eos_ids) or None,
                **sampling,
            )
            for row in range(len(chunk)):
                new_ids = output[row, width:].tolist()
                results.append(trim_generation(tokenizer, new_ids, eos_ids, stop_strings, max_new_tokens))
    finally:
        model.train(was_training)
    return results

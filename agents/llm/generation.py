"""Batched generation until a closing action tag, with the exact sampled token ids.

``transformers``' ``generate`` does the decoding (left-padded batch, sampling or
greedy, ``stop_strings``); this module only cuts each row where it really
ended, because in a batch a finished row keeps receiving pad tokens until the
last row stops, and with SmolLM2 the pad token *is* the end-of-turn token. A row
ends after the first end-of-sequence token the model produced, or after the
token that completed a stop string, whichever comes first. The kept ids are the
policy's actions for RL, so they are returned as generated, never re-tokenised.

**One sampling distribution.** ``generate`` fills every option it is not given
from the model's ``generation_config``, and checkpoints carry options that change
the logits (Qwen2.5-derived configs set ``repetition_penalty=1.05``; others set
``no_repeat_ngram_size``, ``top_k``, bad words...). The RL trainer scores tokens
with ``softmax(logits / temperature)`` and knows nothing of them, so here every
call gets an explicit, complete configuration (:func:`sampling_config`): temperature
and ``top_p`` as asked, everything else that could touch the logits neutral, and
the model's own ``generation_config`` is set aside for the duration of the call.
:func:`sampling_settings` is what trajectories record.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import GenerationConfig, StoppingCriteriaList, StopStringCriteria

from ramp_env.actions import STOP_STRINGS
from ramp_env.errors import InvalidOptionError


@dataclass
class Generation:
    """One generated turn: the sampled ``token_ids``, their ``text`` (special tokens
    dropped), and why it ended (``"stop"``: a stop string, ``"eos"``: an end-of-turn
    token, ``"length"``: ``max_new_tokens`` ran out)."""

    token_ids: list[int]
    text: str
    finish_reason: str
    logprobs: list[float] | None = None  # the sampler's log-probability of each kept token, when asked


# every generation option that can change next-token scores, at its neutral value
NEUTRAL_LOGIT_OPTIONS: dict[str, Any] = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "top_k": 0,
    "typical_p": 1.0,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "min_new_tokens": 0,  # min_length stays unset (0 by default): transformers warns when both are set
    "diversity_penalty": 0.0,
    "num_beams": 1,
    "num_beam_groups": 1,
    "renormalize_logits": False,
    "remove_invalid_values": False,
}


def sampling_settings(temperature: float, top_p: float, max_new_tokens: int) -> dict[str, Any]:
    """The sampling distribution of :func:`generate_batch` (and the cached generator), as a record.

    Everything not listed is absent: the model's ``generation_config`` is never applied.
    """
    sampled = temperature > 0
    return {
        "do_sample": sampled,
        "temperature": float(temperature) if sampled else 0.0,
        "top_p": float(top_p) if sampled else 1.0,
        "max_new_tokens": int(max_new_tokens),
        **NEUTRAL_LOGIT_OPTIONS,
    }


def sampling_config(
    temperature: float, top_p: float, max_new_tokens: int, pad_id: int | None, eos_ids: Sequence[int]
) -> GenerationConfig:
    """A complete ``GenerationConfig``: the sampling asked for, every other logit option neutral."""
    sampled = temperature > 0
    return GenerationConfig(
        do_sample=sampled,
        temperature=float(temperature) if sampled else 1.0,
        top_p=float(top_p) if sampled else 1.0,
        max_new_tokens=int(max_new_tokens),
        pad_token_id=pad_id,
        eos_token_id=list(eos_ids) or None,
        **NEUTRAL_LOGIT_OPTIONS,
    )


@contextlib.contextmanager
def _without_model_defaults(model: Any) -> Iterator[None]:
    """Set the model's ``generation_config`` aside for one call.

    ``generate`` fills options left at ``None`` from it (bad words, suppressed or
    forced tokens, a sequence bias...), and ``None`` cannot be told apart from
    "unset"; a config holding only the special token ids leaves nothing to inherit.
    """
    saved = model.generation_config
    model.generation_config = GenerationConfig(
        bos_token_id=saved.bos_token_id, eos_token_id=saved.eos_token_id, pad_token_id=saved.pad_token_id,
        decoder_start_token_id=getattr(saved, "decoder_start_token_id", None),
    )
    try:
        yield
    finally:
        model.generation_config = saved


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


def stop_criteria(tokenizer: Any, stop_strings: Sequence[str]) -> StoppingCriteriaList | None:
    """``generate``'s stopping criteria for ``stop_strings`` (built once per tokenizer; None for none)."""
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


def check_generation_args(max_new_tokens: int, batch_size: int, temperature: float = 0.0) -> None:
    """Reject budgets and temperatures no generation loop can honour (one message per problem)."""
    if max_new_tokens < 1:
        raise InvalidOptionError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if batch_size < 1:
        raise InvalidOptionError(f"batch_size must be >= 1, got {batch_size}")
    if temperature < 0:
        raise InvalidOptionError(f"temperature must be >= 0, got {temperature}")


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
    return_logprobs: bool = False,
) -> list[Generation]:
    """Continue each token-id context; ``temperature=0`` decodes greedily.

    Contexts are run ``batch_size`` at a time, left-padded. Sampling draws from
    torch's global generator: seed it (``torch.manual_seed``) for repeatable runs.
    The distribution is ``softmax(logits / temperature)`` cut to ``top_p``, nothing
    else (see the module docs). ``return_logprobs`` fills ``Generation.logprobs`` with
    the log-probability of each kept token under the distribution it was drawn from.
    """
    check_generation_args(max_new_tokens, batch_size)
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos_ids = eos_token_ids(model, tokenizer)
    config = sampling_config(temperature, top_p, max_new_tokens, pad_id, sorted(eos_ids))
    config.output_scores = return_logprobs  # output options live in the config too: generate warns on a mix
    config.return_dict_in_generate = True
    was_training = model.training
    model.eval()
    results: list[Generation] = []
    try:
        with _without_model_defaults(model):
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
                    generation_config=config,
                    stopping_criteria=stop_criteria(tokenizer, stop_strings),
                )
                sequences = output.sequences
                step_logprobs = (
                    torch.stack([torch.log_softmax(s.float(), dim=-1) for s in output.scores], dim=1)
                    if return_logprobs
                    else None
                )
                for row in range(len(chunk)):
                    new_ids = sequences[row, width:].tolist()
                    generation = trim_generation(tokenizer, new_ids, eos_ids, stop_strings, max_new_tokens)
                    if step_logprobs is not None:
                        kept = torch.tensor(generation.token_ids, dtype=torch.long, device=step_logprobs.device)
                        rows = step_logprobs[row, : len(kept)]
                        generation.logprobs = rows.gather(-1, kept[:, None]).squeeze(-1).tolist()
                    results.append(generation)
    finally:
        model.train(was_training)
    return results

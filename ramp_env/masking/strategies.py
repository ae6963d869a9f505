"""Choosing which salient spans of a passage to mask.

A :class:`MaskStrategy` picks ``k`` spans from a passage's candidates using the
env's random generator. ``"balanced"`` (the env's default: spread over span types) and
``"random"`` (uniform, MaskSearch's) are built in; other strategies (the
perplexity-based one, for example) register themselves in
:data:`MASK_STRATEGIES` with :func:`register_mask_strategy`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ramp_env.corpus.passage import Passage
from ramp_env.text.spans import SalientSpan


@runtime_checkable
class MaskStrategy(Protocol):
    """Chooses ``k`` spans to mask from ``candidates``, or ``None`` if it cannot."""

    name: str

    def choose(
        self, passage: Passage, candidates: Sequence[SalientSpan], k: int, rng: np.random.Generator
    ) -> list[SalientSpan] | None: ...


class RandomMaskStrategy:
    """``k`` candidates uniformly at random without replacement (MaskSearch's random masking)."""

    name = "random"

    def choose(
        self, passage: Passage, candidates: Sequence[SalientSpan], k: int, rng: np.random.Generator
    ) -> list[SalientSpan] | None:
        if len(candidates) < k:
            return None
        picked = rng.choice(len(candidates), size=k, replace=False)
        return sorted((candidates[int(i)] for i in picked), key=lambda s: s.start)


class TypeBalancedMaskStrategy:
    """``k`` candidates drawn one at a time, each span's weight divided by ``repeat_penalty`` for
    every span of its type already chosen: a task's masks spread over the span types the passage
    offers, so a 4-mask task is not four places of one list of neighbouring countries.

    Why: the passages with 3-4 supported spans are mostly such lists, so uniform choice made
    PLACE about half of all masks at 4 masks against a quarter at 1 (``benchmarks/pool_balance.py``
    measures both strategies in one run). With one mask, or one type in the passage, it makes
    exactly the draw ``"random"`` makes (same seed, same spans); it never skips a passage
    ``"random"`` would use.

    Args:
        repeat_penalty: how much less likely a span of an already-chosen type is (4: a second
            PLACE is a quarter as likely as an unused type, a third a sixteenth).
    """

    name = "balanced"

    def __init__(self, repeat_penalty: float = 4.0) -> None:
        if not repeat_penalty >= 1.0:  # also rejects NaN
            raise ValueError(f"repeat_penalty must be >= 1, got {repeat_penalty!r}")
        self.repeat_penalty = float(repeat_penalty)

    def choose(
        self, passage: Passage, candidates: Sequence[SalientSpan], k: int, rng: np.random.Generator
    ) -> list[SalientSpan] | None:
        if len(candidates) < k:
            return None
        if k == 1 or len({c.label for c in candidates}) == 1:
            # nothing to balance: the very draw "random" makes, so 1-mask tasks match it seed for seed
            return RandomMaskStrategy().choose(passage, candidates, k, rng)
        remaining = list(range(len(candidates)))
        chosen_types: dict[str, int] = {}
        picked: list[SalientSpan] = []
        for _ in range(k):
            weights = np.array(
                [self.repeat_penalty ** -chosen_types.get(candidates[i].label.value, 0) for i in remaining]
            )
            j = remaining.pop(int(rng.choice(len(weights), p=weights / weights.sum())))
            span = candidates[j]
            chosen_types[span.label.value] = chosen_types.get(span.label.value, 0) + 1
            picked.append(span)
        return sorted(picked, key=lambda s: s.start)


DEFAULT_MASK_STRATEGY = "balanced"

# name -> factory, or "module:attr" resolved on first use (keeps heavy deps such
# as torch out of the import path of envs that never use them)
MASK_STRATEGIES: dict[str, Callable[..., MaskStrategy] | str] = {
    "random": RandomMaskStrategy,
    "balanced": TypeBalancedMaskStrategy,
    "ppl": "ramp_env.masking.perplexity:PerplexityMaskStrategy",
}


def register_mask_strategy(name: str, factory: Callable[..., MaskStrategy] | str) -> None:
    """Make ``mask_strategy=name`` available to the env."""
    MASK_STRATEGIES[name] = factory


def make_mask_strategy(spec: str | MaskStrategy, **kwargs: Any) -> MaskStrategy:
    if isinstance(spec, MaskStrategy):
        return spec
    if spec not in MASK_STRATEGIES:
        raise ValueError(f"unknown mask_strategy {spec!r}; expected one of {sorted(MASK_STRATEGIES)}")
    factory = MASK_STRATEGIES[spec]
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"mask_strategy {spec!r} is not available: {exc}") from exc
    return factory(**kwargs)  # type: ignore[operator]

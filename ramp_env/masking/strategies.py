"""Choosing which salient spans of a passage to mask.

A :class:`MaskStrategy` picks ``k`` spans from a passage's candidates using the
env's random generator. ``"random"`` is built in; other strategies (the
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


# name -> factory, or "module:attr" resolved on first use (keeps heavy deps such
# as torch out of the import path of envs that never use them)
MASK_STRATEGIES: dict[str, Callable[..., MaskStrategy] | str] = {
    "random": RandomMaskStrategy,
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

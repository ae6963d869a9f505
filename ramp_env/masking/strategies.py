"""Choosing which salient spans of a passage to mask.

A :class:`MaskStrategy` picks ``k`` spans from a passage's candidates using the
env's random generator. ``"balanced"`` (the env's default: spread over span types) and
``"random"`` (uniform, MaskSearch's) are built in; other strategies (the
perplexity-based one, for example) register themselves in
:data:`MASK_STRATEGIES` with :func:`register_mask_strategy`.
"""

from __future__ import annotations

import importlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ramp_env.corpus.passage import Passage
from ramp_env.errors import InvalidOptionError
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
    """Masks spread over span types, so 3-4-mask tasks look like 1-mask tasks, not like lists.

    Why: the passages with 3-4 supported spans are mostly lists (neighbouring countries, seas),
    so uniform masking made PLACE 56% of the masks at 4 masks against 35% at one mask on the
    default corpus (``benchmarks/results/pool_balance.json``). Two steps:

    1. **within the passage**, spans are drawn one at a time, each span's weight divided by
       ``repeat_penalty`` for every chosen span of its type;
    2. **across passages**, a task where one type holds more than ``max(2, ceil(k / 2))`` of the
       ``k`` masks is kept with probability ``repeat_penalty ** -excess`` (otherwise ``choose``
       returns None and the env draws another passage): a 4-mask task of four places is kept
       one time in 16, one of three places and a date one time in 4.

    With one mask it makes exactly the draw ``"random"`` makes (same seed, same span), and with
    two masks it only reweights within the passage. Step 2 draws more passages per task at 3-4
    masks, so fewer distinct passages are eligible: ``ramp-env stats`` and the env's
    ``SmallPoolWarning`` count them under this strategy.

    Args:
        repeat_penalty: how much less likely each repeat of a type is (4).
    """

    name = "balanced"

    def __init__(self, repeat_penalty: float = 4.0) -> None:
        if not repeat_penalty >= 1.0:  # also rejects NaN
            raise InvalidOptionError(f"repeat_penalty must be >= 1, got {repeat_penalty!r}")
        self.repeat_penalty = float(repeat_penalty)

    def choose(
        self, passage: Passage, candidates: Sequence[SalientSpan], k: int, rng: np.random.Generator
    ) -> list[SalientSpan] | None:
        if len(candidates) < k:
            return None
        if k == 1 or len({c.label for c in candidates}) == 1:
            # nothing to balance inside the passage: the very draw "random" makes
            picked = RandomMaskStrategy().choose(passage, candidates, k, rng)
        else:
            picked = self._weighted(candidates, k, rng)
        assert picked is not None
        most = max(Counter(s.label for s in picked).values())
        excess = most - max(2, math.ceil(k / 2))
        if excess > 0 and rng.random() >= self.repeat_penalty**-excess:
            return None  # a list-like task: draw another passage
        return picked

    def _weighted(self, candidates: Sequence[SalientSpan], k: int, rng: np.random.Generator) -> list[SalientSpan]:
        remaining = list(range(len(candidates)))
        chosen_types: Counter[str] = Counter()
        picked: list[SalientSpan] = []
        for _ in range(k):
            weights = np.array([self.repeat_penalty ** -chosen_types[candidates[i].label.value] for i in remaining])
            span = candidates[remaining.pop(int(rng.choice(len(weights), p=weights / weights.sum())))]
            chosen_types[span.label.value] += 1
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
        raise InvalidOptionError(f"unknown mask_strategy {spec!r}; expected one of {sorted(MASK_STRATEGIES)}")
    factory = MASK_STRATEGIES[spec]
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise InvalidOptionError(f"mask_strategy {spec!r} is not available: {exc}") from exc
    return factory(**kwargs)  # type: ignore[operator]

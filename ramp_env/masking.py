"""Choosing which salient spans of a passage to mask, and rendering the masked task.

A :class:`MaskStrategy` picks ``k`` spans from a passage's candidates using the
env's random generator. ``"random"`` is built in; other strategies (the
perplexity-based one, for example) register themselves in
:data:`MASK_STRATEGIES` with :func:`register_mask_strategy`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ramp_env.corpus.passage import Passage
from ramp_env.rewards.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan


def mask_token(i: int) -> str:
    """The placeholder for the ``i``-th mask (1-based): ``[mask_i]``."""
    return f"[mask_{i}]"


@dataclass(frozen=True)
class MaskedTask:
    """One RAMP task: a passage with ``k`` salient spans replaced by ``[mask_1]``..``[mask_k]``.

    ``answers[i]`` is the gold text of ``[mask_{i+1}]``; masks are numbered in reading order.
    """

    passage_id: str
    title: str
    text: str
    masked_text: str
    answers: tuple[str, ...]
    span_types: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    @property
    def num_masks(self) -> int:
        return len(self.answers)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mask_passage(passage: Passage, spans: Sequence[SalientSpan]) -> MaskedTask:
    """Replace ``spans`` (non-overlapping) of ``passage.text`` with numbered masks."""
    ordered = sorted(spans, key=lambda s: s.start)
    for a, b in zip(ordered, ordered[1:]):
        if a.end > b.start:
            raise ValueError(f"spans overlap: {a} and {b}")
    pieces: list[str] = []
    cursor = 0
    for i, span in enumerate(ordered, start=1):
        pieces.append(passage.text[cursor : span.start])
        pieces.append(mask_token(i))
        cursor = span.end
    pieces.append(passage.text[cursor:])
    return MaskedTask(
        passage_id=passage.id,
        title=passage.title,
        text=passage.text,
        masked_text="".join(pieces),
        answers=tuple(passage.text[s.start : s.end] for s in ordered),
        span_types=tuple(s.label.value for s in ordered),
        spans=tuple((s.start, s.end) for s in ordered),
    )


def maskable_spans(passage: Passage, spans: Sequence[SalientSpan], show_title: bool = True) -> list[SalientSpan]:
    """Candidates worth masking: the span's text occurs once in the passage (else
    the other occurrence gives it away) and, when the title is shown, is not part of it."""
    title = normalize_answer(passage.title)
    lowered = passage.text.lower()
    keep = []
    for span in spans:
        surface = passage.text[span.start : span.end]
        if lowered.count(surface.lower()) > 1:
            continue
        norm = normalize_answer(surface)
        if not norm:
            continue
        if show_title and title and (norm in title or title in norm):
            continue
        keep.append(span)
    return keep


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
    "ppl": "ramp_env.masking_ppl:PerplexityMaskStrategy",
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

"""A masked RAMP task: which spans of a passage are hidden, and the rendered text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

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

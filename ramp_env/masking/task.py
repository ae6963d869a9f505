"""A masked RAMP task: which spans of a passage are hidden, and the rendered text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ramp_env.corpus.passage import Passage
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan


def mask_token(i: int) -> str:
    """The placeholder for the ``i``-th mask (1-based): ``[mask_i]``."""
    return f"[mask_{i}]"


@dataclass(frozen=True)
class MaskedTask:
    """One RAMP task: a passage with ``k`` salient spans replaced by ``[mask_1]``..``[mask_k]``.

    ``answers[i]`` is the gold text of ``[mask_{i+1}]``; masks are numbered in reading order.
    ``evidence_ids[i]`` are the ids of other passages that state ``answers[i]``, best first
    (:mod:`ramp_env.masking.evidence`; empty when unsupported or not computed). Like the
    answers, they are for evaluation code, never for the agent.
    """

    passage_id: str
    title: str
    text: str
    masked_text: str
    answers: tuple[str, ...]
    span_types: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    evidence_ids: tuple[tuple[str, ...], ...] = ()

    @property
    def num_masks(self) -> int:
        return len(self.answers)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mask_passage(
    passage: Passage,
    spans: Sequence[SalientSpan],
    evidence: Mapping[tuple[int, int], Sequence[str]] | None = None,
) -> MaskedTask:
    """Replace ``spans`` (non-overlapping) of ``passage.text`` with numbered masks.
    ``evidence`` maps a span's ``(start, end)`` to its evidence passage ids."""
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
        evidence_ids=tuple(tuple(evidence.get((s.start, s.end), ())) for s in ordered) if evidence is not None else (),
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

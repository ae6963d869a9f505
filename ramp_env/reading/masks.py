"""What the masked passage says around each ``[mask_i]``, and the queries and kinds read from it.

* :func:`mask_contexts`: the words around each ``[mask_i]`` in its sentence;
* :func:`build_query`: a search query for one mask from a fixed set of :data:`QUERY_TEMPLATES`;
* :func:`guess_mask_kind`: how likely the mask hides a date, a number or a name, from its context.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ramp_env.errors import InvalidOptionError
from ramp_env.text.analysis import analyze
from ramp_env.text.spans import SpanType
from ramp_env.text.stop_terms import content_terms, stop_terms
from ramp_env.text.tokenize import sentence_spans

MASK_PATTERN = re.compile(r"\[mask_(\d+)\]")

# Coarse kinds a mask can hide. The env's span types are finer (PERSON, ORG, ...)
# but a mask's context rarely tells a person from an organisation, while it
# often tells a date ("in [mask_1] BC") or a number ("[mask_1] km") from a name.
KINDS = ("date", "number", "name")
KIND_OF: dict[SpanType, str] = {SpanType.DATE: "date", SpanType.NUMBER: "number"}

QUERY_TEMPLATES = ("title+near", "near", "title+sentence")
"""Query templates: the title and the content words nearest the mask; those words
alone; the title and every content word of the mask's sentence. (A fourth, the
sentence's words without the title, changed the heuristic agent's 1-mask reward
by -0.003 on 300 default-corpus tasks, so it is not offered.)"""

NEAR_WORDS = 6  # content words each side of the mask used by the "near" templates


def kind_of(label: SpanType) -> str:
    return KIND_OF.get(label, "name")


@dataclass(frozen=True)
class MaskContext:
    """The sentence around ``[mask_<number>]``: analysed terms before it (nearest
    first) and after it (nearest first), other masks removed."""

    number: int
    sentence: str
    left: tuple[str, ...]
    right: tuple[str, ...]

    @functools.cached_property
    def weights(self) -> dict[str, float]:
        """Content terms of the sentence weighted by closeness to the mask (1 next to it)."""
        return proximity_weights(self.left, self.right)

    def near_terms(self, n: int = NEAR_WORDS) -> list[str]:
        stops = stop_terms()
        left = [t for t in self.left if t not in stops][:n]
        right = [t for t in self.right if t not in stops][:n]
        return list(reversed(left)) + right


def proximity_weights(left: Sequence[str], right: Sequence[str], scale: float = 4.0) -> dict[str, float]:
    """Content terms at distance ``d`` from a slot (0 = adjacent) weigh ``scale / (scale + d)``."""
    stops = stop_terms()
    weights: dict[str, float] = {}
    for side in (left, right):
        for distance, term in enumerate(side):
            if term in stops:
                continue
            w = scale / (scale + distance)
            if w > weights.get(term, 0.0):
                weights[term] = w
    return weights


def mask_contexts(masked_text: str) -> dict[int, MaskContext]:
    """The context of every ``[mask_i]`` in ``masked_text``, by mask number."""
    contexts: dict[int, MaskContext] = {}
    for s_start, s_end in sentence_spans(masked_text):
        sentence = masked_text[s_start:s_end]
        for m in MASK_PATTERN.finditer(sentence):
            number = int(m.group(1))
            left = MASK_PATTERN.sub(" ", sentence[: m.start()])
            right = MASK_PATTERN.sub(" ", sentence[m.end() :])
            contexts.setdefault(
                number, MaskContext(number, sentence, tuple(reversed(analyze(left))), tuple(analyze(right)))
            )
    for m in MASK_PATTERN.finditer(masked_text):  # a mask the sentence splitter cut through
        number = int(m.group(1))
        if number not in contexts:
            left = MASK_PATTERN.sub(" ", masked_text[max(0, m.start() - 200) : m.start()])
            right = MASK_PATTERN.sub(" ", masked_text[m.end() : m.end() + 200])
            contexts[number] = MaskContext(number, "", tuple(reversed(analyze(left))), tuple(analyze(right)))
    return contexts


def build_query(context: MaskContext, title: str, template: str, max_terms: int = 24) -> str:
    """A search query for one mask from a :data:`QUERY_TEMPLATES` entry."""
    if template == "title+near":
        words = [title, *context.near_terms()]
    elif template == "near":
        words = context.near_terms()
    elif template == "title+sentence":
        words = [title, *content_terms(MASK_PATTERN.sub(" ", context.sentence))[:max_terms]]
    else:
        raise InvalidOptionError(f"unknown query template {template!r}; expected one of {QUERY_TEMPLATES}")
    query = " ".join(w for w in words if w).strip()
    return query or title or "the"


# Context words that make a kind likely, as analysed terms (stemmed, lowercase).
_ERA = {"bc", "ad", "bce", "ce"}
_MONTHS = set(
    analyze("january february march april may june july august september october november december")
)
_DATE_BEFORE = set(analyze("in on since until till by during between from after before circa c year early late mid"))
_NUMBER_AFTER = set(
    analyze(
        "million billion trillion thousand hundred percent per cent km kilometres metres meters miles "
        "kg tonnes tons feet acres hectares people inhabitants residents years days hours times species "
        "members students square degrees"
    )
)
_NUMBER_BEFORE = set(analyze("about approximately over nearly some than estimated almost around total of population"))


def guess_mask_kind(context: MaskContext) -> dict[str, float]:
    """P(kind) of the hidden span from its neighbouring words (a small rule set).

    One piece of evidence among several for the candidate scorer, and a feature of
    the wrapper's observation; its fitted weight is small (the neighbouring words
    themselves, compared with each candidate's, carry most of this signal).
    """
    before = context.left[0] if context.left else ""
    after = context.right[0] if context.right else ""
    if after in _ERA:
        return {"date": 0.9, "number": 0.05, "name": 0.05}
    if before in _MONTHS or after in _MONTHS:
        return {"date": 0.85, "number": 0.1, "name": 0.05}
    if after in _NUMBER_AFTER:
        return {"date": 0.1, "number": 0.8, "name": 0.1}
    if before in _NUMBER_BEFORE:
        return {"date": 0.15, "number": 0.5, "name": 0.35}
    if before in _DATE_BEFORE:
        return {"date": 0.45, "number": 0.1, "name": 0.45}
    return {"date": 0.15, "number": 0.15, "name": 0.7}

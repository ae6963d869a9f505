"""Near copies of a passage: what they are, and how to find them through the search engine.

A RAMP task hides facts of a *source* passage; if a copy of that passage comes
back from a search, the agent reads the answers instead of finding them. Corpora
hold such copies (mirrored articles, revisions, boilerplate, deliberately planted
look-alikes), so the env excludes not only the source id but every near copy.

Definition
----------
Both texts are put in the canonical form of :mod:`ramp_env.text.canonical`,
the one the search engine uses too:

1. HTML character references decoded (``&nbsp;``, ``&#32;``; corpus text is
   decoded when it is loaded, other text here),
2. words split exactly where the search index splits them (runs of Unicode
   alphanumerics: ``_``, ``™``, NBSP and any other symbol or punctuation separate
   words, so a copy whose words are joined by them is the same words to the check
   as it is to search),
3. each word folded: Unicode NFKC (full-width letters, ligatures such as "ﬁ"),
   look-alikes with :func:`anyascii.anyascii` (Cyrillic "а", Greek "ο", accented
   letters become their ASCII transliteration, so a homoglyph swap changes
   nothing) and ``casefold`` (case and whitespace variants are identical).

Each text becomes the *set* of its word :data:`SHINGLE_SIZE`-grams ("shingles").
The similarity of two texts is the **containment of the smaller set in the
larger**, ``|A ∩ B| / min(|A|, |B|)``: a passage that is the source's first
half, or the source plus one sentence, is fully contained (similarity 1.0), where
Jaccard would give 0.5. Two texts are near-duplicates when

1. the similarity is at least :data:`NEAR_DUPLICATE_THRESHOLD` (0.6), or
2. the longest common subsequence of their canonical words covers at least
   :data:`ALIGNED_THRESHOLD` (0.9) of the shorter text, when the shorter has at
   least :data:`MIN_ALIGNED_WORDS` (12) words: a word inserted after every word
   of the source (filler, or the source's own words) breaks every 3-gram but
   keeps the source's words in order.

The source's title is not compared (the same text under another title is a
copy); a hit is checked with its title and text, all the agent is shown of it (a
copy of the source put in the title field is a copy too).

Partial and disguised copies: what counts as a leak
---------------------------------------------------
What is excluded is the source's **wording**; a passage that states the source's
facts in other wording is another passage: search returns it, and it is evidence
when it states a masked fact (:mod:`ramp_env.masking.evidence`). So:

* **a copy** (never returned, never evidence): the source whole, alone or inside
  a longer passage; any part of it standing alone (one sentence, the first half);
  the source with words inserted between its words; with its words joined by
  separators or entities, look-alike letters, other case or spacing; with a few
  words changed (by criterion 1).
* **another passage**: one sentence or half of the source inside a passage at least
  as long as the source (under 60% of the shorter text's 3-grams); the source with
  every third word changed or its words swapped for synonyms (no 3-gram and no
  long subsequence survive).

Why the line is there. A passage with every third word changed cannot be told
from an independent statement of the same facts by wording: templated siblings
("Isfahan is a city in the Central District of Isfahan County ..." and Ahvaz's)
differ from each other exactly as a copy whose names were changed does. Measured
on the default corpus (``benchmarks/partial_copies.py``,
``benchmarks/results/partial_copies.json``: 300 passages, seed 0): the two
criteria count 0 of the 3,000 best BM25 neighbours as copies (criterion 2's
maximum there is 0.72; where chance alignment is likeliest, 264 sources of 12-30
words against their 50 best neighbours, titles included, its maximum is 0.83 of
13,200 pairs, none at 0.9), and count as copies 99.7% of sources with a filler word
after each word (the one miss is shorter than 12 words), 100% of first halves and
single sentences standing alone and of sources inside a longer passage, 5.7% of
first halves inside a longer passage and 11.3% of single sentences inside one
(short and one-sentence sources), 0% of every-third-word copies. The
order-robust measures that would catch those (the subsequence of content words
at 0.6, containment after dropping the hit's words the source lacks) count 5 and
4 of the 3,000 real neighbours as copies (Isfahan/Ahvaz, Pelé/Maradona), and the
first still misses 13% of every-third-word copies. Whoever writes a corpus
decides its facts anyway: corpus content is trusted input, its wording is what
the env checks.

Why these constants. A changed word breaks the ``n`` shingles that hold it, so a
copy with ``e`` edits keeps about ``1 - e*n/len`` of its shingles: 3-word
shingles keep a 20-word passage with one edit at 0.83, where 5-word shingles
would drop a 12-word passage with one edit to 0.25. Shared 3-grams between
*different* passages come from common phrases and templates ("X is a city in the
Central District of X County"), so the threshold sits above what unrelated
neighbours reach. Measured on the default corpus (``benchmarks/near_duplicates.py``,
``benchmarks/results/near_duplicates.json``: 300 random passages, their 10 best
BM25 neighbours, seed 0): neighbours have median 0.0, 99th percentile 0.17 and
maximum 0.58 (two templated city stubs), none reaches 0.6; synthetic copies with
one word changed reach 0.6 in 99.7% of passages (1st percentile 0.84), with four
words changed in 97.7%, first halves and copies plus a sentence in 100%. Very
short passages (under ~12 words) with an edit can fall below the threshold: too
few shingles survive to tell an edited copy from a templated sibling. A text
shorter than a shingle is one shorter shingle, so it only matches the same
words; texts with no words are never near-duplicates of anything.

Finding copies
--------------
:func:`near_duplicate_ids` never scans the corpus: it queries the retriever with
windows of the passage's own words (a copy shares almost all of them, so it ranks
at the top), verifies each hit with :func:`is_near_duplicate`, and pages deeper
while the verified copies fill a page (a corpus with 50 copies still yields all
50). :class:`NearDuplicateFinder` caches the result per passage id.

No MinHash (``datasketch``): candidates come from the search engine, a handful
per passage, so exact set containment is cheap and has no estimation error.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from typing import Protocol

from ramp_env.retrieval.base import Retriever
from ramp_env.text.canonical import canonical_words, index_words

SHINGLE_SIZE = 3
NEAR_DUPLICATE_THRESHOLD = 0.6
# the second criterion, for words inserted between the source's words (module docs)
ALIGNED_THRESHOLD = 0.9
MIN_ALIGNED_WORDS = 12
# words per search query: far below the backends' 256-term query cap, so every
# part of a long passage is searched by some window
QUERY_WINDOW_WORDS = 120
MAX_QUERY_WINDOWS = 6
# hits checked per query, first page; doubled while a page is all copies
FIRST_PAGE = 16
MAX_CANDIDATES = 4096


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


def _grams(words: list[str], size: int = SHINGLE_SIZE) -> frozenset[tuple[str, ...]]:
    if not words:
        return frozenset()
    if len(words) < size:
        return frozenset({tuple(words)})
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def shingles(text: str, size: int = SHINGLE_SIZE) -> frozenset[tuple[str, ...]]:
    """The set of word ``size``-grams of the canonical form of ``text``."""
    return _grams(canonical_words(text), size)


def _lcs_length(masks: dict[str, int], length: int, other: list[str]) -> int:
    """Longest common subsequence of a word list (given as the bit ``masks`` of each word's positions)
    and ``other``. Bit-parallel (Hyyrö 2004): one big-integer step per word of ``other``, so a
    300-word hit costs ~0.1 ms where the textbook table would cost 60k Python steps."""
    full = (1 << length) - 1
    v = full
    for word in other:
        u = v & masks.get(word, 0)
        v = ((v + u) | (v - u)) & full
    return length - v.bit_count()


class CopyCheck:
    """The near-copy test of one text (the task's source) against many others, the source's
    canonical words, shingles and word positions computed once (see module docs)."""

    __slots__ = ("_masks", "shingles", "words")

    def __init__(self, text: str) -> None:
        self.words = canonical_words(text)
        self.shingles = _grams(self.words)
        self._masks: dict[str, int] = {}
        for i, word in enumerate(self.words):
            self._masks[word] = self._masks.get(word, 0) | (1 << i)

    def aligned_share(self, words: list[str]) -> float:
        """Longest common subsequence of the two word lists over the shorter one's length (0.0
        when the shorter has fewer than :data:`MIN_ALIGNED_WORDS` words)."""
        shorter = min(len(self.words), len(words))
        if shorter < MIN_ALIGNED_WORDS:
            return 0.0
        # an upper bound first: most hits share too few words to need the subsequence
        if sum(1 for w in words if w in self._masks) < ALIGNED_THRESHOLD * shorter:
            return 0.0
        return _lcs_length(self._masks, len(self.words), words) / shorter

    def is_copy(self, text: str, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> bool:
        """Whether ``text`` is a near copy of this text (either criterion of the module docs)."""
        words = canonical_words(text)
        if containment(self.shingles, _grams(words)) >= threshold:
            return True
        return self.aligned_share(words) >= ALIGNED_THRESHOLD


def containment(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """``|a ∩ b| / min(|a|, |b|)``; 0.0 when either set is empty."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return sum(1 for s in small if s in large) / len(small)


def near_duplicate_similarity(a: str, b: str) -> float:
    """Containment of the smaller text's word-3-gram shingles in the larger's, in [0, 1]."""
    return containment(shingles(a), shingles(b))


def is_near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> bool:
    """True when ``a`` and ``b`` are the same text up to look-alikes, case, spacing, separators,
    a few edits, words inserted between the words, or one being (mostly) contained in the other
    (see module docs)."""
    return CopyCheck(a).is_copy(b, threshold)


def _query_windows(text: str) -> list[str]:
    words = index_words(text)
    if not words:
        return []
    step = QUERY_WINDOW_WORDS
    windows = [" ".join(words[i : i + step]) for i in range(0, len(words), step)]
    if len(windows) > MAX_QUERY_WINDOWS:  # spread the windows over the whole passage
        pick = [round(i * (len(windows) - 1) / (MAX_QUERY_WINDOWS - 1)) for i in range(MAX_QUERY_WINDOWS)]
        windows = [windows[i] for i in sorted(set(pick))]
    return windows


def near_duplicate_ids(
    passage: _HasText,
    retriever: Retriever,
    exclude_ids: Collection[str] = (),
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> frozenset[str]:
    """Ids of the passages the retriever can return that are near-duplicates of ``passage.text``.

    Found through search only (see module docs); ``exclude_ids`` (typically the
    passage's own id) are neither searched for nor returned. Hits whose text
    equals the passage's after canonicalisation are copies too.
    """
    source = CopyCheck(passage.text)
    if not source.words:
        return frozenset()
    skip = set(exclude_ids)
    found: set[str] = set()
    for query in _query_windows(passage.text):
        k = FIRST_PAGE
        while True:
            hits = retriever.search(query, k, exclude_ids=skip | found)
            # title and text: a copy in the title field is shown to the agent as well
            copies = {h.passage_id for h in hits if source.is_copy(f"{h.title}\n{h.text}", threshold)}
            found |= copies
            # a page that was all copies may hide more behind it: look deeper
            if len(hits) < k or len(copies) < len(hits) or k >= MAX_CANDIDATES:
                break
            k *= 2
    return frozenset(found)


class NearDuplicateFinder:
    """:func:`near_duplicate_ids` with a per-passage-id LRU cache, for one retriever."""

    def __init__(self, retriever: Retriever, threshold: float = NEAR_DUPLICATE_THRESHOLD, cache_size: int = 4096):
        self.retriever = retriever
        self.threshold = threshold
        self.cache_size = cache_size
        self._cache: OrderedDict[str, frozenset[str]] = OrderedDict()

    def ids(self, passage_id: str, text: str) -> frozenset[str]:
        """Near copies of the passage ``passage_id`` with ``text`` (never including ``passage_id``)."""
        cached = self._cache.get(passage_id)
        if cached is not None:
            self._cache.move_to_end(passage_id)
            return cached
        found = near_duplicate_ids(_Text(text), self.retriever, exclude_ids=(passage_id,), threshold=self.threshold)
        self._cache[passage_id] = found
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return found


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


__all__ = [
    "ALIGNED_THRESHOLD",
    "MIN_ALIGNED_WORDS",
    "NEAR_DUPLICATE_THRESHOLD",
    "SHINGLE_SIZE",
    "CopyCheck",
    "NearDuplicateFinder",
    "canonical_words",
    "containment",
    "is_near_duplicate",
    "near_duplicate_ids",
    "near_duplicate_similarity",
    "shingles",
]

"""Does a passage state the same fact as a masked span? The evidence criterion, version 2.

Version 1 accepted a passage when a sentence held the answer and shared a few context words
with the mask's sentence. Readers who never saw the code found that only 42-47% of its top
evidence stated the masked fact: the rest were *parallel sentences* (the same frame about
another subject: Elvis Presley's birth year for Michael Jackson's), a number dating another
event, the answer inside a list or a compound, or a passage naming the subject far from the
fact. No single cheap signal separates these (each stops near 0.65-0.70 precision on the
labels), so version 2 combines several, read from a dependency parse of the two sentences:

* **where the fact's subject is** -- the *subjects* of a fact are the source's title (without
  its disambiguation; a person's surname too) and the named grammatical subject of the mask's
  sentence when it is not the answer. An evidence sentence is *about* a subject when it, or
  the sentence before it, names one, or when the evidence passage is from the subject's own
  article (its title names the subject). There is no path without the subject: a near
  paraphrase about nobody in particular was right one time in five.
* **a competing subject** -- the evidence sentence's own grammatical subject is a named
  entity that is neither a subject of the fact nor the answer ("Presley was born in 1935"):
  a parallel frame, rejected.
* **the same relation** -- the answer's governor (the nearest verb or noun above it in the
  parse, e.g. "born" for a birth year, "capital" for a city) is the same word (stem) in both
  sentences, or one of the mask sentence's context words.
* **shared context** -- content words (stemmed, no stop words) of the mask's sentence found
  in the evidence sentence, as in version 1.
* **the answer's position** -- inside a hyphenated compound ("one-child") or as one item of
  an enumeration of three or more, the sentence does not state a relation for it.
* **the same time** -- when both sentences date their statement with years (other than the
  answer) and share none, they report different events ("proclaimed in 2010" vs "in 2003").
* **type agreement** -- when the parser's entity recogniser types the answer in the evidence
  sentence, the type must agree with the span's.

A missing subject, a competing subject, a compound or a type clash rejects the sentence
outright; the rest add up to a score (:func:`fact_score`) and a sentence needs
:data:`MIN_SCORE` points. Other thresholds trade recall for precision: the labelled set's
curve is in ``benchmarks/results/evidence_v2.json``.

:func:`check_fact` returns a :class:`FactVerdict` with the acceptance path and the sentences
relied on, so a user can audit why a mask counts as answerable (``ramp-env evidence``). The
constants below were set on the tuning half of the two-reader labelled set
(``tests/masking/fixtures/evidence_labels_v2.jsonl``); the other half was scored once
(``benchmarks/results/evidence_v2.json``). This is the ``"fact"`` evidence criterion
(``RAMPEnv(evidence_criterion="fact")``); the default ``"context"`` criterion is version 1.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ramp_env.corpus.passage import Passage
from ramp_env.masking.fact_context import PARENTHESES, context_terms, sentence_bounds, sentences
from ramp_env.masking.fact_context import find_tokens as _find
from ramp_env.retrieval.base import analyze
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import DEFAULT_SPACY_MODEL, SPACY_LABELS, SalientSpan, SpanType

FACT_CHECK_VERSION = 1  # bump when a rule or constant changes: caches of the "fact" criterion are keyed by it
# -- constants (set on the tuning half; see the module docs) ---------------------------------
CONTEXT_STEPS = (0.2, 0.35, 0.5)  # shares of the mask sentence's context words worth a point each
VALUE_EXTRA = 1  # a date or number answer needs one more point: values recur across events
MIN_SCORE = 4  # points an evidence sentence needs (see fact_score); the published curve shows others
ATTACHED_DISTANCE = 2  # tree edges from the answer to a named entity it describes (see SourceFact)
LIST_ITEMS = 3  # an enumeration of this many conjuncts or more holds no relation for one item

_YEAR = re.compile(r"(?<![\d.,])(1[0-9]{3}|20[0-9]{2})(?![\d.,]\d)")
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})
_ENTITY_POS = frozenset({"PROPN"})
_GOVERNOR_POS = frozenset({"VERB", "NOUN", "ADJ", "AUX"})
_PRONOUNS = frozenset({"he", "she", "it", "they", "his", "her", "its", "their", "who", "which", "this", "these"})


@dataclass(frozen=True)
class FactVerdict:
    """Why a passage does or does not state a masked fact.

    ``path`` is how it was accepted (``"own-article"``: the evidence passage is from the
    subject's article; ``"subject-named"``: the sentence or the one before names the subject)
    or, when rejected, the first rule that failed (``"no-answer"``, ``"no-subject"``,
    ``"competing-subject"``, ``"answer-in-compound"``, ``"type-mismatch"``, ``"other-date"``, ``"answer-in-list"``,
    ``"weak-relation"``: too few points, see :func:`fact_score`). ``sentences`` are the evidence sentence(s) relied on (for a rejection,
    the best candidate sentence); ``details`` the signals measured.
    """

    supported: bool
    path: str
    sentences: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=2)
def _nlp(model: str = DEFAULT_SPACY_MODEL) -> Any:
    import spacy

    # the parser and the tagger are what this module reads; the span extractor's own
    # pipeline leaves them out for speed, so this is a second, fuller load (about 2 s, once)
    return spacy.load(model)


@functools.lru_cache(maxsize=8192)
def _parse(sentence: str) -> Any:
    return _nlp()(sentence)


# kept for the sentences seen lately: a candidate's sentence is tokenised to find the answer,
# again for its features, and once more as the next sentence's "previous"
@functools.lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(normalize_answer(text).split())


def subject_names(title: str) -> list[tuple[str, ...]]:
    """Normalised names of an article's subject: the title without its disambiguation and,
    for a multi-word title, its last word when that is a capitalised name (a person's
    surname: "Presley" for "Elvis Presley")."""
    bare = PARENTHESES.sub("", title).strip()
    names = [_tokens(bare)]
    words = bare.split()
    if len(words) >= 2 and words[-1][:1].isupper() and len(words[-1]) > 3 and "," not in bare:
        names.append(_tokens(words[-1]))
    return [n for n in names if n]


def _names_any(tokens: Sequence[str], names: Sequence[tuple[str, ...]]) -> bool:
    return any(_find(tokens, n) >= 0 for n in names)


def names_subject(text: str, title: str) -> bool:
    """Whether ``text`` names the subject of the article ``title`` (one of :func:`subject_names`)."""
    return _names_any(_tokens(text), subject_names(title))


def _char_span_tokens(doc: Any, start: int, end: int) -> list[Any]:
    return [t for t in doc if t.idx < end and t.idx + len(t.text) > start]


def _governor(tokens: list[Any]) -> Any | None:
    """The nearest verb, noun or adjective above the answer's tokens in the parse."""
    if not tokens:
        return None
    inside = {t.i for t in tokens}
    root = next((t for t in tokens if t.head.i not in inside or t.head.i == t.i), tokens[0])
    head = root.head
    for _ in range(6):
        if head.i == root.i or head.i in inside:
            return None
        if head.pos_ in _GOVERNOR_POS:
            return head
        if head.head.i == head.i:
            return head
        head = head.head
    return None


def _stem(word: str) -> str:
    terms = analyze(word)
    return terms[0] if terms else word.lower()


def _grammatical_subject(doc: Any) -> Any | None:
    roots = [t for t in doc if t.dep_ == "ROOT"]
    for root in roots:
        for child in root.children:
            if child.dep_ in _SUBJECT_DEPS:
                return child
    return None


def _subject_phrase(token: Any) -> str:
    """The named phrase of a subject token (its compound and flat modifiers)."""
    parts = [t for t in token.subtree if t.dep_ in ("compound", "flat", "amod") or t.i == token.i]
    parts = [t for t in parts if t.pos_ in _ENTITY_POS or t.i == token.i]
    return " ".join(t.text for t in sorted(parts, key=lambda t: t.i))


def _in_list(tokens: list[Any]) -> bool:
    """The answer is one item of an enumeration of :data:`LIST_ITEMS` or more conjuncts."""
    if not tokens:
        return False
    inside = {t.i for t in tokens}
    head = next((t for t in tokens if t.head.i not in inside or t.head.i == t.i), tokens[0])
    first = head
    while first.dep_ == "conj" and first.head.i != first.i:
        first = first.head
    return 1 + len(list(first.conjuncts)) >= LIST_ITEMS if first.conjuncts else False


def _in_compound(text: str, start: int, end: int) -> bool:
    """The answer is glued to a word by a hyphen ("one-child", "Sino-Tibetan")."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return (before in "-‐" and start > 1 and text[start - 2].isalnum()) or (
        after in "-‐" and end + 1 < len(text) and text[end + 1].isalnum()
    )


def _entity_type(doc: Any, start: int, end: int) -> SpanType | None:
    for ent in doc.ents:
        if ent.start_char <= start and end <= ent.end_char:
            return SPACY_LABELS.get(ent.label_)
    return None


# types whose NER confusions are frequent and harmless to the fact (spaCy calls a year a
# CARDINAL, a nationality a language): agreement is checked between these groups only
_TYPE_GROUP = {
    SpanType.PERSON: "person", SpanType.ORG: "named", SpanType.PLACE: "named", SpanType.WORK: "named",
    SpanType.EVENT: "named", SpanType.NORP: "group", SpanType.DATE: "value", SpanType.NUMBER: "value",
}


class SourceFact:
    """What the criterion needs of one masked span, computed once, checked against many passages."""

    def __init__(self, source: Passage, span: SalientSpan, min_score: int | None = None) -> None:
        self.min_score = min_score
        self.source = source
        self.span = span
        self.answer = _tokens(source.text[span.start : span.end])
        a, b = sentence_bounds(source.text, span.start, span.end)
        self.sentence = source.text[a:b]
        doc = _parse(self.sentence)
        answer_tokens = _char_span_tokens(doc, span.start - a, span.end - a)
        governor = _governor(answer_tokens)
        self.governor = _stem(governor.text) if governor is not None else None
        self.context = context_terms(source, span)
        self.names = subject_names(source.title)
        subject = _grammatical_subject(doc)
        if subject is not None and subject.pos_ in _ENTITY_POS and not (
            {t.i for t in subject.subtree} & {t.i for t in answer_tokens}
        ):
            phrase = _tokens(_subject_phrase(subject))
            if phrase and phrase not in self.names:
                self.names.append(phrase)
        self.type_group = _TYPE_GROUP.get(span.label)
        # an answer listed in the source is stated by an evidence list of the same items
        self.listed = _in_list(answer_tokens)
        # the years that date the source's statement, besides the answer itself
        self.years = _years(self.sentence) - _years(source.text[span.start : span.end])
        self.answer_years = _years(" ".join(self.answer))

    def check(self, evidence: Passage) -> FactVerdict:
        """Whether ``evidence`` states this fact, and why (see the module docs)."""
        if not self.answer or _find(_tokens(evidence.text), self.answer) < 0:
            return FactVerdict(False, "no-answer")
        own_article = _names_any(_tokens(PARENTHESES.sub("", evidence.title)), self.names[:1])
        best: FactVerdict | None = None
        spans = sentences(evidence.text)
        for i, (a, b) in enumerate(spans):
            sentence = evidence.text[a:b]
            if _find(_tokens(sentence), self.answer) < 0:
                continue
            previous = evidence.text[spans[i - 1][0] : spans[i - 1][1]] if i else ""
            verdict = self._check_sentence(sentence, previous, own_article)
            if verdict.supported:
                return verdict
            if best is None or _RANK[verdict.path] > _RANK[best.path]:
                best = verdict
        return best or FactVerdict(False, "no-answer")

    def _check_sentence(self, sentence: str, previous: str, own_article: bool) -> FactVerdict:
        features = self.sentence_features(sentence, previous, own_article)
        quoted = (previous, sentence) if features["subject_nearby"] and not features["subject_in_sentence"] else (sentence,)
        supported, path = decide(features, self.min_score)
        return FactVerdict(supported, path, quoted, features)

    def sentence_features(self, sentence: str, previous: str, own_article: bool) -> dict[str, Any]:
        """The signals of the module docs for one evidence sentence holding the answer."""
        tokens = _tokens(sentence)
        here = _names_any(tokens, self.names)
        near = here or _names_any(_tokens(previous), self.names)
        f: dict[str, Any] = {"subject_in_sentence": here, "subject_nearby": near, "own_article": own_article}
        if not (near or own_article):
            return f  # decide() rejects it before reading anything else: no parse
        doc = _parse(sentence)
        where = _answer_chars(sentence, self.answer)
        answer_tokens = _char_span_tokens(doc, *where) if where else []
        subject = _grammatical_subject(doc)
        f["competing_subject"] = (
            _subject_phrase(subject) if subject is not None and self._competes(subject, answer_tokens)
            else None
        )
        f["in_compound"] = bool(where) and _in_compound(sentence, *where)
        other_years = _years(sentence) - self.answer_years
        f["other_date"] = bool(self.years and other_years and not self.years & other_years)
        f["in_list"] = _in_list(answer_tokens) and not self.listed
        found = _entity_type(doc, *where) if where else None
        f["type_mismatch"] = (
            found is not None and self.type_group is not None and _TYPE_GROUP.get(found) not in (None, self.type_group)
        )
        governor = _governor(answer_tokens)
        stem = _stem(governor.text) if governor is not None else None
        f["governor"], f["source_governor"] = stem, self.governor
        f["same_governor"] = stem is not None and stem == self.governor
        f["governor_in_context"] = stem is not None and stem in self.context
        f["shared_context"] = len(self.context.intersection(analyze(sentence)))
        f["context_size"] = len(self.context)
        f["value_answer"] = self.type_group == "value"
        return f

    def _competes(self, subject: Any, answer_tokens: list[Any]) -> bool:
        """The sentence's grammatical subject is another named entity (a parallel frame)."""
        if subject.pos_ not in _ENTITY_POS or subject.lower_ in _PRONOUNS:
            return False
        phrase_ids = {t.i for t in subject.subtree}
        if phrase_ids & {t.i for t in answer_tokens}:
            return False  # the answer is the subject ("Aristotle was a student of Plato")
        phrase = _tokens(_subject_phrase(subject))
        if not phrase:  # a subject that normalises to nothing ("A", a symbol) names no competing entity
            return False
        return not any(_find(phrase, n) >= 0 or _find(n, phrase) >= 0 for n in self.names)


def fact_score(f: dict[str, Any]) -> int:
    """Points for one evidence sentence that passed the vetoes: the same relation (governor)
    2, the subject named in the sentence itself 1, the share of the mask sentence's context
    words found in it 1 per step (0.2, 0.35, 0.5), minus 2 for an answer inside a list."""
    share = f["shared_context"] / max(1, f["context_size"])
    score = 2 * f["same_governor"] + f["subject_in_sentence"] + sum(share >= step for step in CONTEXT_STEPS)
    return score - 2 * f["in_list"]


def context_required(min_score: int | None = None) -> bool:
    """Whether a sentence sharing none of the mask sentence's context words falls short of
    ``min_score`` (default :data:`MIN_SCORE`) even with every other point: then a passage
    sharing none can be rejected without a parse (:class:`~ramp_env.masking.evidence.CheckedFact`)."""
    best = fact_score({"same_governor": True, "subject_in_sentence": True, "shared_context": 0, "context_size": 1,
                       "in_list": False})
    return best < (MIN_SCORE if min_score is None else min_score)


def decide(f: dict[str, Any], min_score: int | None = None) -> tuple[bool, str]:
    """Accept or reject one evidence sentence from its features: ``(supported, path)``.
    ``min_score`` (default :data:`MIN_SCORE`) picks a point on the precision/recall curve."""
    if not (f["subject_nearby"] or f["own_article"]):
        return False, "no-subject"
    if f["competing_subject"]:
        return False, "competing-subject"
    if f["in_compound"]:
        return False, "answer-in-compound"
    if f["type_mismatch"]:
        return False, "type-mismatch"
    if f["other_date"]:
        return False, "other-date"
    f["score"] = fact_score(f)
    needed = (MIN_SCORE if min_score is None else min_score) + VALUE_EXTRA * f["value_answer"]
    if f["score"] < needed:
        return False, "answer-in-list" if f["in_list"] else "weak-relation"
    return True, "own-article" if f["own_article"] and not f["subject_nearby"] else "subject-named"


_RANK = {
    "no-answer": 0, "no-subject": 1, "competing-subject": 2, "answer-in-compound": 3, "answer-in-list": 3,
    "type-mismatch": 3, "other-date": 3, "weak-relation": 4,
}


def _years(text: str) -> set[str]:
    return set(_YEAR.findall(text))


def _answer_chars(sentence: str, answer: Sequence[str]) -> tuple[int, int] | None:
    """Character span of the answer's first whole-token occurrence in ``sentence``."""
    pattern = r"\W+".join(re.escape(w) for w in answer)
    for m in re.finditer(rf"(?<!\w){pattern}(?!\w)", sentence, flags=re.IGNORECASE):
        if _tokens(m.group(0)) == tuple(answer):
            return m.start(), m.end()
    return None


def check_fact(source: Passage, span: SalientSpan, evidence: Passage, min_score: int | None = None) -> FactVerdict:
    """Whether ``evidence`` states the fact behind ``span`` of ``source`` (pure text: near copies
    are the caller's job; :func:`ramp_env.masking.verify.verify_evidence` applies every rule)."""
    return SourceFact(source, span, min_score).check(evidence)


__all__ = ["FACT_CHECK_VERSION", "MIN_SCORE", "FactVerdict", "SourceFact", "check_fact", "context_required", "decide",
           "fact_score", "names_subject", "subject_names"]

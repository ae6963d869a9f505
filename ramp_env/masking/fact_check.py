"""Does a passage state the same fact as a masked span? The evidence criterion, version 2.

Version 1 accepted a passage when a sentence held the answer and shared a few context words
with the mask's sentence. Readers who never saw the code found that only 42-47% of its top
evidence stated the masked fact: the rest were *parallel sentences* (the same frame about
another subject: Elvis Presley's birth year for Michael Jackson's), a number dating another
event, the answer inside a list or a compound, or a passage naming the subject far from the
fact. No single cheap signal separates these (each stops near 0.65-0.70 precision on the
labels), so this module measures several for each evidence sentence holding the answer:

* **where the fact's subject is** -- the *subjects* of a fact are the source's title (without
  its disambiguation; a person's surname too) and the named grammatical subject of the mask's
  sentence when it is not the answer: named in the sentence, in the one before, anywhere in
  the passage, or the passage is the subject's own article; or the evidence passage's title,
  or its sentence's grammatical subject, is named in the mask's sentence (the evidence is
  about another participant of the fact: "Rudolf Diesel was a German engineer").
* **a competing subject** -- the evidence sentence's own grammatical subject is a named
  entity that is none of the above ("Presley was born in 1935"): a parallel frame.
* **the same relation** -- the answer's governor (the nearest verb or noun above it in the
  parse) is the same word (stem) in both sentences, or one of the mask sentence's context
  words; the words next to the answer are the same.
* **shared context** -- content words (stemmed, no stop words) of the mask's sentence found
  in the evidence sentence, as in version 1; shared and new proper nouns.
* **the answer's position** -- inside a hyphenated compound ("one-child"), one item of an
  enumeration of three or more, or the sentence's subject.
* **the same time** -- both sentences dated by the same year, or by different ones.
* **type agreement** -- the parser's entity type for the answer in the evidence sentence.
* **meaning** -- MiniLM cosines between the two sentences, plain and with each passage's
  title in front (a parallel frame about another subject reads as a paraphrase plainly, less
  so once each sentence carries its own subject).

A logistic model (:mod:`ramp_env.masking.fact_model`) weighs them into a probability; a
sentence is accepted at :data:`~ramp_env.masking.fact_model.THRESHOLD` or above (other
thresholds trade recall for precision: ``evidence_criterion="fact:0.8"``). The model was
fitted on the 2806 two-reader labelled pairs of ``tests/masking/fixtures/evidence_labels_v2.jsonl``
to ``_v7`` and scored on 1031 pairs labelled after the fit (``evidence_labels_v8.jsonl`` and
``_v9``, ``benchmarks/results/evidence_v9.json``). A cheap screen on the surface signals spares most
hopeless sentences the parse and the embeddings (``fact_model.passes_screen``).

:func:`check_fact` returns a :class:`FactVerdict` with the acceptance path, the sentences
relied on and every signal with the model's probability, so a user can audit why a mask
counts as answerable (``ramp-env evidence``). This is the ``"fact"`` evidence criterion
(``RAMPEnv(evidence_criterion="fact")``, which needs the ``llm`` extra for MiniLM); the
default ``"context"`` criterion is version 1.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ramp_env.corpus.passage import Passage
from ramp_env.masking import fact_model
from ramp_env.masking.fact_context import PARENTHESES, context_terms, sentence_bounds, sentences
from ramp_env.masking.fact_context import find_tokens as _find
from ramp_env.retrieval.base import analyze
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import DEFAULT_SPACY_MODEL, SPACY_LABELS, SalientSpan, SpanType

FACT_CHECK_VERSION = 4  # bump when a rule or constant changes: caches of the "fact" criterion are keyed by it
# -- constants -------------------------------------------------------------------------------
LIST_ITEMS = 3  # an enumeration of this many conjuncts or more holds no relation for one item

_YEAR = re.compile(r"(?<![\d.,])(1[0-9]{3}|20[0-9]{2})(?![\d.,]\d)")
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})
_ENTITY_POS = frozenset({"PROPN"})
_GOVERNOR_POS = frozenset({"VERB", "NOUN", "ADJ", "AUX"})
_PRONOUNS = frozenset({"he", "she", "it", "they", "his", "her", "its", "their", "who", "which", "this", "these"})


@dataclass(frozen=True)
class FactVerdict:
    """Why a passage does or does not state a masked fact.

    ``path`` is how it was accepted (``"subject-named"``: the sentence or the one before names
    the subject; ``"own-article"``: the evidence passage is from the subject's article;
    ``"related-entity"``: neither, the model accepted it on the other signals) or, when
    rejected, the strongest signal against it (``"no-answer"``, ``"no-subject"``,
    ``"competing-subject"``, ``"answer-in-compound"``, ``"type-mismatch"``, ``"other-date"``,
    ``"answer-in-list"``; ``"weak-relation"``: none of these, the probability fell short).
    ``sentences`` are the evidence sentence(s) relied on (for a rejection, the sentence rated
    highest); ``details`` the signals measured and the model's ``probability``.
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
def normalized_tokens(text: str) -> tuple[str, ...]:
    """``text``'s answer-normalised tokens (cached: the evidence index and this module share them)."""
    return tuple(normalize_answer(text).split())


def subject_names(title: str) -> list[tuple[str, ...]]:
    """Normalised names of an article's subject: the title without its disambiguation and,
    for a multi-word title, its last word when that is a capitalised name (a person's
    surname: "Presley" for "Elvis Presley")."""
    bare = PARENTHESES.sub("", title).strip()
    names = [normalized_tokens(bare)]
    words = bare.split()
    if len(words) >= 2 and words[-1][:1].isupper() and len(words[-1]) > 3 and "," not in bare:
        names.append(normalized_tokens(words[-1]))
    return [n for n in names if n]


def _names_any(tokens: Sequence[str], names: Sequence[tuple[str, ...]]) -> bool:
    return any(_find(tokens, n) >= 0 for n in names)


def names_subject(text: str, title: str) -> bool:
    """Whether ``text`` names the subject of the article ``title`` (one of :func:`subject_names`)."""
    return _names_any(normalized_tokens(text), subject_names(title))


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


_ITEM_BREAK = re.compile(r",|;|\band\b|\bor\b")
_PLACEHOLDER = "zzanswerzz"
LIST_ITEM_WORDS = 6  # a list item ("Guinea to the southeast") is short; a clause is not


def _listed_with(sentence: str, where: tuple[int, int] | None, names: Sequence[tuple[str, ...]]) -> bool:
    """One of ``names`` is another item of the enumeration holding the answer ("Mali to the
    east, Guinea to the southeast": Guinea is listed with Mali). Read from the punctuation,
    not the parse: the small parser attaches such items erratically (appos, npadvmod, dep)."""
    if where is None or not names:
        return False
    marked = sentence[: where[0]] + f" {_PLACEHOLDER} " + sentence[where[1] :]
    items = [normalized_tokens(part) for part in _ITEM_BREAK.split(marked)]
    items = [i for i in items if i]
    if len(items) < LIST_ITEMS:
        return False
    own = next((i for i in items if _PLACEHOLDER in i), ())
    if not own or len(own) > LIST_ITEM_WORDS:
        return False
    return any(
        item is not own and len(item) <= LIST_ITEM_WORDS and _names_any(item, names) for item in items
    )


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
    """What the criterion needs of one masked span, computed once, checked against many passages.

    ``threshold`` is the model probability a sentence needs (default
    :data:`~ramp_env.masking.fact_model.THRESHOLD`); other values pick another point of the
    published precision/recall curve.
    """

    def __init__(self, source: Passage, span: SalientSpan, threshold: float | None = None) -> None:
        self.threshold = fact_model.THRESHOLD if threshold is None else float(threshold)
        self.source = source
        self.span = span
        self.answer = normalized_tokens(source.text[span.start : span.end])
        a, b = sentence_bounds(source.text, span.start, span.end)
        self.sentence = source.text[a:b]
        self.sentence_tokens = normalized_tokens(self.sentence)
        doc = _parse(self.sentence)
        answer_tokens = _char_span_tokens(doc, span.start - a, span.end - a)
        self.sentence_start = a
        governor = _governor(answer_tokens)
        self.governor = _stem(governor.text) if governor is not None else None
        self.context = context_terms(source, span)
        self.names = subject_names(source.title)
        subject = _grammatical_subject(doc)
        if subject is not None and subject.pos_ in _ENTITY_POS and not (
            {t.i for t in subject.subtree} & {t.i for t in answer_tokens}
        ):
            phrase = normalized_tokens(_subject_phrase(subject))
            if phrase and phrase not in self.names:
                self.names.append(phrase)
        self.type_group = _TYPE_GROUP.get(span.label)
        # an answer listed in the source is stated by an evidence list of the same items
        self.listed = _in_list(answer_tokens)
        # the years that date the source's statement, besides the answer itself
        self.years = _years(self.sentence) - _years(source.text[span.start : span.end])
        self.answer_years = _years(" ".join(self.answer))
        # named words of the source: a sentence naming ones the source never does is about something else
        self.proper_nouns = _proper_nouns(doc, set(self.answer))
        self.passage_tokens = set(normalized_tokens(source.text)) | set(normalized_tokens(PARENTHESES.sub("", source.title)))
        self.window = _window(self.sentence_tokens, self.answer)
        self.title = source.title

    def check(self, evidence: Passage) -> FactVerdict:
        """Whether ``evidence`` states this fact, and why (see the module docs): the first
        sentence the model accepts, else the rejected sentence it rated highest."""
        best: FactVerdict | None = None
        for verdict in self.sentence_verdicts(evidence):
            if verdict.supported:
                return verdict
            if best is None or verdict.details["probability"] > best.details["probability"]:
                best = verdict
        return best or FactVerdict(False, "no-answer")

    def sentence_verdicts(self, evidence: Passage, screen: bool = True) -> Iterator[FactVerdict]:
        """A verdict for each sentence of ``evidence`` that holds the answer, in text order
        (``screen``: see :meth:`sentence_features`)."""
        passage_tokens = normalized_tokens(evidence.text)
        if not self.answer or _find(passage_tokens, self.answer) < 0:
            return
        bare_title = normalized_tokens(PARENTHESES.sub("", evidence.title))
        about = _EvidencePassage(
            title=evidence.title,
            own_article=_names_any(bare_title, self.names[:1]),
            names_subject=_names_any(passage_tokens, self.names),
            title_in_sentence=_find(self.sentence_tokens, bare_title) >= 0,
            title_listed_with_answer=bool(bare_title) and _listed_with(
                self.sentence, (self.span.start - self.sentence_start, self.span.end - self.sentence_start), [bare_title]
            ),
        )
        spans = sentences(evidence.text)
        held = [i for i, (a, b) in enumerate(spans) if _find(normalized_tokens(evidence.text[a:b]), self.answer) >= 0]
        for i in held:
            sentence = evidence.text[spans[i][0] : spans[i][1]]
            previous = evidence.text[spans[i - 1][0] : spans[i - 1][1]] if i else ""
            yield self._check_sentence(sentence, previous, about, len(held), screen)

    def _check_sentence(
        self, sentence: str, previous: str, about: _EvidencePassage, held: int, screen: bool
    ) -> FactVerdict:
        features = self.sentence_features(sentence, previous, about, held, screen)
        quoted = (previous, sentence) if features["subject_nearby"] and not features["subject_in_sentence"] else (sentence,)
        supported, path = decide(features, self.threshold)
        return FactVerdict(supported, path, quoted, features)

    def sentence_features(
        self, sentence: str, previous: str, about: _EvidencePassage, held: int = 1, screen: bool = True
    ) -> dict[str, Any]:
        """The signals of the module docs for one evidence sentence holding the answer.

        With ``screen``, a sentence whose surface signals fail :func:`fact_model.passes_screen`
        gets no parse and no embeddings (``f["screened_out"]``): the model could not accept it."""
        tokens = normalized_tokens(sentence)
        here = _names_any(tokens, self.names)
        near = here or _names_any(normalized_tokens(previous), self.names)
        where = _answer_chars(sentence, self.answer)
        other_years = _years(sentence) - self.answer_years
        terms = set(analyze(sentence))
        left, right = _window(tokens, self.answer)
        f: dict[str, Any] = {
            "subject_in_sentence": here, "subject_nearby": near, "own_article": about.own_article,
            "subject_in_passage": about.names_subject, "title_in_source_sentence": about.title_in_sentence,
            "answer_sentences": held, "in_compound": bool(where) and _in_compound(sentence, *where),
            "other_date": bool(self.years and other_years and not self.years & other_years),
            "shared_year": bool(self.years & other_years),
            "shared_context": len(self.context.intersection(terms)), "context_size": len(self.context),
            "sentence_terms": len(terms), "type_group": self.type_group,
            "shared_neighbours": len(self.window[0] & left) + len(self.window[1] & right),
            "title_listed_with_answer": about.title_listed_with_answer,
        }
        if screen and not fact_model.passes_screen(f):
            f["screened_out"] = True
            return f
        self._parse_features(f, sentence, where)
        f.update(similarities(self.sentence, self.title, sentence, previous, about.title))
        return f

    def _parse_features(self, f: dict[str, Any], sentence: str, where: tuple[int, int] | None) -> None:
        doc = _parse(sentence)
        answer_tokens = _char_span_tokens(doc, *where) if where else []
        subject = _grammatical_subject(doc)
        competing = subject is not None and self._competes(subject, answer_tokens)
        f["competing_subject"] = _subject_phrase(subject) if competing else None
        phrase = normalized_tokens(_subject_phrase(subject)) if subject is not None and subject.pos_ in _ENTITY_POS else ()
        # the sentence's subject is another participant of the source's own sentence
        f["subject_in_source_sentence"] = bool(phrase) and _find(self.sentence_tokens, phrase) >= 0 and not (
            set(phrase) <= set(self.answer)
        )
        f["pronoun_subject"] = subject is not None and subject.lower_ in _PRONOUNS
        f["answer_is_subject"] = subject is not None and bool(
            {t.i for t in subject.subtree} & {t.i for t in answer_tokens}
        )
        listed = _in_list(answer_tokens)
        f["in_list"] = listed and not self.listed
        f["both_listed"] = listed and self.listed
        found = _entity_type(doc, *where) if where else None
        f["type_mismatch"] = (
            found is not None and self.type_group is not None and _TYPE_GROUP.get(found) not in (None, self.type_group)
        )
        governor = _governor(answer_tokens)
        stem = _stem(governor.text) if governor is not None else None
        f["governor"], f["source_governor"] = stem, self.governor
        f["same_governor"] = stem is not None and stem == self.governor
        f["governor_in_context"] = stem is not None and stem in self.context
        # the subject is another item of the list holding the answer: the sentence states the
        # evidence subject's relation to both ("Guinea borders Senegal and Mali"), not theirs
        f["subject_listed_with_answer"] = _listed_with(sentence, where, self.names)
        names = _proper_nouns(doc, set(self.answer))
        f["shared_names"] = len(self.proper_nouns & names)
        f["new_names"] = len(names - self.passage_tokens)

    def _competes(self, subject: Any, answer_tokens: list[Any]) -> bool:
        """The sentence's grammatical subject is another named entity (a parallel frame)."""
        if subject.pos_ not in _ENTITY_POS or subject.lower_ in _PRONOUNS:
            return False
        phrase_ids = {t.i for t in subject.subtree}
        if phrase_ids & {t.i for t in answer_tokens}:
            return False  # the answer is the subject ("Aristotle was a student of Plato")
        phrase = normalized_tokens(_subject_phrase(subject))
        if not phrase:  # a subject that normalises to nothing ("A", a symbol) names no competing entity
            return False
        return not any(_find(phrase, n) >= 0 or _find(n, phrase) >= 0 for n in self.names)


@dataclass(frozen=True)
class _EvidencePassage:
    """What the sentences of one candidate passage share: its title and where it names things."""

    title: str
    own_article: bool  # the passage is from the subject's own article
    names_subject: bool  # it names the subject somewhere
    title_in_sentence: bool  # its title is named in the mask's sentence (an entity the fact involves)
    title_listed_with_answer: bool = False  # ... as another item of the list holding the answer there


def _proper_nouns(doc: Any, skip: set[str]) -> set[str]:
    out = set()
    for t in doc:
        if t.pos_ in _ENTITY_POS and not t.is_stop:
            words = normalized_tokens(t.text)
            if words and words[0] not in skip:
                out.add(words[0])
    return out


def _window(tokens: Sequence[str], answer: Sequence[str], k: int = 3) -> tuple[set[str], set[str]]:
    """The ``k`` words on each side of the answer (the slot's frame)."""
    i = _find(tokens, answer)
    if i < 0:
        return set(), set()
    return set(tokens[max(0, i - k) : i]), set(tokens[i + len(answer) : i + len(answer) + k])


def similarities(source_sentence: str, source_title: str, sentence: str, previous: str, title: str) -> dict[str, float]:
    """MiniLM cosines between the mask's sentence and an evidence sentence, plain and with each
    passage's title in front: a parallel frame about another subject reads as a paraphrase
    plainly, less so once each sentence carries its own subject."""
    context = f"{previous} {sentence}".strip()
    texts = (source_sentence, sentence, f"{source_title}: {source_sentence}", f"{title}: {sentence}",
             f"{source_title}: {sentence}", context, source_title, title)
    v = dict(zip(texts, _embed(texts), strict=False))

    def cos(a: str, b: str) -> float:
        return float(v[a] @ v[b])  # unit vectors: the dot product is the cosine

    return {
        "cos_plain": cos(source_sentence, sentence),
        "cos_titled": cos(texts[2], texts[3]),
        "cos_subject": cos(texts[2], texts[4]),
        "cos_context": cos(source_sentence, context),
        "about_source": cos(source_title, sentence) - cos(title, sentence),
    }


_VECTORS: dict[str, Any] = {}
_MAX_VECTORS = 65536  # about 100 MB of float32 vectors; the oldest half is dropped past it


def _embed(texts: Sequence[str]) -> list[Any]:
    """Unit-length MiniLM vectors of ``texts``, cached: a source's sentence meets many candidates."""
    # the answer is read from this call's own dict: trimming the cache below may drop a text of
    # ``texts`` that was cached before (a KeyError once a long run passed _MAX_VECTORS)
    wanted = {t: _VECTORS[t] for t in texts if t in _VECTORS}
    missing = list(dict.fromkeys(t for t in texts if t not in wanted))
    if missing:
        from ramp_env.models import torch_threads

        with torch_threads(1):  # see torch_threads: one thread is fastest for short strings
            vectors = _embedding_model().encode(missing, normalize_embeddings=True, batch_size=32)
        wanted.update(zip(missing, vectors, strict=True))
        if len(_VECTORS) + len(missing) > _MAX_VECTORS:
            for key in list(_VECTORS)[: len(_VECTORS) // 2]:
                del _VECTORS[key]
        _VECTORS.update(zip(missing, vectors, strict=True))
    return [wanted[t] for t in texts]


def _embedding_model() -> Any:
    from ramp_env.models import shared_embedding_model

    try:
        return shared_embedding_model()
    except ImportError as exc:
        raise ModuleNotFoundError(
            'evidence_criterion="fact" reads sentence embeddings: pip install "ramp-env[llm]" '
            f"(sentence-transformers and the offline all-MiniLM-L6-v2); missing: {exc.name or exc}"
        ) from exc


def decide(f: dict[str, Any], threshold: float | None = None) -> tuple[bool, str]:
    """Accept or reject one evidence sentence from its features: ``(supported, path)``.

    The model's probability (:func:`ramp_env.masking.fact_model.probability`, stored as
    ``f["probability"]``) must reach ``threshold`` (default the published point). The path
    names how it was accepted, or the strongest reason against it when rejected."""
    p = 0.0 if f.get("screened_out") else fact_model.probability(f)
    f["probability"] = round(p, 4)
    if p >= (fact_model.THRESHOLD if threshold is None else threshold):
        if f["subject_nearby"]:
            return True, "subject-named"
        return True, "own-article" if f["own_article"] else "related-entity"
    for path, present in (
        ("no-subject", not (f["subject_nearby"] or f["own_article"] or f.get("subject_in_source_sentence"))),
        ("competing-subject", bool(f.get("competing_subject")) and not f.get("subject_in_source_sentence")),
        ("answer-in-compound", f["in_compound"]), ("type-mismatch", f.get("type_mismatch")),
        ("other-date", f["other_date"]), ("answer-in-list", f.get("in_list")),
    ):
        if present:
            return False, path
    return False, "weak-relation"


def _years(text: str) -> set[str]:
    return set(_YEAR.findall(text))


def _answer_chars(sentence: str, answer: Sequence[str]) -> tuple[int, int] | None:
    """Character span of the answer's first whole-token occurrence in ``sentence``."""
    pattern = r"\W+".join(re.escape(w) for w in answer)
    for m in re.finditer(rf"(?<!\w){pattern}(?!\w)", sentence, flags=re.IGNORECASE):
        if normalized_tokens(m.group(0)) == tuple(answer):
            return m.start(), m.end()
    return None


def check_fact(source: Passage, span: SalientSpan, evidence: Passage, threshold: float | None = None) -> FactVerdict:
    """Whether ``evidence`` states the fact behind ``span`` of ``source`` (pure text: near copies
    are the caller's job; :func:`ramp_env.masking.verify.verify_evidence` applies every rule)."""
    return SourceFact(source, span, threshold).check(evidence)


__all__ = ["FACT_CHECK_VERSION", "FactVerdict", "SourceFact", "check_fact", "decide", "names_subject",
           "normalized_tokens", "similarities", "subject_names"]

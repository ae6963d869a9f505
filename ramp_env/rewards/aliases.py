"""Other ways of writing the gold: aliases, acronyms, dotted forms and initials of people.

Every built-in reward (``recall``, ``penalized_recall``, ``em``, ``f1``, the judges) first asks
:func:`resolve_alias` whether the prediction, or one alternative it lists, is the gold written
another way; such a prediction (or alternative) is replaced by the gold before it is scored,
so "US" for "United States" scores what "United States" scores under every reward. A list of
candidates stays a list (only the alternative that is the gold is rewritten), so the hack
penalty still sees every other candidate.

:func:`accepts` decides, in this order:

1. **the same key**: normalised (lowercase, no punctuation or articles, accents dropped) after
   collapsing dotted initialisms, so ``U.S.`` = ``US``, ``the U.K.`` = ``UK``;
2. **the alias table** :data:`ALIAS_GROUPS` (forms of one name, either way round) and
   :data:`ONE_WAY_ALIASES` (a gold accepts a looser form, not the reverse: ``America`` answers
   ``United States``, but ``United States`` does not answer a gold ``America``, which may be
   the continent);
3. **acronyms** of three or more letters: one side is an acronym of the other's words
   (:func:`~ramp_env.rewards.equivalence.is_acronym_of`: ``JFK`` / ``John F. Kennedy``,
   ``NATO``, ``FDR``). A single word has no acronym (``UKR`` is not ``Ukraine``), one acronym
   is not another's prefix (``USS`` is not ``USSR``), and an expansion given as a list
   (``Uruguay, Spain, Argentina`` for ``USA``) is a list. Two letters are the initials of too
   many names (``US``: United States, Upper Silesia), so two-letter acronyms count only through
   the table (``US``, ``UK``, ``EU``, ``UN``, ``DC``, ``LA``);
4. **initials of people**: the same surname and the same number of given names, each the
   same, an initial of it or a common short form (``J. F. Kennedy``, ``J.F. Kennedy``,
   ``Jack F. Kennedy`` for ``John F. Kennedy``; ``J. R. R. Tolkien``).

**Surnames alone do not count.** "Lincoln" for "Abraham Lincoln" keeps its token credit (recall
0.5, F1 0.67, the judge's shortened-form score) but is not rewritten into the full name: a
surname is shared by relatives (Thomas, Mary Todd and Robert Todd Lincoln are all in the
corpus's articles), by places and by institutions, so it does not say which one the agent
found. Nor is a dropped middle name ("George Bush" for "George W. Bush": also his father).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from ramp_env.rewards.equivalence import NICKNAMES, acronym_letters, is_acronym_of
from ramp_env.rewards.penalty import ALTERNATIVE_SEPARATOR
from ramp_env.text.normalize import normalize_answer, strip_accents

# Hand-written for this project (no maintained library lists short forms of countries,
# organisations and cities together: pycountry's alpha codes include "IN", "IT", "TO", which
# are words). It covers the examples of issue 21 and the most frequent PLACE and ORG golds of
# the default corpus whose common short form is not an acronym of their words (an acronym
# such as "UN" or "NATO" needs no entry: rule 3 reads it). Long forms are the names the
# countries and organisations use in English (UN member-state list, organisations' own sites).
# Dotted, accented and article forms need no entry ("U.S.S.R.", "Cote d'Ivoire", "the UK"): alias_key
# reads them as the entry.
ALIAS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("United States", "United States of America", "US", "USA"),
    ("United Kingdom", "UK", "Britain", "Great Britain", "United Kingdom of Great Britain and Northern Ireland"),
    ("Soviet Union", "USSR", "Union of Soviet Socialist Republics"),
    ("European Union", "EU"),
    ("United Nations", "UN"),
    ("New York City", "NYC", "City of New York"),
    ("Los Angeles", "LA"),
    ("Washington, D.C.", "DC", "District of Columbia"),
    ("People's Republic of China", "PRC", "Communist China", "mainland China"),
    ("United Arab Emirates", "UAE", "Emirates"),
    ("Democratic Republic of the Congo", "DRC", "DR Congo", "Congo-Kinshasa"),
    ("Republic of the Congo", "Congo-Brazzaville"),
    ("Czech Republic", "Czechia"),
    ("Myanmar", "Burma"),
    ("Ivory Coast", "Côte d'Ivoire"),
    ("East Germany", "GDR", "German Democratic Republic", "DDR"),
    ("West Germany", "FRG", "Federal Republic of Germany"),
    ("South Korea", "Republic of Korea", "ROK"),
    ("North Korea", "DPRK", "Democratic People's Republic of Korea"),
    ("Russia", "Russian Federation"),
    ("Vatican City", "Vatican", "Vatican City State"),
    ("World War II", "WWII", "WW2", "Second World War", "World War Two", "World War 2"),
    ("World War I", "WWI", "WW1", "First World War", "World War One", "World War 1", "Great War"),
    ("Saint Petersburg", "St Petersburg"),
)

# gold -> looser forms it accepts (not the other way round): the short form names something
# wider or older as well ("America" is also the continent, "Holland" two provinces, "New York"
# also the state, "China" also the Republic of China, "Ireland" also the island).
ONE_WAY_ALIASES: dict[str, tuple[str, ...]] = {
    "United States": ("America", "the States"),
    "Netherlands": ("Holland",),
    "New York City": ("New York",),
    "People's Republic of China": ("China",),
    "Republic of Ireland": ("Ireland",),
}

# two letters are the initials of too many names ("US": United States, Upper Silesia, ...): a
# two-letter acronym counts through the table only; three or more ("JFK", "NATO") by the rule
MIN_ACRONYM_LETTERS = 3
# longer text is no alias (the longest table form, "United Kingdom of Great Britain and Northern
# Ireland", has 53 characters): a pasted paragraph skips the tests instead of paying for them
MAX_ALIAS_CHARS = 120

_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}(?:[A-Za-z]\b)?")
_LIST = re.compile(r"[,;]\s|[/|]|\bor\b", re.IGNORECASE)
# the reward penalty's separators, captured so a list can be rebuilt around a rewritten alternative
_ALTERNATIVES = re.compile(f"({ALTERNATIVE_SEPARATOR})", re.IGNORECASE)


def alias_key(text: str) -> str:
    """The form two spellings of one name share: dotted initialisms collapsed ("U.S." -> "US"),
    accents dropped, then :func:`~ramp_env.text.normalize.normalize_answer`."""
    text = unicodedata.normalize("NFKC", text)
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    return normalize_answer(strip_accents(text))


def _build_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for group in ALIAS_GROUPS:
        keys = {alias_key(form) for form in group}
        for key in keys:
            if key in table and table[key] != keys:
                raise ValueError(f"alias {key!r} is in two groups")  # a table error, caught by the tests
            table[key] = keys
    for gold, looser in ONE_WAY_ALIASES.items():
        table.setdefault(alias_key(gold), {alias_key(gold)}).update(alias_key(form) for form in looser)
    return {key: frozenset(forms) for key, forms in table.items()}


_TABLE = _build_table()


def alias_keys(text: str) -> frozenset[str]:
    """The :func:`alias_key` of every form the alias table makes equal to ``text`` (its own
    included), or an empty set when the table does not list it."""
    return _TABLE.get(alias_key(text), frozenset())


def _person_words(text: str) -> list[str] | None:
    """The name's words ("J.F. Kennedy" -> ["J", "F", "Kennedy"]) if it reads like a person's name."""
    words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", strip_accents(text))
    if not 2 <= len(words) <= 6 or not all(w[:1].isupper() for w in words) or len(words[-1]) < 2:
        return None
    return [w.lower() for w in words]


def _given_name_matches(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0] and min(len(a), len(b)) == 1  # an initial stands for any name with its letter
    return a in NICKNAMES.get(b, ()) or b in NICKNAMES.get(a, ())


def same_person_initials(prediction: str, gold: str) -> bool:
    """The same name with given names written as initials or short forms ("J. F. Kennedy",
    "John F. Kennedy"). The surname and the number of given names must agree, and at least one
    side must hold an initial or a short form (otherwise it is not this rule's case)."""
    pred, ref = _person_words(prediction), _person_words(gold)
    if pred is None or ref is None or len(pred) != len(ref) or pred[-1] != ref[-1] or pred == ref:
        return False
    return all(_given_name_matches(a, b) for a, b in zip(pred[:-1], ref[:-1]))


def _is_list(text: str) -> bool:
    return len([part for part in _LIST.split(text) if part.strip()]) > 1


@functools.lru_cache(maxsize=65536)  # keys are short: resolve_alias never passes text over MAX_ALIAS_CHARS
def accepts(prediction: str, gold: str) -> bool:
    """Is ``prediction`` the gold written another way? (rules 1-4 of the module docs)"""
    pred_key, gold_key = alias_key(prediction), alias_key(gold)
    if not pred_key or not gold_key:
        return False
    if pred_key == gold_key or pred_key in _TABLE.get(gold_key, ()):
        return True
    short_pred, short_gold = _collapse(prediction), _collapse(gold)
    if acronym_letters(short_pred) >= MIN_ACRONYM_LETTERS and is_acronym_of(short_pred, gold):
        return True
    if (
        acronym_letters(short_gold) >= MIN_ACRONYM_LETTERS
        and not _is_list(prediction)
        and is_acronym_of(short_gold, prediction)
    ):
        return True
    return same_person_initials(prediction, gold)


def _collapse(text: str) -> str:
    return _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text.strip())


def resolve_alias(prediction: str, gold: str) -> str:
    """``gold`` if the prediction is the gold written another way; else the prediction with each
    listed alternative that is (``A, UK, C`` for ``United Kingdom`` -> ``A, United Kingdom, C``)
    rewritten as the gold; else the prediction unchanged."""
    if len(prediction) <= MAX_ALIAS_CHARS and accepts(prediction, gold):
        return gold
    pieces = _ALTERNATIVES.split(prediction)
    if len(pieces) < 3:
        return prediction
    changed = False
    for i in range(0, len(pieces), 2):  # even indices are alternatives, odd ones separators
        core = pieces[i].strip()
        if core and len(core) <= MAX_ALIAS_CHARS and accepts(core, gold):
            pieces[i] = pieces[i].replace(core, gold)
            changed = True
    return "".join(pieces) if changed else prediction

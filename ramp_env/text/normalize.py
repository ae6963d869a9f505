"""Answer normalisation, as in the SQuAD and HotpotQA evaluation scripts.

Lowercase, drop punctuation, drop the articles a/an/the, collapse whitespace.
Every reward uses these two functions, so a prediction is normalised the same
way everywhere.

Two departures from the SQuAD script, both about numbers: a thousands separator
disappears (``1,000`` and ``1000`` are the same token) and a decimal point stays
(``3.5`` is one token, not ``35``, which would equal the number 35). Other
punctuation becomes a space rather than vanishing, so ``Malia,Sasha`` is two
tokens and ``1990–2000`` is two years.
"""

from __future__ import annotations

import re
import string
import unicodedata
from decimal import Context, Decimal, localcontext

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")
_DECIMAL_MARK = "\ue000"  # a private-use character, protected from the punctuation pass
_PUNCT = set(string.punctuation) | {"–", "—", "‘", "’", "“", "”", "«", "»", "…"}
_PUNCT_TO_SPACE = str.maketrans({ch: " " for ch in _PUNCT})


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (plus Unicode NFKC, typographic punctuation and number separators)."""
    text = unicodedata.normalize("NFKC", text).lower().replace(_DECIMAL_MARK, " ")
    text = _DECIMAL.sub(_DECIMAL_MARK, _THOUSANDS.sub("", text))
    text = text.translate(_PUNCT_TO_SPACE)  # str.translate: ~20x faster than a per-character join
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split()).replace(_DECIMAL_MARK, ".")


def answer_tokens(text: str) -> list[str]:
    """Tokens of the normalised answer."""
    return normalize_answer(text).split()


# --- canonical forms for the judge ------------------------------------------------------------
# The token rewards above stay SQuAD-like (the paper's recall); the judge also needs to know that
# "XVI", "16th" and "sixteenth" are one number, that "13.2 million" is "13,200,000", that "Apr."
# is April and "BCE" is BC. A hand-written table, because no maintained library does these
# answer-level rewrites together (num2words goes the other way; dateparser needs a whole date).

_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINAL_WORDS = (
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth",
)
_TENS_ORDINALS = ("twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth",
                  "ninetieth")
SMALL_NUMBERS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)}
SMALL_NUMBERS.update({w: i for i, w in enumerate(_ORDINAL_WORDS) if i})
TENS: dict[str, int] = {w: 10 * i for i, w in enumerate(_TENS_WORDS, start=2)}
TENS.update({w: 10 * i for i, w in enumerate(_TENS_ORDINALS, start=2)})
SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
SCALES.update({"hundredth": 100, "thousandth": 1000, "millionth": 10**6})
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_MONTH_ABBREVIATIONS = {m[:3]: m for m in MONTHS} | {"sept": "september"}
# unit spellings -> one token; applied to whole tokens after normalisation
UNIT_WORDS: dict[str, str] = {
    **dict.fromkeys(("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"), "km"),
    **dict.fromkeys(("metre", "metres", "meter", "meters"), "metre"),
    **dict.fromkeys(("cm", "centimetre", "centimetres", "centimeter", "centimeters"), "cm"),
    **dict.fromkeys(("mm", "millimetre", "millimetres", "millimeter", "millimeters"), "mm"),
    **dict.fromkeys(("ft", "foot", "feet"), "ft"),
    **dict.fromkeys(("inch", "inches"), "inch"),
    **dict.fromkeys(("yd", "yard", "yards"), "yard"),
    **dict.fromkeys(("mi", "mile", "miles"), "mile"),
    **dict.fromkeys(("acre", "acres"), "acre"),
    **dict.fromkeys(("ha", "hectare", "hectares"), "hectare"),
    **dict.fromkeys(("kg", "kgs", "kilogram", "kilograms", "kilogramme", "kilogrammes"), "kg"),
    **dict.fromkeys(("g", "gram", "grams", "gramme", "grammes"), "gram"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), "pound"),
    **dict.fromkeys(("t", "tonne", "tonnes", "ton", "tons"), "tonne"),
    **dict.fromkeys(("l", "litre", "litres", "liter", "liters"), "litre"),
    **dict.fromkeys(("mph",), "mph"),
    **dict.fromkeys(("kmh", "kph"), "kmh"),
    **dict.fromkeys(("percent", "pct"), "percent"),
    **dict.fromkeys(("dollar", "dollars", "usd"), "dollar"),
    **dict.fromkeys(("euro", "euros", "eur"), "euro"),
    **dict.fromkeys(("celsius", "centigrade"), "celsius"),
    **dict.fromkeys(("fahrenheit",), "fahrenheit"),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "second"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "minute"),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), "hour"),
    **dict.fromkeys(("day", "days"), "day"),
    **dict.fromkeys(("week", "weeks", "wk", "wks"), "week"),
    **dict.fromkeys(("month", "months"), "month"),
    **dict.fromkeys(("year", "years", "yr", "yrs"), "year"),
    **dict.fromkeys(("decade", "decades"), "decade"),
    **dict.fromkeys(("century", "centuries"), "century"),
}
_AMBIGUOUS_UNITS = {"g", "t", "l", "second", "min", "mi"}  # read as units only right after a number

_INITIAL = re.compile(r"\b([A-Z])\.")
_INITIAL_MARK = "zzinitial"  # letters only, so normalisation keeps it glued to the letter
_ROMAN = re.compile(r"\b(?=[IVX])(X{0,3})(IX|IV|V?I{0,3})\b")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SCALE_SUFFIXES = (
    (re.compile(r"(?<=\d)\s?(?:bn|bln|B)\b"), " billion"),
    (re.compile(r"(?<=\d)\s?(?:M|mn|mln|MM)\b"), " million"),
    (re.compile(r"(?<=\d)\s?[kK]\b"), " thousand"),
)
_SQUARE = re.compile(r"\b(?:sq|square)\.?\s+(km|kilomet\w+|mi|miles?|ft|feet|foot|m|metres?|meters?)\b", re.IGNORECASE)
_SQUARED = re.compile(r"\b(km|mi|ft|m)[2²]", re.IGNORECASE)
_ERAS = (
    (re.compile(r"\bB\.?\s?C\.?\s?E\b\.?|\bB\.\s?C\.|\bBC\b", re.IGNORECASE), " BC "),
    (re.compile(r"\bA\.\s?D\.|\bAD\b|(?<=\d\s)C\.?E\b\.?|(?<=\d)CE\b", re.IGNORECASE), " AD "),
)


_FRACTION_WORDS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
                   "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8,
                   "tenth": 10, "tenths": 10}
_COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "nine": 9}
# a fraction stands alone or before "of" ("a third of the votes"); "a third term" is an ordinal
_FRACTION_END = r"(?=\s*(?:\bof\b|$|[,.;:)]))"
_WORD_FRACTION = re.compile(
    r"\b(?:(" + "|".join(_COUNT_WORDS) + r")[\s-]+)?(" + "|".join(_FRACTION_WORDS) + r")\b" + _FRACTION_END,
    re.IGNORECASE,
)
_DIGIT_FRACTION = re.compile(r"(?<![\d/.])(\d)\s*/\s*(\d{1,2})(?![\d/])" + _FRACTION_END)
_DECADE_WORDS = {w: f"19{i}0s" for i, w in enumerate(
    ("", "", "twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties")) if w}


def _fraction_percent(numerator: int, denominator: int) -> str | None:
    """``2, 3`` -> ``" 66.7 percent "``: fractions and percentages are one scale ("half" = "50%")."""
    if not 0 < numerator < denominator <= 10:
        return None
    value = round(100 * numerator / denominator, 1)
    return f" {value:g} percent "


def _replace_fractions(text: str) -> str:
    """ "two-thirds", "2/3" -> "66.7 percent"; "a half", "half of" -> "50 percent" (see ``_FRACTION_END``)."""

    def words(m: re.Match[str]) -> str:
        count, word = m.group(1), m.group(2).lower()
        if count is None and word not in ("half", "halves"):
            return m.group(0)  # a bare "third" is an ordinal
        plural = word.endswith("s") and word != "halves"
        numerator = _COUNT_WORDS[count.lower()] if count else 1
        if plural != (numerator > 1) and word not in ("half", "halves"):
            return m.group(0)  # "one thirds", "two third": not a fraction we can read
        return _fraction_percent(numerator, _FRACTION_WORDS[word]) or m.group(0)

    text = _WORD_FRACTION.sub(words, text)
    return _DIGIT_FRACTION.sub(lambda m: _fraction_percent(int(m.group(1)), int(m.group(2))) or m.group(0), text)


def _roman_value(numeral: str) -> int:
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        total += -value if i + 1 < len(numeral) and _ROMAN_VALUES[numeral[i + 1]] > value else value
    return total


def _replace_roman(text: str) -> str:
    """Roman numerals (I-XXXIX, upper case) become digits: "World War II" -> "World War 2".

    A lone "I" or "V" counts only after a capitalised word ("Elizabeth I", "Saturn V"), a lone
    "X" never ("Malcolm X"): those letters are words or names more often than numerals.
    """

    def repl(m: re.Match[str]) -> str:
        numeral = m.group(0)
        if not numeral:
            return numeral
        if len(numeral) == 1:
            before = text[: m.start()].rstrip()
            previous = before.split()[-1] if before.split() else ""
            if numeral == "X" or not previous[:1].isupper() or before == text[: m.start()]:
                return numeral
        return str(_roman_value(numeral))

    return _ROMAN.sub(repl, text)


def strip_accents(text: str) -> str:
    """ "Gödel" -> "Godel": drop combining marks after Unicode decomposition."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _format_number(value: Decimal) -> str:
    value = value.normalize()
    return format(value, "f") if value != value.to_integral_value() else str(int(value))


def _merge_numbers(tokens: list[str]) -> list[str]:
    """Number words and scale words become one number: "twenty four thousand" -> "24000"."""
    # exact up to 2,000 digits (the default context rounds to 28); local, so no process-wide change
    with localcontext(Context(prec=2000)):
        return _merge_numbers_exact(tokens)


def _merge_numbers_exact(tokens: list[str]) -> list[str]:
    out: list[str] = []
    total = current = Decimal(0)
    active = False  # inside a number
    last = ""  # kind of the previous number token: "digit", "unit", "tens", "scale"

    def flush() -> None:
        nonlocal total, current, active, last
        if active:
            out.append(_format_number(total + current))
        total = current = Decimal(0)
        active, last = False, ""

    for i, tok in enumerate(tokens):
        ordinal = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", tok)
        if ordinal:
            tok = ordinal.group(1)
        if re.fullmatch(r"\d+(?:\.\d+)?", tok):
            flush()
            current, active, last = Decimal(tok), True, "digit"
        elif tok in SMALL_NUMBERS:
            if active and last not in ("tens", "scale"):
                flush()
            current += SMALL_NUMBERS[tok]
            active, last = True, "unit"
        elif tok in TENS:
            if active and last != "scale":
                flush()
            current += TENS[tok]
            active, last = True, "tens"
        elif tok in ("hundred", "thousand", "million", "billion") and not active:
            # "a hundred thousand", "a million": the article is gone, the scale word is the count
            # (names read the same on both sides: "Hundred Years' War" -> "100 years war")
            if tok == "hundred":
                current = Decimal(100)
            else:
                total = Decimal(SCALES[tok])
            active, last = True, "scale"
        elif tok in SCALES and active:
            scale = SCALES[tok]
            if scale == 100:
                current = (current or 1) * 100
                last = "scale"
            elif not current and total and last == "scale":
                total *= scale  # "one thousand thousand"
            else:
                total += (current or 1) * scale
                current = Decimal(0)
                last = "scale"
        elif tok == "and" and active and i + 1 < len(tokens) and (
            tokens[i + 1] in SMALL_NUMBERS or tokens[i + 1] in TENS
        ):
            continue  # "one hundred and five"
        else:
            flush()
            out.append(tok)
    flush()
    return out


def canonical_tokens(text: str) -> list[str]:
    """Tokens of ``text`` in a canonical form, for judging equivalence (not for the token rewards).

    On top of :func:`normalize_answer`: accents dropped; Roman numerals, number words, ordinals
    ("sixteenth", "16th") and scale words ("13.2 million", "24 thousand", "2.7M", "$1.5bn")
    become plain numbers ("16", "13200000"); "%", "per cent" -> ``percent``; "$"/"US dollars"
    -> ``dollar``; unit spellings -> one token each ("kilometres" -> ``km``, "sq mi"/"mi²" ->
    ``square mile``); month abbreviations next to a number -> the month; ISO dates
    ("1865-04-15") -> day month year; BCE -> ``bc``, CE -> ``ad``; a decade's "'s" -> "1780s";
    a possessive "'s" dropped; fractions as percentages ("two-thirds", "2/3" -> ``66.7 percent``,
    "half of" -> ``50 percent``); "a hundred thousand" -> ``100000``; "17th century" -> ``1600s``;
    decade words -> the 20th century's decades ("the Sixties" -> ``1960s``).
    """
    text = unicodedata.normalize("NFKC", text)
    text = _ISO_DATE.sub(lambda m: f"{int(m.group(3))} {MONTHS[int(m.group(2)) - 1]} {m.group(1)}"
                         if 1 <= int(m.group(2)) <= 12 else m.group(0), text)
    text = _replace_roman(text)
    text = _replace_fractions(text)
    for pattern, replacement in _ERAS:
        text = pattern.sub(replacement, text)
    for pattern, replacement in _SCALE_SUFFIXES:
        text = pattern.sub(replacement, text)
    text = _SQUARE.sub(lambda m: f" square {m.group(1)}", text)
    text = _SQUARED.sub(lambda m: f" square {m.group(1)}", text)
    text = re.sub(r"(?i)\bper\s+cent\b|%", " percent ", text)
    text = re.sub(r"(?i)\bUS\s?\$|\$", " dollar ", text)
    text = re.sub(r"°\s?([CF])\b", lambda m: " celsius " if m.group(1) == "C" else " fahrenheit ", text)
    # an initial ("Stephen A. Douglas", "Gilbert S. Lewis") is a name, not an article or a possessive
    text = _INITIAL.sub(lambda m: f" {_INITIAL_MARK}{m.group(1).lower()} ", text)
    tokens = normalize_answer(strip_accents(text)).split()
    tokens = [t for t in tokens if t != "degrees"] if ("celsius" in tokens or "fahrenheit" in tokens) else tokens
    tokens = _merge_numbers(tokens)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        prev = out[-1] if out else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        near_number = prev[:1].isdigit() or nxt[:1].isdigit()
        if tok.startswith(_INITIAL_MARK):
            out.append(tok.removeprefix(_INITIAL_MARK))
            continue
        if tok == "s" and prev:
            if prev.isdigit():
                out[-1] = prev + "s"  # "1780's" -> "1780s"
            continue  # a possessive
        if tok in _MONTH_ABBREVIATIONS and near_number:
            tok = _MONTH_ABBREVIATIONS[tok]
        elif tok in ("bce", "bc"):
            tok = "bc"
        elif tok == "ce" and prev[:1].isdigit():
            tok = "ad"
        elif tok in UNIT_WORDS and (tok not in _AMBIGUOUS_UNITS or prev[:1].isdigit()):
            tok = UNIT_WORDS[tok]
        if tok == "us" and nxt in ("dollar", "dollars"):
            continue
        if tok == "century" and prev.isdigit() and 2 <= int(prev) <= 21 and (len(out) < 2 or not out[-2].isdigit()):
            out[-1] = f"{(int(prev) - 1) * 100}s"  # "17th century" is "the 1600s"
            continue
        out.append(_DECADE_WORDS.get(tok, tok))  # "the Sixties" is "the 1960s"
    return out

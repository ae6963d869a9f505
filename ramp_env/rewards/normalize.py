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

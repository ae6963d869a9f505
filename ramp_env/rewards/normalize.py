"""Answer normalisation, as in the SQuAD and HotpotQA evaluation scripts.

Lowercase, drop punctuation, drop the articles a/an/the, collapse whitespace.
Every reward uses these two functions, so a prediction is normalised the same
way everywhere.
"""

from __future__ import annotations

import re
import string
import unicodedata

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation) | {"–", "—", "‘", "’", "“", "”", "«", "»", "…"}


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (plus Unicode NFKC and typographic punctuation)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    """Tokens of the normalised answer."""
    return normalize_answer(text).split()

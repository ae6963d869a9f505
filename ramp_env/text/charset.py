"""The character set of every text the environment shows or accepts.

Gymnasium's ``spaces.Text`` checks membership character by character against a
charset, and its default is 62 alphanumerics. Real Wikipedia text needs far
more, so the spaces use every printable character of the Basic Multilingual
Plane plus newline and tab (about 55k characters; a frozenset of them costs a
few MB once per process). Corpus text is passed through :func:`clean_text` on
load so that every observation is a member of its space.
"""

from __future__ import annotations

import functools
import unicodedata

REPLACEMENT_CHAR = "\ufffd"


@functools.lru_cache(maxsize=1)
def text_charset() -> frozenset[str]:
    """Printable BMP characters plus ``\\n`` and ``\\t`` (surrogates excluded)."""
    chars = {chr(c) for c in range(0x20, 0x10000) if chr(c).isprintable()}
    chars.update("\n\t")
    return frozenset(chars)


@functools.lru_cache(maxsize=1)
def _translation_table() -> dict[int, str]:
    # Built lazily: only the BMP is enumerated; characters above it are
    # handled in clean_text.
    table: dict[int, str] = {}
    charset = text_charset()
    for c in range(0x10000):
        ch = chr(c)
        if ch in charset:
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Zs", "Zl", "Zp"):  # controls and odd spaces (NBSP, ...) separate words
            table[c] = " "
        elif category == "Cf":  # invisible format characters: soft hyphen, zero-width joiners
            table[c] = ""
        else:  # unassigned, private use, surrogates
            table[c] = REPLACEMENT_CHAR
    table[ord("\r")] = "\n"
    return table


def normalize_spacing(text: str) -> str:
    """NFC, with controls and odd spaces turned into spaces and invisible format characters
    dropped: :func:`clean_text` without its replacement of characters outside the charset."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").translate(_translation_table())


def clean_text(text: str) -> str:
    """Return ``text`` NFC-normalised with every character inside :func:`text_charset`."""
    text = normalize_spacing(text)
    if any(ord(ch) > 0xFFFF for ch in text):
        text = "".join(REPLACEMENT_CHAR if ord(ch) > 0xFFFF else ch for ch in text)
    return text

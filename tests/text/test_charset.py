from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ramp_env.text.charset import clean_text, text_charset


@given(st.text())
def test_clean_text_always_lands_in_the_charset(text: str) -> None:
    charset = text_charset()
    assert all(ch in charset for ch in clean_text(text))


def test_clean_text_keeps_real_text() -> None:
    real = "Zürich, Αθήνα, 東京 — “quoted” 384 BC\n\tnext line"
    assert clean_text(real) == real

from __future__ import annotations

from ramp_env.text.tokenize import sentence_spans, word_spans


def test_punkt_works_offline_and_knows_abbreviations() -> None:
    text = "Dr. Smith went to Washington in March 1990. He met Mr. Jones there."
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == ["Dr. Smith went to Washington in March 1990.", "He met Mr. Jones there."]
    words = [text[a:b] for a, b in word_spans(text)]
    assert words[:3] == ["Dr.", "Smith", "went"] and "1990" in words

"""benchmarks/span_rule_candidate.py: which spans the lower-case-title candidate rule would drop."""

from __future__ import annotations


def test_a_span_and_lower_case_words_that_spell_a_title_are_found() -> None:
    from span_rule_candidate import lowercase_title_after

    titles = {"english daisy", "chinese giant salamander"}
    is_title = lambda s: s.lower() in titles  # noqa: E731
    text = "It is known as English daisy. The Chinese giant salamander lives in streams. Chinese Giant Panda."
    at = text.index("English")
    assert lowercase_title_after(text, at, at + 7, is_title) == "English daisy"
    at = text.index("Chinese")
    assert lowercase_title_after(text, at, at + 7, is_title) == "Chinese giant salamander"  # the longest
    at = text.rindex("Chinese")
    assert lowercase_title_after(text, at, at + 7, is_title) is None  # capitalised words: another rule's case
    assert lowercase_title_after("French food.", 0, 6, is_title) is None  # no such title

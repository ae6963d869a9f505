"""The results text has one owner: what the env writes, the agents' reader reads back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ramp_env.reading.results import MAX_RESULT_TITLE_CHARS, format_results, parse_results
from ramp_env.retrieval.base import Hit

_words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda t: t.strip() and "\n" not in t and not t.lstrip().startswith("[")
)


def test_hits_round_trip_with_cut_text_and_a_title_holding_a_line_break() -> None:
    hits = [Hit("a", "Plato", "Plato taught Aristotle.", 3.0, 0), Hit("b", "Two\nlines", "x" * 50, 2.0, 1)]
    text = format_results(hits, max_hit_chars=20)
    assert parse_results(text) == [("Plato", "Plato taught Aristotle."[:19] + "…"), ("Two lines", "x" * 19 + "…")]
    long_title = format_results([Hit("c", "T" * 1000, "body", 1.0, 0)], 100)
    assert parse_results(long_title) == [("T" * MAX_RESULT_TITLE_CHARS, "body")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_words, _words), min_size=1, max_size=5))
def test_any_titles_and_texts_read_back(pairs: list[tuple[str, str]]) -> None:
    hits = [Hit(str(i), title, text, 1.0, i) for i, (title, text) in enumerate(pairs)]
    assert parse_results(format_results(hits, max_hit_chars=10_000)) == [(t.strip(), x.strip()) for t, x in pairs]

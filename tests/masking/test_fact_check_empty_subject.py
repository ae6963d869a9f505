"""A sentence whose grammatical subject normalises to nothing ("A", "An", "&") is checked,
never a crash (it stopped an evaluation with evidence_criterion="fact")."""

from __future__ import annotations

import pytest

from ramp_env.corpus.passage import Passage
from ramp_env.masking.fact_check import SourceFact, _find
from ramp_env.text.spans import SalientSpan, SpanType, spacy_model_available

pytestmark = pytest.mark.skipif(not spacy_model_available(), reason="needs the spaCy model")


def test_an_empty_needle_is_never_found() -> None:
    assert _find(("a", "b"), ()) == -1 and _find((), ("a",)) == -1 and _find(("x", "a"), ("a",)) == 1


@pytest.mark.parametrize("subject", ["A", "An", "&", "The"])
def test_a_subject_that_normalises_to_nothing_gets_a_verdict(subject: str) -> None:
    source = Passage("s", "Marie Curie", "Marie Curie was born in Warsaw in 1867.")
    fact = SourceFact(source, SalientSpan(24, 30, SpanType("PLACE")))
    verdict = fact.check(Passage("e", "X", f"{subject} was born in Warsaw, Marie Curie said."))
    assert isinstance(verdict.supported, bool) and verdict.details.get("competing_subject") is None

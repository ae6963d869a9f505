"""Salient span extraction with spaCy, with rules, and the automatic fallback."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp_env.text import spans as spans_module
from ramp_env.text.spans import (
    RuleSpanExtractor,
    SalientSpan,
    SpacySpanExtractor,
    SpanType,
    make_span_extractor,
)

TEXT = (
    "Aristotle was born in 384 BC in Stagira, Greece. He studied at Plato's Academy in Athens for 20 years. "
    "The city had 3.5 million people in the 1990s. On 12 March 1990 the United Nations met."
)


def surfaces(text: str, found: list[SalientSpan]) -> dict[str, SpanType]:
    return {text[s.start : s.end]: s.label for s in found}


def test_rules_find_dates_numbers_and_names() -> None:
    found = surfaces(TEXT, RuleSpanExtractor().extract(TEXT))
    assert found["384 BC"] is SpanType.DATE
    assert found["12 March 1990"] is SpanType.DATE
    assert found["1990s"] is SpanType.DATE
    assert found["3.5 million"] is SpanType.NUMBER
    assert found["United Nations"] is SpanType.NAME
    assert "Stagira" in found and "Athens" in found
    assert "The" not in found and "He" not in found  # sentence-initial function words are not names


def test_spans_never_overlap_and_are_sorted() -> None:
    for extractor in (RuleSpanExtractor(),):
        found = extractor.extract(TEXT)
        assert found == sorted(found, key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in itertools.pairwise(found))


@pytest.mark.skipif(not spans_module.spacy_model_available(), reason="spaCy model not installed")
def test_spacy_finds_typed_entities() -> None:
    (found,) = SpacySpanExtractor().extract_batch([TEXT])
    typed = surfaces(TEXT, found)
    assert typed["Aristotle"] is SpanType.PERSON
    assert typed["384 BC"] is SpanType.DATE  # explicit dates take priority over the model's split
    assert typed["Athens"] is SpanType.PLACE
    assert typed["United Nations"] is SpanType.ORG


def test_auto_falls_back_to_rules_without_spacy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spans_module, "spacy_model_available", lambda model=None: False)
    with pytest.warns(UserWarning, match="rule-based"):
        extractor = make_span_extractor("auto")
    assert isinstance(extractor, RuleSpanExtractor)
    with pytest.raises(ModuleNotFoundError, match="span_extractor='rules'"):
        make_span_extractor("spacy")


def test_bad_extractor_name() -> None:
    with pytest.raises(ValueError, match="span_extractor must be"):
        make_span_extractor("nope")


def test_span_json_round_trip() -> None:
    span = SalientSpan(3, 9, SpanType.EVENT)
    assert SalientSpan.from_json(span.to_json()) == span


# -- the cleaned spaCy extractor (issue 21) --------------------------------------------------

CONFUSED = [
    # sentences where the small model's raw entities hold each class of error
    "The one-child policy was enforced at night by officials in Lusaka.",  # fragment, generic date
    "He moved to Mashhad, where he taught HTML and CSS to two students.",  # place as person, acronyms as ORG
    "The poet Hesiod wrote about farming. Neolithic tools were found in Anatolia.",  # person as ORG
    "She lived in Uttar Pradesh and later in Kandahar.",  # place as ORG
]


@pytest.mark.skipif(not spans_module.spacy_model_available(), reason="spaCy model not installed")
def test_spacy_extractor_cleans_the_models_confusions() -> None:
    extractor = SpacySpanExtractor(span_filter=False)  # the rules alone (the learned filter: test_span_filter.py)
    raw = [surfaces(t, s) for t, s in zip(CONFUSED, extractor.raw_entities(CONFUSED))]
    clean = [surfaces(t, s) for t, s in zip(CONFUSED, extractor.extract_batch(CONFUSED))]
    # the errors are there before the rules ...
    assert raw[0].get("one") is SpanType.NUMBER and raw[0].get("night") is SpanType.DATE
    assert raw[1].get("Mashhad") is SpanType.PERSON and raw[1].get("HTML") is SpanType.ORG
    assert raw[2].get("Hesiod") is SpanType.ORG and raw[3].get("Uttar Pradesh") is SpanType.ORG
    # ... and gone after
    assert "one" not in clean[0] and "night" not in clean[0] and clean[0]["Lusaka"] is SpanType.PLACE
    assert clean[1] == {"Mashhad": SpanType.PLACE}
    assert clean[2]["Hesiod"] is SpanType.PERSON
    assert clean[3]["Uttar Pradesh"] is SpanType.PLACE


@pytest.mark.skipif(not spans_module.spacy_model_available(), reason="spaCy model not installed")
def test_extract_batch_gives_what_extract_gives() -> None:
    extractor = SpacySpanExtractor(batch_size=2)
    texts = [TEXT, *CONFUSED, "", "no entities here at all."]
    assert list(extractor.extract_batch(texts)) == [extractor.extract(t) for t in texts]


def test_span_cache_key_names_the_cleaning_rules_and_the_gazetteer() -> None:
    from ramp_env.text.gazetteer import Gazetteer
    from ramp_env.text.span_filter import shipped_filter

    plain = SpacySpanExtractor()
    assert plain.cache_key.endswith(f"-v{spans_module.SPAN_RULES_VERSION}-sf{shipped_filter().fingerprint}")
    assert SpacySpanExtractor(span_filter=False).cache_key.endswith(f"-v{spans_module.SPAN_RULES_VERSION}-nofilter")
    assert spans_module.SPAN_RULES_VERSION >= 2  # v1 tables hold the uncleaned spans: never reused
    one = SpacySpanExtractor(gazetteer=Gazetteer({"lusaka": "PLACE"}))
    two = SpacySpanExtractor(gazetteer=Gazetteer({"lusaka": "ORG"}))
    assert len({plain.cache_key, one.cache_key, two.cache_key}) == 3


def test_every_span_type_says_what_it_means() -> None:
    for kind in SpanType:
        assert len(kind.description) > 20
    from ramp_env.evaluation.legend import span_type_legend

    legend = span_type_legend(["ORG", "DATE"])
    assert SpanType.ORG.description in legend and SpanType.DATE.description in legend


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 10)), max_size=25))
def test_overlap_removal_keeps_what_a_scan_of_every_kept_span_keeps(raw: list[tuple[int, int]]) -> None:
    """_remove_overlaps bisects the kept spans; the plain quadratic scan is the reference."""
    spans = [SalientSpan(a, a + n, SpanType.PLACE) for a, n in raw]
    kept: list[SalientSpan] = []
    for s in spans:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    assert spans_module._remove_overlaps(spans) == sorted(kept, key=lambda s: s.start)

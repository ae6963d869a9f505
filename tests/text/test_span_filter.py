"""ramp_env.text.span_filter: the shipped model, its arithmetic, and the extractor's use of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ramp_env.text.span_filter import CONTEXT_SIZE, CUE_NAMES, NAME_SIZE, SpanFilter, shipped_filter

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_filter_is_the_one_its_fit_reported() -> None:
    shipped = shipped_filter()
    results = json.loads((ROOT / "benchmarks" / "results" / "span_filter_fit.json").read_text(encoding="utf-8"))
    assert results["model"]["fingerprint"] == shipped.fingerprint
    assert results["model"]["threshold"] == round(shipped.threshold, 4)
    # a weight for every cue, every spaCy tensor dimension and every name-embedding dimension
    assert len(shipped.weights) == len(CUE_NAMES) + CONTEXT_SIZE + NAME_SIZE


@pytest.mark.parametrize(("weights", "threshold"), [([1.0, 2.0], 0.5), ([], 0.5), ([1.0], 1.0), ([1.0], 0.0)])
def test_inconsistent_filter_numbers_are_refused(weights: list[float], threshold: float) -> None:
    with pytest.raises(ValueError, match="span filter"):
        SpanFilter([0.0], [1.0], weights, 0.0, threshold, 1)


def test_probability_is_the_logistic_of_the_standardised_dot_product() -> None:
    f = SpanFilter([1.0, 0.0], [2.0, 1.0], [2.0, -1.0], 0.5, 0.5, 1)
    rows = np.array([[3.0, 1.0], [1.0, 0.0]])
    # z = ((3-1)/2)*2 + (1-0)/1*(-1) + 0.5 = 1.5 ; z = 0 + 0 + 0.5
    assert f.probability_bad(rows) == pytest.approx(1 / (1 + np.exp([-1.5, -0.5])))
    assert SpanFilter.from_json(f.to_json()).fingerprint == f.fingerprint


def test_a_filter_on_one_cue_drops_exactly_the_spans_with_it() -> None:
    """The extractor's features reach the model in CUE_NAMES order: a model that weighs only
    "ends_ism" drops "Hinduism" and keeps "India"."""
    from ramp_env.text.spans import make_span_extractor

    nlp = make_span_extractor("auto").nlp
    doc = nlp("Hinduism originated in India long ago.")
    size = len(CUE_NAMES) + CONTEXT_SIZE + NAME_SIZE
    weights = np.zeros(size)
    weights[CUE_NAMES.index("ends_ism")] = 10.0
    f = SpanFilter(np.zeros(size), np.ones(size), weights, -5.0, 0.5, 1)
    spans = [(doc.char_span(0, 8), "NORP"), (doc.char_span(23, 28), "PLACE")]
    assert f.keep(spans, None) == [False, True]


def test_the_unfiltered_extractor_keeps_a_superset_under_another_cache_key() -> None:
    from ramp_env.text.spans import SpacySpanExtractor

    text = ("Hermes is an Olympian deity in ancient Greek religion. Earth is the third planet from the Sun. "
            "The Mauryans held the area south of the Hindu Kush in 300 BC.")
    filtered, unfiltered = SpacySpanExtractor(), SpacySpanExtractor(span_filter=False)
    kept = {(s.start, s.end, s.label) for s in filtered.extract(text)}
    every = {(s.start, s.end, s.label) for s in unfiltered.extract(text)}
    assert kept < every  # the filter drops some of these (and adds nothing)
    assert filtered.cache_key != unfiltered.cache_key and "-sf" in filtered.cache_key


def test_the_filter_runs_only_on_the_pipeline_it_was_fitted_on() -> None:
    from ramp_env.errors import InvalidOptionError
    from ramp_env.text.spans import DEFAULT_SPACY_MODEL, SpacySpanExtractor

    assert SpacySpanExtractor(DEFAULT_SPACY_MODEL).span_filter
    other = SpacySpanExtractor("en_core_web_trf")  # not installed here: nothing loads until extraction
    assert not other.span_filter and other.cache_key.endswith("-nofilter")
    with pytest.raises(InvalidOptionError, match="fitted on"):
        SpacySpanExtractor("en_core_web_trf", span_filter=True)


def test_without_the_embeddings_extraction_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import ramp_env.models
    from ramp_env.text.spans import SpacySpanExtractor

    def missing(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'sentence_transformers'", name="sentence_transformers")

    ramp_env.models.shared_embedding_model.cache_clear()
    monkeypatch.setattr(ramp_env.models, "load_embedding_model", missing)
    try:
        with pytest.raises(ModuleNotFoundError, match=r'ramp-env\[llm\].*span_filter=False.*sentence_transformers'):
            SpacySpanExtractor().extract("Hermes is an Olympian deity worshipped in Athens.")
        # the rules alone need no embeddings
        assert SpacySpanExtractor(span_filter=False).extract("Hermes was worshipped in Athens.")
    finally:
        ramp_env.models.shared_embedding_model.cache_clear()


def test_spacy_unfiltered_names_the_rules_alone() -> None:
    from ramp_env.text.spans import make_span_extractor

    assert make_span_extractor("spacy").span_filter and make_span_extractor("auto").span_filter
    assert not make_span_extractor("spacy-unfiltered").span_filter

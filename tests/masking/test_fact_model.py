"""The "fact" criterion's logistic model: its constants are the fitted ones, and it reads them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ramp_env.masking import fact_check, fact_model

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "fact_model.json"


def test_the_constants_are_the_ones_the_fit_wrote() -> None:
    fitted = json.loads(RESULTS.read_text(encoding="utf-8"))
    assert list(fitted["weights"]) == list(fact_model.FEATURES) == list(fact_model.WEIGHTS)
    assert fitted["weights"] == fact_model.WEIGHTS
    assert fitted["intercept"] == fact_model.INTERCEPT and fitted["threshold"] == fact_model.THRESHOLD
    assert fitted["fact_check_version"] == fact_check.FACT_CHECK_VERSION
    screen = fitted["screen"]
    assert screen["weights"] == fact_model.SCREEN_WEIGHTS and list(screen["weights"]) == list(fact_model.SCREEN_FEATURES)
    assert screen["intercept"] == fact_model.SCREEN_INTERCEPT and screen["cutoff"] == fact_model.SCREEN_CUTOFF


def _features(**over: object) -> dict:
    f = {
        "subject_in_sentence": True, "subject_nearby": True, "own_article": False, "subject_in_passage": True,
        "competing_subject": None, "pronoun_subject": False, "in_compound": False, "other_date": False,
        "shared_year": False, "in_list": False, "type_mismatch": False, "same_governor": True,
        "governor_in_context": False, "shared_context": 3, "context_size": 5, "sentence_terms": 8,
        "type_group": "named", "shared_names": 1, "new_names": 0, "shared_neighbours": 2,
        "title_in_source_sentence": False, "answer_sentences": 1, "subject_in_source_sentence": False,
        "both_listed": False, "answer_is_subject": False, "subject_listed_with_answer": False,
        "title_listed_with_answer": False, "cos_plain": 0.7, "cos_titled": 0.8,
        "cos_subject": 0.8, "cos_context": 0.7, "about_source": 0.1,
    }
    f.update(over)
    return f


def test_probability_is_the_logistic_of_the_weighted_features() -> None:
    f = _features()
    z = fact_model.INTERCEPT + sum(fact_model.WEIGHTS[n] * x for n, x in zip(fact_model.FEATURES, fact_model.vector(f),
                                                                                strict=True))
    assert fact_model.probability(f) == pytest.approx(1 / (1 + math.exp(-z)))
    # every feature is read: changing any one input that has a weight moves the probability
    assert fact_model.probability(_features(cos_context=0.1)) < fact_model.probability(f)
    assert fact_model.probability(_features(subject_in_sentence=False, subject_nearby=False)) < fact_model.probability(f)


def test_decide_names_the_reason_for_a_rejection() -> None:
    assert fact_check.decide(_features(), threshold=0.0) == (True, "subject-named")
    rejected = _features(subject_in_sentence=False, subject_nearby=False)
    assert fact_check.decide(rejected, threshold=1.0) == (False, "no-subject")
    assert fact_check.decide(_features(in_compound=True), threshold=1.0) == (False, "answer-in-compound")
    assert fact_check.decide(_features(), threshold=1.0) == (False, "weak-relation")


def test_a_missing_embedding_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import ramp_env.models

    def missing(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'sentence_transformers'", name="sentence_transformers")

    monkeypatch.setattr(ramp_env.models, "load_embedding_model", missing)
    ramp_env.models.shared_embedding_model.cache_clear()
    try:
        with pytest.raises(ModuleNotFoundError, match=r"ramp-env\[llm\].*sentence_transformers"):
            fact_check._embedding_model()
    finally:
        ramp_env.models.shared_embedding_model.cache_clear()


def test_a_fact_criterion_with_a_threshold_is_parsed_and_bad_ones_are_named() -> None:
    from ramp_env.errors import InvalidOptionError
    from ramp_env.masking.evidence import parse_criterion

    assert parse_criterion("fact") == ("fact", None) and parse_criterion("context") == ("context", None)
    assert parse_criterion("fact:0.75") == ("fact", 0.75)
    for bad in ("fact:", "fact:1", "fact:0", "fact:0.4", "fact:x", "fact:nan", "context:0.5", "strict", 3):
        with pytest.raises(InvalidOptionError, match="evidence criterion"):
            parse_criterion(bad)  # type: ignore[arg-type]


def test_the_env_takes_a_stricter_fact_point() -> None:
    from ramp_env.envs.config import RAMPConfig
    from ramp_env.errors import InvalidOptionError

    assert RAMPConfig(evidence_criterion="fact:0.8").evidence_criterion == "fact:0.8"
    with pytest.raises(InvalidOptionError, match="fact:T"):
        RAMPConfig(evidence_criterion="fact:2")


class _CountingEncoder:
    """A stand-in for MiniLM (a mock is enough: this tests the cache, not the model)."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], **kwargs: object) -> list[tuple[str]]:
        self.encoded += texts
        return [(t,) for t in texts]


def test_a_cached_vector_trimmed_in_the_same_call_is_still_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = _CountingEncoder()
    monkeypatch.setattr(fact_check, "_embedding_model", lambda: encoder)
    monkeypatch.setattr(fact_check, "_VECTORS", {})
    monkeypatch.setattr(fact_check, "_MAX_VECTORS", 4)
    assert fact_check._embed(["Alaska", "a", "b"]) == [("Alaska",), ("a",), ("b",)]
    # two new texts overflow the cache, whose oldest half (Alaska among it) is dropped in this call
    assert fact_check._embed(["Alaska", "c", "d"]) == [("Alaska",), ("c",), ("d",)]
    assert encoder.encoded == ["Alaska", "a", "b", "c", "d"]  # the cached one was not encoded again
    assert len(fact_check._VECTORS) <= 4

"""The MiniLM embedding judge: calibration, the numbers check, caching, and errors."""

from __future__ import annotations

import pickle

import pytest

from ramp_env.rewards.judges import EmbeddingJudge, number_agreement
from ramp_env.rewards.judges.embedding import DEFAULT_HIGH, DEFAULT_LOW, number_tokens


def test_calibration_maps_low_high_to_zero_one(embedding_judge) -> None:
    assert embedding_judge.calibrate(DEFAULT_LOW) == 0.0
    assert embedding_judge.calibrate(DEFAULT_HIGH) == 1.0
    assert embedding_judge.calibrate(-1.0) == 0.0 and embedding_judge.calibrate(1.0) == 1.0
    mid = (DEFAULT_LOW + DEFAULT_HIGH) / 2
    assert embedding_judge.calibrate(mid) == pytest.approx(0.5)


def test_paraphrase_is_closer_than_a_wrong_answer(embedding_judge) -> None:
    assert embedding_judge.similarity("the Second World War", "World War II") > embedding_judge.similarity(
        "the French Revolution", "World War II"
    )
    scores = embedding_judge.score(["JFK", "Marie Curie"], ["John F. Kennedy", "John F. Kennedy"])
    assert scores[0] > 0.3 and scores[1] == 0.0


@pytest.mark.parametrize(
    ("text", "numbers"),
    [("19th century", {"19th": 1}), ("nineteenth century", {"19th": 1}), ("five million", {"5": 1}),
     ("1,000 km", {"1000": 1}), ("Paris", {})],
)
def test_number_tokens(text: str, numbers: dict[str, int]) -> None:
    assert dict(number_tokens(text)) == numbers


def test_number_agreement() -> None:
    assert number_agreement("384 kilometres", "384 km") == 1.0
    assert number_agreement("12 km", "384 km") == 0.0
    assert number_agreement("1776", "4 July 1776") == pytest.approx(2 / 3)
    assert number_agreement("Paris 1900", "Paris") == 1.0  # no number in the gold: embeddings decide


def test_numbers_check_zeroes_a_wrong_number(embedding_judge) -> None:
    loose = EmbeddingJudge(model=embedding_judge.model, numbers_must_match=False)
    # embeddings barely tell these numbers apart; the numbers check does
    for wrong, gold in [("7 million", "5 million"), ("50 °C", "100 °C"), ("18th century", "19th century")]:
        assert loose.score([wrong], [gold])[0] > 0.3
        assert embedding_judge.score([wrong], [gold])[0] == 0.0


def test_embeddings_are_cached_per_string(embedding_judge) -> None:
    judge = EmbeddingJudge(model=embedding_judge.model)
    judge.score(["Lisbon", "Lisboa"], ["Portugal's capital", "Portugal's capital"])
    assert len(judge._vectors) == 3  # the gold is embedded once


def test_pickling_keeps_a_passed_model_and_drops_a_loaded_one(embedding_judge) -> None:
    judge = EmbeddingJudge(model=embedding_judge.model)
    score = judge.score(["Lisboa"], ["Lisbon"])
    assert pickle.loads(pickle.dumps(judge)).score(["Lisboa"], ["Lisbon"]) == score
    lazy = EmbeddingJudge()  # loads the offline model on first use
    assert pickle.loads(pickle.dumps(lazy))._model is None


def test_invalid_calibration_is_rejected() -> None:
    with pytest.raises(ValueError, match="low < high"):
        EmbeddingJudge(low=0.9, high=0.5)

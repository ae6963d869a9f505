"""Property tests: every reward stays in its documented range, is deterministic, and reports its parts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ramp_env.rewards import HackPenalty, RewardResult, make_reward, normalize_answer

CHEAP = ["recall", "penalized_recall", "em", "f1"]

# answer-like text: words, digits, punctuation, separators, unicode, control tokens
words = st.sampled_from(
    ["Paris", "the", "and", "or", "possibly", "1,000", "3.5", "July", "4,", "1776", "km", "Obama", "é", "—", "<|im_end|>",
     "</candidate>", "yes", "no", ",", ";", "/", "\n"]
)
answer = st.one_of(st.text(max_size=60), st.lists(words, max_size=30).map(" ".join))


@settings(max_examples=300, deadline=None)
@given(text=answer)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_answer(text)
    assert normalize_answer(once) == once


@pytest.mark.parametrize("name", CHEAP)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prediction=answer, gold=answer)
def test_cheap_rewards_in_unit_interval_and_deterministic(name: str, prediction: str, gold: str) -> None:
    first = make_reward(name)([prediction], [gold])
    again = make_reward(name)([prediction], [gold])
    assert 0.0 <= first.reward <= 1.0
    assert first == again


@settings(max_examples=200, deadline=None)
@given(prediction=answer, gold=answer)
def test_penalty_in_unit_interval(prediction: str, gold: str) -> None:
    parts = HackPenalty().parts(prediction, gold)
    assert 0.0 <= parts.length <= 1.0 and 0.0 <= parts.enumeration < 1.0 and 0.0 <= parts.total <= 1.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prediction=answer, gold=answer)
def test_judge_in_unit_interval_and_deterministic(embedding_judge, prediction: str, gold: str) -> None:
    from ramp_env.rewards.judges import EmbeddingJudge

    reward = make_reward("judge")
    first = reward([prediction], [gold]).reward
    assert 0.0 <= first <= 1.0
    # a fresh judge (empty caches, same model) gives the very same score
    fresh = EmbeddingJudge(model=embedding_judge.model)
    assert make_reward(fresh)([prediction], [gold]).reward == first


@pytest.mark.parametrize("name", [*CHEAP, "judge"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(predictions=st.lists(st.one_of(st.none(), answer), min_size=1, max_size=4), data=st.data())
def test_episode_result_shape(name: str, predictions: list[str | None], data: st.DataObject) -> None:
    golds = data.draw(st.lists(answer, min_size=len(predictions), max_size=len(predictions)))
    result = make_reward(name)(predictions, golds)
    assert isinstance(result, RewardResult)
    assert len(result.per_mask) == len(golds)
    assert result.reward == pytest.approx(sum(result.per_mask) / len(golds))
    assert all(0.0 <= s <= 1.0 for s in result.per_mask)
    for i, score in enumerate(result.per_mask, start=1):
        assert result.components[f"mask_{i}"] == score
    for i, pred in enumerate(predictions):
        if pred is None:
            assert result.per_mask[i] == 0.0
    if name in ("penalized_recall", "judge"):
        assert -1.0 <= result.components["penalty"] <= 0.0
    else:
        assert "penalty" not in result.components

"""Checker of exercise 2: a per-mask reward that resists enumeration and length hacks."""

from __future__ import annotations

import numpy as np
import pytest

from exercises._harness import QueryThenPickAgent, expect, lite_rewards
from ramp_env.reading import build_query, mask_contexts

TASKS = 60
LONG_TEXT = (
    "The tower was designed by the engineering company of Gustave Eiffel and built for the world fair held in "
    "the French capital, where it was completed in 1889 after two years of work, and it was the tallest "
    "structure in the world for four decades"
)


@pytest.fixture(scope="module")
def mask_reward(exercise):
    return exercise("ex2_reward").mask_reward


@pytest.mark.parametrize(
    "prediction,gold",
    [("Paris", "Paris"), ("the Eiffel Tower", "Eiffel tower."), ("1,000", "1000"), ("BARACK OBAMA", "Barack Obama")],
)
def test_correct_answers_score_one(mask_reward, prediction: str, gold: str) -> None:
    score = mask_reward(prediction, gold)
    expect(score == pytest.approx(1.0),
           f"Expected mask_reward({prediction!r}, {gold!r}) to be 1.0 (a correct answer), got {score!r}.")


def test_partial_answers_get_partial_credit(mask_reward) -> None:
    score = mask_reward("Obama", "Barack Obama")
    expect(0.4 <= score < 1.0,
           f"Expected mask_reward('Obama', 'Barack Obama') to be partial credit, at least 0.4 and below 1.0, "
           f"got {score!r}.")


@pytest.mark.parametrize("prediction,gold", [("London", "Paris"), ("", "Paris"), ("1890", "1889")])
def test_wrong_answers_score_zero(mask_reward, prediction: str, gold: str) -> None:
    score = mask_reward(prediction, gold)
    expect(score == pytest.approx(0.0),
           f"Expected mask_reward({prediction!r}, {gold!r}) to be 0.0 (a wrong answer), got {score!r}.")


def test_scores_stay_in_the_unit_interval(mask_reward) -> None:
    rng = np.random.default_rng(0)
    words = ["Paris", "the", "1889", "Obama", "Barack", "tower", ",", "Eiffel", "of", "a"]
    for _ in range(300):
        prediction = " ".join(rng.choice(words, size=rng.integers(0, 12)))
        gold = " ".join(rng.choice(words, size=rng.integers(1, 4)))
        score = mask_reward(prediction, gold)
        expect(0.0 <= score <= 1.0,
               f"Expected every score in [0, 1], got mask_reward({prediction!r}, {gold!r}) = {score!r}.")


@pytest.mark.parametrize(
    "candidates", [["London", "Rome", "Paris", "Berlin", "Madrid"], ["Lyon", "Paris", "Nice", "Lille", "Metz", "Caen", "Brest", "Tours"]]
)
def test_listing_candidates_earns_little(mask_reward, candidates: list[str]) -> None:
    listing = ", ".join(candidates)
    score = mask_reward(listing, "Paris")
    expect(score <= 0.35,
           f"Expected at most 0.35 for a list of {len(candidates)} candidates that includes the gold, "
           f"got mask_reward({listing!r}, 'Paris') = {score!r}.")


def test_a_long_text_containing_the_answer_earns_nothing_much(mask_reward) -> None:
    assert len(LONG_TEXT.split()) >= 30  # the checker's own premise, not the student's
    score = mask_reward(LONG_TEXT, "1889")
    expect(score <= 0.1,
           f"Expected at most 0.1 for a {len(LONG_TEXT.split())}-word text that contains the gold '1889', "
           f"got {score!r}.")


def test_enumerating_agent_scores_below_an_honest_one(mask_reward, lite_cache) -> None:
    def query(title: str, masked_passage: str, number: int) -> str:
        return build_query(mask_contexts(masked_passage)[number], title, "title+near")

    honest = lite_rewards(QueryThenPickAgent(query), TASKS, lite_cache, reward=mask_reward)
    enumerating = lite_rewards(QueryThenPickAgent(query, enumerate_top=5), TASKS, lite_cache, reward=mask_reward)
    print(f"honest {honest.mean():.3f}   enumerating top-5 {enumerating.mean():.3f}  ({TASKS} tasks)")
    expect(enumerating.mean() < honest.mean(),
           f"Expected the enumerating agent (top-5 candidates per mask) to score below the honest one on "
           f"{TASKS} tasks, got {enumerating.mean():.3f} for it and {honest.mean():.3f} for the honest agent.")

"""Aliases and abbreviations of the gold score as the gold under every named reward; near misses do not."""

from __future__ import annotations

import pytest

from ramp_env.rewards import make_reward
from ramp_env.rewards.aliases import (
    ALIAS_GROUPS,
    ONE_WAY_ALIASES,
    _build_table,
    accepts,
    alias_key,
    alias_keys,
    resolve_alias,
)

TOKEN_REWARDS = ["recall", "penalized_recall", "em", "f1"]

# (prediction, gold): the gold written another way
SAME = [
    ("US", "United States"), ("USA", "United States"), ("U.S.", "United States"), ("U.S.A.", "United States"),
    ("the United States of America", "United States"), ("America", "United States"), ("the US", "United States"),
    ("United States", "US"), ("United States", "U.S."), ("US", "U.S."),
    ("UK", "United Kingdom"), ("U.K.", "United Kingdom"), ("Britain", "United Kingdom"), ("UK", "Great Britain"),
    ("USSR", "Soviet Union"), ("U.S.S.R.", "Soviet Union"), ("Soviet Union", "USSR"),
    ("EU", "European Union"), ("UN", "United Nations"), ("NYC", "New York City"), ("New York", "New York City"),
    ("J. F. Kennedy", "John F. Kennedy"), ("J.F. Kennedy", "John F. Kennedy"), ("JFK", "John F. Kennedy"),
    ("John Fitzgerald Kennedy", "J. F. Kennedy"), ("J. R. R. Tolkien", "John Ronald Reuel Tolkien"),
    ("NATO", "North Atlantic Treaty Organization"), ("North Atlantic Treaty Organization", "NATO"),
    ("WWII", "World War II"), ("Second World War", "World War II"), ("Burma", "Myanmar"),
]
# (prediction, gold): near misses, another thing
DIFFERENT = [
    ("UK", "Ukraine"), ("US", "USSR"), ("USSR", "US"), ("USSR", "United States"), ("U.S.", "Soviet Union"),
    ("United States", "America"),  # "America" may be the continent: a one-way alias
    ("New York City", "New York"),  # the state
    ("Ukraine", "United Kingdom"), ("UAE", "United Kingdom"), ("EU", "United Nations"),
    ("R. F. Kennedy", "John F. Kennedy"), ("J. Kennedy", "John F. Kennedy"), ("George Bush", "George W. Bush"),
    ("Lincoln", "Abraham Lincoln"),  # a surname alone is not the person (docs: partial token credit only)
    ("Thomas Lincoln", "Abraham Lincoln"), ("Uruguay, Spain", "US"),  # a list, not an expansion
    ("WWI", "World War II"), ("North Korea", "South Korea"), ("ROK", "DPRK"),
    ("US", "Upper Silesia"), ("Upper Silesia", "US"),  # two letters: only the table's acronyms
    ("Uruguay, Spain, Argentina", "USA"), ("USS", "USSR"),
]


@pytest.mark.parametrize(("prediction", "gold"), SAME)
@pytest.mark.parametrize("reward", TOKEN_REWARDS)
def test_an_alias_scores_as_the_gold(reward: str, prediction: str, gold: str) -> None:
    result = make_reward(reward)([prediction], [gold])
    assert result.reward == pytest.approx(1.0), (prediction, gold)


@pytest.mark.parametrize(("prediction", "gold"), DIFFERENT)
def test_near_misses_are_not_aliases(prediction: str, gold: str) -> None:
    assert not accepts(prediction, gold)
    assert make_reward("em")([prediction], [gold]).reward == 0.0


def test_surname_keeps_its_token_credit_only() -> None:
    assert make_reward("recall")(["Lincoln"], ["Abraham Lincoln"]).reward == pytest.approx(0.5)


@pytest.mark.parametrize(("prediction", "gold"), [("US", "United States"), ("JFK", "John F. Kennedy"), ("U.K.", "UK")])
def test_a_judge_sees_the_gold_for_an_alias(prediction: str, gold: str) -> None:
    from ramp_env.rewards.judges.base import CachedJudge

    class ExactJudge(CachedJudge):  # a real (model-free) judge: exact match after normalisation only
        name = "exact"

        def fingerprint(self) -> str:
            return "exact"

        def _score_pairs(self, pairs):
            return [0.0 for _ in pairs]

    assert make_reward(ExactJudge())([prediction], [gold]).reward == pytest.approx(1.0)


def test_the_embedding_judge_accepts_an_alias(embedding_judge) -> None:
    assert make_reward("judge")(["America"], ["United States"]).reward == pytest.approx(1.0)
    assert make_reward("judge")(["UK"], ["Ukraine"]).reward < 0.5


@pytest.mark.parametrize("reward", ["penalized_recall", "em"])
def test_an_alias_inside_a_list_is_penalised_like_the_gold(reward: str) -> None:
    fn = make_reward(reward)
    with_alias = fn(["Paris, US, London, Berlin, Rome"], ["United States"]).reward
    with_gold = fn(["Paris, United States, London, Berlin, Rome"], ["United States"]).reward
    assert with_alias == pytest.approx(with_gold) and with_alias <= 0.3


def test_resolve_rewrites_only_the_alias_in_a_list() -> None:
    assert resolve_alias("Paris, UK or Rome", "United Kingdom") == "Paris, United Kingdom or Rome"
    assert resolve_alias("Paris, Rome", "United Kingdom") == "Paris, Rome"
    assert resolve_alias("U.K.", "United Kingdom") == "United Kingdom"


def test_a_callable_reward_sees_the_raw_prediction() -> None:
    seen: list[str] = []

    def scorer(prediction: str, gold: str) -> float:
        seen.append(prediction)
        return 0.0

    make_reward(scorer)(["US"], ["United States"])
    assert seen == ["US"]


def test_aliases_can_be_switched_off() -> None:
    from ramp_env.rewards import PerMaskReward, token_recall

    assert PerMaskReward(token_recall, "recall", aliases=False)(["US"], ["United States"]).reward == 0.0


def test_the_alias_table_is_consistent() -> None:
    _build_table()  # raises when one form is in two groups
    keys = [alias_key(form) for group in ALIAS_GROUPS for form in group]
    assert len(keys) == len(set(keys)), "a form appears twice"
    for group in ALIAS_GROUPS:
        for a in group:
            for b in group:
                assert accepts(a, b), (a, b)
    for gold, looser in ONE_WAY_ALIASES.items():
        for form in looser:
            assert accepts(form, gold) and not accepts(gold, form), (gold, form)


def test_default_reward_is_penalized_recall() -> None:
    from ramp_env.rewards import DEFAULT_REWARD

    assert DEFAULT_REWARD == "penalized_recall"
    assert make_reward().name == "penalized_recall"


def test_alias_keys_are_the_keys_of_the_forms_in_its_group() -> None:
    for group in ALIAS_GROUPS[:20]:
        keys = {alias_key(form) for form in group}
        assert all(alias_keys(form) >= keys for form in group)
    assert alias_keys("a phrase in no alias group at all") == frozenset()

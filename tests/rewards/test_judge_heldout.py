"""``reward="judge"`` against the held-out half of the labelled pairs it was not tuned on.

``benchmarks/data/judge_pairs.jsonl`` was split once into ``tune`` (used to write the rules and
fit ``low``/``high``) and ``test``; this checks the test half against the targets of issue 15.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import mannwhitneyu

from ramp_env.text.spans import SPACY_LABELS

PAIRS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "judge_pairs.jsonl"


def load(split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def test_the_labelled_set_is_large_split_once_and_covers_every_span_type() -> None:
    rows = load()
    assert len(rows) >= 300
    assert {r["split"] for r in rows} == {"tune", "test"}
    assert {r["label"] for r in rows} == {0, 1}
    # stratified: every category is in both halves, in near-equal numbers
    per_split = Counter((r["category"], r["split"]) for r in rows)
    for category in {r["category"] for r in rows}:
        assert abs(per_split[(category, "tune")] - per_split[(category, "test")]) <= 1
    # a pair is in one half only
    keys = Counter((r["gold"], r["prediction"]) for r in rows)
    assert max(keys.values()) == 1
    spacy_types = {t.value for t in SPACY_LABELS.values()}  # every type the default (spaCy) extractor gives
    assert spacy_types <= {r["span_type"] for r in load("test")}


@pytest.mark.slow
def test_judge_meets_the_targets_on_the_test_half(embedding_judge) -> None:
    rows = load("test")
    scores = embedding_judge.score([r["prediction"] for r in rows], [r["gold"] for r in rows])
    labels = [r["label"] for r in rows]
    accuracy = sum((s >= 0.5) == bool(y) for s, y in zip(scores, labels)) / len(rows)
    positives = [s for s, y in zip(scores, labels) if y]
    negatives = [s for s, y in zip(scores, labels) if not y]
    auc = mannwhitneyu(positives, negatives).statistic / (len(positives) * len(negatives))
    assert accuracy >= 0.95, accuracy
    assert auc >= 0.97, auc


@pytest.mark.slow
def test_judge_as_a_reward_meets_the_targets_on_the_test_half(embedding_judge) -> None:
    """``reward="judge"`` is the judge minus the hack penalty: the penalty must not undo the judge."""
    from ramp_env.rewards.base import JudgeReward

    rows = load("test")
    reward = JudgeReward(embedding_judge)
    scores = reward([r["prediction"] for r in rows], [r["gold"] for r in rows]).per_mask
    labels = [r["label"] for r in rows]
    accuracy = sum((s >= 0.5) == bool(y) for s, y in zip(scores, labels)) / len(rows)
    positives = [s for s, y in zip(scores, labels) if y]
    negatives = [s for s, y in zip(scores, labels) if not y]
    auc = mannwhitneyu(positives, negatives).statistic / (len(positives) * len(negatives))
    assert accuracy >= 0.95, accuracy
    assert auc >= 0.97, auc


@pytest.mark.parametrize(("name", "split"), [("judge_pairs_fresh.jsonl", "fresh"), ("judge_pairs_blind.jsonl", "blind")])
def test_the_later_sets_are_new_and_cover_every_span_type_the_env_masks(name: str, split: str) -> None:
    """The fresh and blind sets were labelled after the first: none of its pairs, every span type."""
    from ramp_env.text.spans import SpanType

    rows = [json.loads(line) for line in PAIRS.with_name(name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300 and {r["split"] for r in rows} == {split} and {r["label"] for r in rows} == {0, 1}
    old = {(r["gold"], r["prediction"]) for r in load()}
    assert not old & {(r["gold"], r["prediction"]) for r in rows}
    types = Counter(r["span_type"] for r in rows)
    assert set(types) == {t.value for t in SpanType} and min(types.values()) >= 15, types
    if split == "blind":  # written apart from the others: not even a gold in common
        earlier = {r["gold"].lower() for r in load()} | {
            json.loads(line)["gold"].lower()
            for line in PAIRS.with_name("judge_pairs_fresh.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
        assert not earlier & {r["gold"].lower() for r in rows}

"""Mask sampling: numbering, non-overlap, candidate filtering, strategy seam."""

from __future__ import annotations

import numpy as np
import pytest

from ramp_env.corpus.passage import Passage
from ramp_env.masking import (
    MASK_STRATEGIES,
    RandomMaskStrategy,
    make_mask_strategy,
    mask_passage,
    maskable_spans,
    register_mask_strategy,
)
from ramp_env.text.spans import SalientSpan, SpanType

PASSAGE = Passage("p1", "Aristotle", "Aristotle was born in 384 BC in Stagira and taught Alexander in Macedon.")


def span(text: str, label: SpanType = SpanType.NAME) -> SalientSpan:
    start = PASSAGE.text.index(text)
    return SalientSpan(start, start + len(text), label)


def test_mask_passage_numbers_in_reading_order() -> None:
    task = mask_passage(PASSAGE, [span("Macedon"), span("384 BC", SpanType.DATE)])
    assert task.masked_text == "Aristotle was born in [mask_1] in Stagira and taught Alexander in [mask_2]."
    assert task.answers == ("384 BC", "Macedon") and task.span_types == ("DATE", "NAME")


def test_overlapping_spans_are_rejected() -> None:
    with pytest.raises(ValueError, match="overlap"):
        mask_passage(PASSAGE, [span("384 BC"), SalientSpan(span("384 BC").start + 1, span("384 BC").end + 3, SpanType.DATE)])


def test_title_and_repeated_spans_are_not_maskable() -> None:
    candidates = maskable_spans(PASSAGE, [span("Aristotle"), span("Stagira")], show_title=True)
    assert candidates == [span("Stagira")]
    assert span("Aristotle") in maskable_spans(PASSAGE, [span("Aristotle")], show_title=False)
    twice = Passage("p2", "", "Rome fell. Rome rose.")
    assert maskable_spans(twice, [SalientSpan(0, 4, SpanType.PLACE)]) == []


def test_random_strategy_is_seeded_and_returns_none_when_too_few() -> None:
    cands = [span("384 BC"), span("Stagira"), span("Alexander"), span("Macedon")]
    strategy = RandomMaskStrategy()
    a = strategy.choose(PASSAGE, cands, 2, np.random.default_rng(0))
    b = strategy.choose(PASSAGE, cands, 2, np.random.default_rng(0))
    assert a == b and len(a) == 2 and a == sorted(a, key=lambda s: s.start)
    picks = {tuple(strategy.choose(PASSAGE, cands, 2, np.random.default_rng(s))) for s in range(30)}
    assert len(picks) > 3
    assert strategy.choose(PASSAGE, cands, 5, np.random.default_rng(0)) is None


def test_strategy_registry_seam() -> None:
    class FirstSpans:
        name = "first"

        def choose(self, passage, candidates, k, rng):
            return list(candidates[:k]) if len(candidates) >= k else None

    register_mask_strategy("first", FirstSpans)
    try:
        assert make_mask_strategy("first").name == "first"
    finally:
        MASK_STRATEGIES.pop("first")
    with pytest.raises(ValueError, match="unknown mask_strategy"):
        make_mask_strategy("first")


# a list-like passage: four places and one date, the shape that made 4-mask tasks mostly places
LIST_PASSAGE = Passage("p2", "Borders", "It borders Peru, Chile, Bolivia and Brazil since 1825.")


def list_span(text: str, label: SpanType) -> SalientSpan:
    start = LIST_PASSAGE.text.index(text)
    return SalientSpan(start, start + len(text), label)


LIST_CANDIDATES = [list_span(t, SpanType.PLACE) for t in ("Peru", "Chile", "Bolivia", "Brazil")] + [
    list_span("1825", SpanType.DATE)
]


def _date_rate(strategy, k: int, trials: int = 2000) -> float:
    rng = np.random.default_rng(0)
    picks = [strategy.choose(LIST_PASSAGE, LIST_CANDIDATES, k, rng) for _ in range(trials)]
    assert all(len(p) == k and p == sorted(p, key=lambda s: s.start) for p in picks)
    return sum(any(s.label is SpanType.DATE for s in p) for p in picks) / trials


def test_balanced_strategy_spreads_masks_over_types() -> None:
    balanced, uniform = make_mask_strategy("balanced"), make_mask_strategy("random")
    # uniform: the date is among 2 of 5 spans with probability 2/5; balanced: far more often
    assert _date_rate(uniform, 2) == pytest.approx(0.4, abs=0.04)
    assert _date_rate(balanced, 2) > 0.65
    # with one mask, or one type only, it is uniform
    assert _date_rate(balanced, 1) == pytest.approx(0.2, abs=0.03)
    places = LIST_CANDIDATES[:4]
    rng = np.random.default_rng(1)
    firsts = [make_mask_strategy("balanced").choose(LIST_PASSAGE, places, 1, rng)[0].start for _ in range(2000)]
    assert max(firsts.count(s.start) for s in places) / 2000 < 0.3


def test_balanced_is_random_seed_for_seed_with_one_mask() -> None:
    for seed in range(20):
        picks = [make_mask_strategy(name).choose(LIST_PASSAGE, LIST_CANDIDATES, 1, np.random.default_rng(seed))
                 for name in ("balanced", "random")]
        assert picks[0] == picks[1]


def test_balanced_strategy_keeps_list_like_tasks_rarely() -> None:
    strategy, rng = make_mask_strategy("balanced"), np.random.default_rng(3)
    places = LIST_CANDIDATES[:4]
    # four masks, all places: one type holds 4 of 4, two more than max(2, ceil(4/2)): kept 1 in 16
    kept = sum(strategy.choose(LIST_PASSAGE, places, 4, rng) is not None for _ in range(4000)) / 4000
    assert kept == pytest.approx(1 / 16, abs=0.015)
    # three masks over three places and a date: at most 2 places is fine, 3 places kept 1 in 4
    picks = [strategy.choose(LIST_PASSAGE, LIST_CANDIDATES, 3, rng) for _ in range(4000)]
    kept_picks = [p for p in picks if p is not None]
    three_places = sum(all(s.label is SpanType.PLACE for s in p) for p in kept_picks) / len(kept_picks)
    uniform = sum(all(s.label is SpanType.PLACE for s in make_mask_strategy("random").choose(
        LIST_PASSAGE, LIST_CANDIDATES, 3, rng)) for _ in range(4000)) / 4000
    assert uniform == pytest.approx(0.4, abs=0.04)  # C(4,3)/C(5,3)
    assert three_places < uniform / 4
    # two masks are never rejected
    assert all(strategy.choose(LIST_PASSAGE, places, 2, rng) is not None for _ in range(200))


def test_balanced_strategy_rejects_what_random_rejects() -> None:
    assert make_mask_strategy("balanced").choose(LIST_PASSAGE, LIST_CANDIDATES[:2], 3, np.random.default_rng(0)) is None
    with pytest.raises(ValueError, match="repeat_penalty"):
        make_mask_strategy("balanced", repeat_penalty=0.5)


def test_default_strategy_is_balanced(make_env) -> None:
    assert make_env().mask_strategy.name == "balanced"

"""The perplexity mask strategy: selection, caching, env integration, and (slow) the real LM."""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ramp_env.corpus.passage import Passage
from ramp_env.masking import RandomMaskStrategy, make_mask_strategy, mask_passage, maskable_spans
from ramp_env.masking.perplexity import LMSpanScorer, PerplexityMaskStrategy, SpanScoreCache
from ramp_env.text.spans import SalientSpan, SpanType

TEXT = "Alpha met Bravo in Charlie during 1990 and Delta left for Echo."


def spans_of(text: str, words: Sequence[str]) -> list[SalientSpan]:
    out = []
    for word in words:
        start = text.index(word)
        out.append(SalientSpan(start, start + len(word), SpanType.NAME))
    return out


class LengthScorer:
    """Scores a span by its length (longer = "harder") and counts the spans it scored."""

    cache_key = "length-v1"

    def __init__(self) -> None:
        self.scored = 0

    def __call__(self, passage: Passage, spans: Sequence[SalientSpan]) -> list[float]:
        self.scored += len(spans)
        return [float(s.end - s.start) for s in spans]


PASSAGE = Passage("p1", "", TEXT)
CANDIDATES = spans_of(TEXT, ["Alpha", "Bravo", "Charlie", "1990", "Delta", "Echo"])


def test_top_k_takes_the_highest_scores_in_reading_order() -> None:
    strategy = PerplexityMaskStrategy(scorer=LengthScorer())
    chosen = strategy.choose(PASSAGE, CANDIDATES, 2, np.random.default_rng(0))
    words = [TEXT[s.start : s.end] for s in chosen]
    assert "Charlie" in words and len(words[1 - words.index("Charlie")]) == 5  # 7 letters, then a 5-letter tie
    assert chosen == sorted(chosen, key=lambda s: s.start)
    # "Alpha", "Bravo" and "Delta" tie at 5 characters: the tie is broken by the rng, reproducibly
    picks = {TEXT[s.start : s.end] for seed in range(20) for s in
             strategy.choose(PASSAGE, CANDIDATES, 2, np.random.default_rng(seed))} - {"Charlie"}
    assert picks == {"Alpha", "Bravo", "Delta"}
    again = [strategy.choose(PASSAGE, CANDIDATES, 2, np.random.default_rng(7)) for _ in range(2)]
    assert again[0] == again[1]


def test_too_few_candidates_gives_none() -> None:
    strategy = PerplexityMaskStrategy(scorer=LengthScorer())
    assert strategy.choose(PASSAGE, CANDIDATES[:1], 2, np.random.default_rng(0)) is None


def test_temperature_samples_towards_hard_spans() -> None:
    strategy = PerplexityMaskStrategy(scorer=LengthScorer(), temperature=0.5)
    rng = np.random.default_rng(0)
    counts = {w: 0 for w in ["Alpha", "Bravo", "Charlie", "1990", "Delta", "Echo"]}
    for _ in range(400):
        chosen = strategy.choose(PASSAGE, CANDIDATES, 1, rng)
        counts[TEXT[chosen[0].start : chosen[0].end]] += 1
    # softmax(len / 0.5): Charlie (7) is e^4 = 55x as likely as a 5-letter word, Echo (4) e^-2 as likely
    assert counts["Charlie"] > 300
    assert counts["Echo"] + counts["1990"] < counts["Alpha"] + counts["Bravo"] + counts["Delta"]
    with pytest.raises(ValueError, match="temperature"):
        PerplexityMaskStrategy(scorer=LengthScorer(), temperature=-1.0)


def test_max_candidates_bounds_the_spans_scored() -> None:
    scorer = LengthScorer()
    strategy = PerplexityMaskStrategy(scorer=scorer, max_candidates=3)
    chosen = strategy.choose(PASSAGE, CANDIDATES, 2, np.random.default_rng(0))
    assert len(chosen) == 2 and scorer.scored == 3


def test_scores_are_cached_in_sqlite_and_shared(tmp_path: Path) -> None:
    class FakeCorpus:
        directory = tmp_path

    first_scorer = LengthScorer()
    first = PerplexityMaskStrategy(scorer=first_scorer)
    first.bind_corpus(FakeCorpus())  # type: ignore[arg-type]
    first.choose(PASSAGE, CANDIDATES, 2, np.random.default_rng(0))
    first.choose(PASSAGE, CANDIDATES, 2, np.random.default_rng(1))
    assert first_scorer.scored == len(CANDIDATES)  # the second draw hit the cache
    path = tmp_path / "ppl-length-v1.sqlite"
    assert path.is_file() and len(SpanScoreCache(path)) == len(CANDIDATES)

    second_scorer = LengthScorer()  # another env (or process) on the same corpus
    second = PerplexityMaskStrategy(scorer=second_scorer)
    second.bind_corpus(FakeCorpus())  # type: ignore[arg-type]
    assert second.span_scores(PASSAGE, CANDIDATES) == [5.0, 5.0, 7.0, 4.0, 5.0, 4.0]
    assert second_scorer.scored == 0


def test_unbound_strategy_caches_in_memory_and_pickles_without_it() -> None:
    scorer = LengthScorer()
    strategy = PerplexityMaskStrategy(scorer=scorer)
    strategy.span_scores(PASSAGE, CANDIDATES)
    strategy.span_scores(PASSAGE, CANDIDATES)
    assert scorer.scored == len(CANDIDATES)
    restored = pickle.loads(pickle.dumps(strategy))
    assert restored._memory == {}


def test_lm_scorer_pickles_without_weights_and_names_its_cache() -> None:
    scorer = LMSpanScorer(context="left")
    scorer._loaded = ("weights", "tokenizer")  # stands in for a loaded model
    restored = pickle.loads(pickle.dumps(scorer))
    assert restored._loaded is None
    assert LMSpanScorer(context="left").cache_key != LMSpanScorer(context="masked").cache_key
    prompt, target = LMSpanScorer(window_chars=10).prompt(TEXT, CANDIDATES[2])
    assert prompt == " Bravo in [MASK] during 19\n[MASK] =" and target == " Charlie"  # 10 chars each side
    with pytest.raises(ValueError, match="context"):
        LMSpanScorer(context="right")  # type: ignore[arg-type]


def test_env_masks_what_the_strategy_ranks_hardest(make_env) -> None:
    scorer = LengthScorer()
    env = make_env(num_masks=2, mask_strategy=PerplexityMaskStrategy(scorer=scorer, max_candidates=None))
    assert env.mask_strategy.cache is not None
    assert env.mask_strategy.cache.path.parent == env.corpus.directory
    for seed in range(3):
        env.reset(seed=seed)
        task = env.task
        passage = env.corpus.store.get(env.corpus.store.rowid_of(task.passage_id))
        row = env.corpus.store.rowid_of(task.passage_id)
        # the strategy ranks the spans the env may mask: maskable and, by default, supported by evidence
        candidates = env.evidence.supported_spans(passage, maskable_spans(passage, env.spans.get(row)))
        lengths = sorted((s.end - s.start for s in candidates), reverse=True)
        assert sorted((len(a) for a in task.answers), reverse=True) == lengths[:2]


def test_ppl_name_resolves_lazily() -> None:
    strategy = make_mask_strategy("ppl")
    assert isinstance(strategy, PerplexityMaskStrategy) and strategy.name == "ppl"
    assert strategy.scorer._loaded is None  # nothing loaded until a passage is scored


@pytest.mark.slow
def test_ppl_spans_are_harder_for_the_lm_than_random_spans(make_env) -> None:
    """On a fixed sample, the spans the strategy picks have a higher LM loss in the
    k-mask task as the env shows it (all masks at once, a different prompt from the
    one used to rank them) than randomly chosen spans."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    strategy = PerplexityMaskStrategy(window_chars=200, max_candidates=6)
    env = make_env(num_masks=2, mask_strategy=strategy)
    rows = [int(r) for r in env.spans.rows_with_at_least(4)[:12]]
    sample = []
    for row in rows:
        passage = env.corpus.store.get(row)
        candidates = maskable_spans(passage, env.spans.get(row))
        if len(candidates) >= 4 and len(passage.text) < 900:
            sample.append((passage, candidates))
    sample = sample[:4]
    assert len(sample) == 4

    def task_loss(choice_strategy, seed: int) -> list[float]:
        rng = np.random.default_rng(seed)
        losses = []
        for passage, candidates in sample:
            task = mask_passage(passage, choice_strategy.choose(passage, candidates, 2, rng))
            pairs = [(f"{task.masked_text}\n[mask_{i}] =", " " + a) for i, a in enumerate(task.answers, 1)]
            losses += strategy.scorer.continuation_nll(pairs)
        return losses

    ppl = float(np.mean(task_loss(strategy, 0)))
    random = float(np.mean([np.mean(task_loss(RandomMaskStrategy(), seed)) for seed in range(2)]))
    assert ppl > random + 0.5, (ppl, random)
    assert len(strategy.cache) > 0  # the scores went to the corpus's cache


class TiedScorer:
    """Every span scores the same: a tie across all candidates."""

    cache_key = "tied-v1"

    def __call__(self, passage: Passage, spans: Sequence[SalientSpan]) -> list[float]:
        return [3.0] * len(spans)


class OneHardSpanScorer:
    """One span far harder than the rest: at a tiny temperature the softmax keeps only it."""

    cache_key = "one-hard-v1"

    def __call__(self, passage: Passage, spans: Sequence[SalientSpan]) -> list[float]:
        return [50.0 if i == 0 else float(i % 2) for i in range(len(spans))]


@pytest.mark.parametrize("scorer", [TiedScorer(), OneHardSpanScorer(), LengthScorer()])
@pytest.mark.parametrize("temperature", [1e-9, 1e-300])
def test_tiny_temperatures_and_ties_fall_back_to_top_k(scorer, temperature) -> None:
    strategy = PerplexityMaskStrategy(scorer=scorer, temperature=temperature, max_candidates=None)
    picked = strategy.choose(PASSAGE, CANDIDATES, 3, np.random.default_rng(0))
    assert picked is not None and len(picked) == 3 and len(set(picked)) == 3
    if isinstance(scorer, TiedScorer):
        return  # a tie at every score is a uniform softmax: sampling works as it should
    # fewer than 3 spans keep a non-zero probability: the fallback is the temperature-0 rule (same seed, same spans)
    top_k = PerplexityMaskStrategy(scorer=scorer, temperature=0.0, max_candidates=None)
    assert picked == top_k.choose(PASSAGE, CANDIDATES, 3, np.random.default_rng(0))


def test_non_finite_scores_do_not_break_sampling() -> None:
    class Broken:
        cache_key = "broken-v1"

        def __call__(self, passage, spans):
            return [float("nan"), float("inf"), -float("inf"), 1.0, 2.0, 3.0][: len(spans)]

    for temperature in (0.0, 0.5, 1e-12):
        strategy = PerplexityMaskStrategy(scorer=Broken(), temperature=temperature, max_candidates=None)
        picked = strategy.choose(PASSAGE, CANDIDATES, 4, np.random.default_rng(1))
        assert picked is not None and len(set(picked)) == 4


@pytest.mark.parametrize("scorer", [TiedScorer(), OneHardSpanScorer()])
def test_env_reset_survives_a_near_zero_temperature(make_env, scorer) -> None:
    strategy = PerplexityMaskStrategy(scorer=scorer, temperature=1e-9, max_candidates=None, cache=False)
    env = make_env(num_masks=3, mask_strategy=strategy)
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert env.task.num_masks == 3 and info["task_id"]

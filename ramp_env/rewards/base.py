"""Episode rewards: score each mask in [0, 1], then aggregate (mean by default).

An :class:`EpisodeReward` takes the predictions for all masks of a task
(``None`` for a mask left unanswered) and the gold spans, and returns a
:class:`RewardResult`: the episode ``reward``, the score of each mask
(``per_mask``) and named ``components``:

* ``mask_i``: the final score of mask ``i`` (after any penalty);
* ``penalty`` (penalised rewards only): minus the mean, over masks, of what the
  :class:`~ramp_env.rewards.penalty.HackPenalty` removed, so
  ``reward = mean(raw mask scores) + penalty``.

RAMPEnv adds ``format`` (minus its format penalty, or 0) to the components.
:data:`REWARDS` names the built-in rewards; :func:`make_reward` also accepts an
:class:`EpisodeReward`, a :class:`~ramp_env.rewards.judges.Judge` or a plain
``callable(prediction, gold) -> float``.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ramp_env.errors import InvalidOptionError
from ramp_env.rewards.aliases import resolve_alias
from ramp_env.rewards.judges.base import Judge
from ramp_env.rewards.metrics import exact_match, token_f1, token_recall
from ramp_env.rewards.penalty import DEFAULT_PENALTY, HackPenalty

MaskScorer = Callable[[str, str], float]


@dataclass
class RewardResult:
    """Outcome of grading one answer: the aggregated ``reward``, each mask's score, named parts."""

    reward: float
    per_mask: list[float]
    components: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class EpisodeReward(Protocol):
    """Grades the predictions for all masks of a task against the gold spans.

    ``predictions[i]`` is the answer for ``[mask_{i+1}]`` or ``None`` when the agent
    gave none (scored 0).
    """

    name: str

    def __call__(self, predictions: Sequence[str | None], golds: Sequence[str]) -> RewardResult: ...


class MaskwiseReward(ABC):
    """Scores the answered masks (:meth:`score_masks`), applies the penalty, takes the mean.

    Args:
        name: the reward's name.
        penalty: a :class:`~ramp_env.rewards.penalty.HackPenalty` subtracted from each
            mask's score (floored at 0), or None.
        aliases: score a prediction that is the gold written another way ("US" for "United
            States", "JFK", "U.K.") as the gold (:func:`~ramp_env.rewards.aliases.resolve_alias`),
            before the score and the penalty.
    """

    def __init__(self, name: str, penalty: HackPenalty | None = None, aliases: bool = True) -> None:
        self.name = name
        self.penalty = penalty
        self.aliases = aliases

    @abstractmethod
    def score_masks(self, predictions: list[str], golds: list[str]) -> list[float]:
        """Raw scores in [0, 1] of answered masks (all predictions are strings)."""

    def __call__(self, predictions: Sequence[str | None], golds: Sequence[str]) -> RewardResult:
        if len(predictions) != len(golds):
            raise ValueError(f"{len(predictions)} predictions for {len(golds)} masks")
        answered = [i for i, pred in enumerate(predictions) if pred is not None]
        resolved = {i: str(predictions[i]) for i in answered}
        if self.aliases:
            resolved = {i: resolve_alias(pred, golds[i]) for i, pred in resolved.items()}
        raw = [0.0] * len(golds)
        if answered:
            preds = [resolved[i] for i in answered]
            values = self.score_masks(preds, [golds[i] for i in answered])
            for i, value in zip(answered, values):
                value = float(value)
                if not 0.0 <= value <= 1.0:  # also rejects NaN
                    raise ValueError(f"reward {self.name!r} scored {value} for one mask, outside [0, 1]")
                raw[i] = value
        scores = list(raw)
        components: dict[str, float] = {}
        if self.penalty is not None:
            for i in answered:
                scores[i] = max(0.0, raw[i] - self.penalty(resolved[i], golds[i]))
        components.update({f"mask_{i + 1}": s for i, s in enumerate(scores)})
        if self.penalty is not None:
            removed = sum(r - s for r, s in zip(raw, scores))
            components["penalty"] = -removed / len(scores) if scores else 0.0
        return RewardResult(sum(scores) / len(scores) if scores else 0.0, scores, components)


class PerMaskReward(MaskwiseReward):
    """Scores masks independently with ``scorer(prediction, gold)`` and takes the mean."""

    def __init__(self, scorer: MaskScorer, name: str, penalty: HackPenalty | None = None, aliases: bool = True) -> None:
        super().__init__(name, penalty, aliases)
        self.scorer = scorer

    def score_masks(self, predictions: list[str], golds: list[str]) -> list[float]:
        return [float(self.scorer(pred, gold)) for pred, gold in zip(predictions, golds)]


class JudgeReward(MaskwiseReward):
    """A :class:`~ramp_env.rewards.judges.Judge`'s scores, minus the hack penalty.

    A judge alone can be gamed the way recall is (an answer listing five candidates
    is "similar" to the gold), so the judge's score gets the same length and
    enumeration penalty as ``penalized_recall`` unless ``penalty=None``.
    All masks of a task go to the judge in one call.
    """

    def __init__(
        self, judge: Judge, name: str | None = None, penalty: HackPenalty | None = DEFAULT_PENALTY, aliases: bool = True
    ) -> None:
        super().__init__(name or getattr(judge, "name", "judge"), penalty, aliases)
        self.judge = judge

    def score_masks(self, predictions: list[str], golds: list[str]) -> list[float]:
        return self.judge.score(predictions, golds)


@functools.cache
def shared_judge(kind: str) -> Judge:
    """One judge per kind and process, so many envs share one model and one cache."""
    from ramp_env.rewards.judges import EmbeddingJudge, LLMJudge

    if kind == "embedding":
        return EmbeddingJudge()
    if kind == "llm":
        return LLMJudge()
    raise InvalidOptionError(f"unknown judge kind {kind!r}; expected 'embedding' or 'llm'")


# name -> factory. "judge" is the embedding judge: it is cheap (milliseconds per pair on a
# CPU), cannot be prompt-injected, and the offline 135M LLM is near chance as a judge
# (docs/rewards.md has the measurements); use "judge_llm" or an HTTPJudge for a real LLM.
REWARDS: dict[str, Callable[[], EpisodeReward]] = {
    "recall": lambda: PerMaskReward(token_recall, "recall"),
    "penalized_recall": lambda: PerMaskReward(token_recall, "penalized_recall", penalty=DEFAULT_PENALTY),
    "em": lambda: PerMaskReward(exact_match, "em"),
    "f1": lambda: PerMaskReward(token_f1, "f1"),
    "judge": lambda: JudgeReward(shared_judge("embedding"), "judge"),
    "judge_embedding": lambda: JudgeReward(shared_judge("embedding"), "judge_embedding"),
    "judge_llm": lambda: JudgeReward(shared_judge("llm"), "judge_llm"),
}


DEFAULT_REWARD = "penalized_recall"  # recall alone pays for listing candidates (docs/rewards.md)


def make_reward(spec: str | MaskScorer | EpisodeReward | Judge | Any = DEFAULT_REWARD) -> EpisodeReward:
    """An :class:`EpisodeReward` from a name in :data:`REWARDS`, an EpisodeReward, a Judge
    (wrapped in :class:`JudgeReward`, penalty and aliases included) or a per-mask
    ``callable(prediction, gold)`` (called on the raw prediction: wrap it in
    ``PerMaskReward(fn, name)`` to have aliases resolved first)."""
    if isinstance(spec, str):
        if spec not in REWARDS:
            raise InvalidOptionError(f"unknown reward {spec!r}; expected one of {sorted(REWARDS)} or a callable")
        return REWARDS[spec]()
    if isinstance(spec, Judge) and hasattr(spec, "score"):
        return JudgeReward(spec)
    if isinstance(spec, EpisodeReward):
        return spec
    if callable(spec):
        return PerMaskReward(spec, getattr(spec, "__name__", "custom"), aliases=False)
    raise TypeError(f"reward must be a name, an EpisodeReward, a Judge or a callable(prediction, gold), got {spec!r}")

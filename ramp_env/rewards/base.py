"""Episode rewards: score each mask in [0, 1], then aggregate (mean by default)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ramp_env.rewards.metrics import exact_match, token_f1, token_recall

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


class PerMaskReward:
    """Scores masks independently with ``scorer(prediction, gold)`` and takes the mean."""

    def __init__(self, scorer: MaskScorer, name: str) -> None:
        self.scorer = scorer
        self.name = name

    def __call__(self, predictions: Sequence[str | None], golds: Sequence[str]) -> RewardResult:
        if len(predictions) != len(golds):
            raise ValueError(f"{len(predictions)} predictions for {len(golds)} masks")
        scores = []
        for pred, gold in zip(predictions, golds):
            score = 0.0 if pred is None else float(self.scorer(pred, gold))
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"reward {self.name!r} scored {score} for one mask, outside [0, 1]")
            scores.append(score)
        components = {f"mask_{i + 1}": s for i, s in enumerate(scores)}
        return RewardResult(sum(scores) / len(scores) if scores else 0.0, scores, components)


REWARDS: dict[str, Callable[[], EpisodeReward]] = {
    "recall": lambda: PerMaskReward(token_recall, "recall"),
    "em": lambda: PerMaskReward(exact_match, "em"),
    "f1": lambda: PerMaskReward(token_f1, "f1"),
}


def make_reward(spec: str | MaskScorer | EpisodeReward = "recall") -> EpisodeReward:
    """An :class:`EpisodeReward` from a name in :data:`REWARDS`, an EpisodeReward, or a per-mask callable."""
    if isinstance(spec, str):
        if spec not in REWARDS:
            raise ValueError(f"unknown reward {spec!r}; expected one of {sorted(REWARDS)} or a callable")
        return REWARDS[spec]()
    if isinstance(spec, EpisodeReward):
        return spec
    if callable(spec):
        return PerMaskReward(spec, getattr(spec, "__name__", "custom"))
    raise TypeError(f"reward must be a name, an EpisodeReward or a callable(prediction, gold), got {spec!r}")

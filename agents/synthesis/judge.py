"""The judge: keeps only trajectories whose final answers are correct.

:class:`AnswerJudge` reads the final ``<answer>`` of a trajectory and scores
every mask against the gold span the trajectory recorded, with any reward of
:mod:`ramp_env.rewards`: exact match by default, token F1 or recall, or a model
judge (``"judge_embedding"``, ``"judge_llm"``, an ``HTTPJudge`` serving a large
model as MaskSearch does). A trajectory is kept when it answered and every mask
scores at least ``threshold``. The verdict goes into ``metadata["judge"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ramp_env.actions import parse_action
from ramp_env.rewards import EpisodeReward, make_reward
from ramp_env.trajectories import Trajectory


@dataclass
class Verdict:
    keep: bool
    per_mask: list[float]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"keep": self.keep, "per_mask": self.per_mask, "reason": self.reason}


def final_predictions(trajectory: Trajectory) -> list[str | None] | None:
    """Each mask's answer in the trajectory's last action, or ``None`` if it never answered."""
    if not trajectory.actions:
        return None
    parsed = parse_action(trajectory.actions[-1], trajectory.num_masks)
    if parsed.kind != "answer":
        return None
    return [parsed.answers.get(i) for i in range(1, trajectory.num_masks + 1)]


class AnswerJudge:
    """Keeps trajectories whose every mask scores at least ``threshold`` under ``reward``.

    Args:
        reward: a name in ``ramp_env.rewards.REWARDS`` (``"em"`` default), a judge, or an EpisodeReward.
        threshold: minimum per-mask score to count a mask as correct.
    """

    def __init__(self, reward: str | Any = "em", threshold: float = 1.0) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.reward: EpisodeReward = make_reward(reward)
        self.threshold = threshold
        self.name = f"{self.reward.name}>={threshold:g}"

    def __call__(self, trajectory: Trajectory) -> Verdict:
        if trajectory.answers is None:
            raise ValueError(f"trajectory {trajectory.task_id!r} has no gold answers recorded; the judge needs them")
        predictions = final_predictions(trajectory)
        if predictions is None:
            return Verdict(False, [0.0] * trajectory.num_masks, "no final answer")
        per_mask = [float(s) for s in self.reward(predictions, list(trajectory.answers)).per_mask]
        wrong = [i for i, s in enumerate(per_mask, 1) if s < self.threshold]
        reason = "all masks correct" if not wrong else "wrong: " + ", ".join(f"[mask_{i}]" for i in wrong)
        return Verdict(not wrong, per_mask, reason)

    def split(self, trajectories: Iterable[Trajectory]) -> tuple[list[Trajectory], list[Trajectory]]:
        """(kept, rejected); each trajectory's ``metadata["judge"]`` records its verdict."""
        kept, rejected = [], []
        for trajectory in trajectories:
            verdict = self(trajectory)
            trajectory.metadata["judge"] = {"name": self.name, **verdict.to_json()}
            (kept if verdict.keep else rejected).append(trajectory)
        return kept, rejected

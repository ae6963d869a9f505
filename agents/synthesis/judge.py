"""The judges: keep only trajectories whose final answers are correct.

:class:`LLMAnswerJudge` is MaskSearch's judge: the LLM itself reads each mask's
gold span and the trajectory's answer and writes a verdict (``CORRECT`` or
``INCORRECT`` with a reason), recorded word for word.

:class:`AnswerJudge` reads the final ``<answer>`` of a trajectory and scores
every mask against the gold span the trajectory recorded, with any reward of
:mod:`ramp_env.rewards`: exact match by default, token F1 or recall, or a model
judge (``"judge_embedding"``, ``"judge_llm"``, an ``HTTPJudge`` serving a large
model as MaskSearch does). A trajectory is kept when it answered and every mask
scores at least ``threshold``. The verdict goes into ``metadata["judge"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agents.synthesis.backends import LLMBackend
from agents.synthesis.roles import plain
from ramp_env.actions import parse_action
from ramp_env.errors import DataFormatError, InvalidOptionError
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
            raise InvalidOptionError(f"threshold must be in [0, 1], got {threshold}")
        self.reward: EpisodeReward = make_reward(reward)
        self.threshold = threshold
        self.name = f"{self.reward.name}>={threshold:g}"

    def __call__(self, trajectory: Trajectory) -> Verdict:
        if trajectory.answers is None:
            raise DataFormatError(f"trajectory {trajectory.task_id!r} has no gold answers recorded; the judge needs them")
        predictions = final_predictions(trajectory)
        if predictions is None:
            return Verdict(False, [0.0] * trajectory.num_masks, "no final answer")
        return self.grade(predictions, list(trajectory.answers))

    def grade(self, predictions: list[str | None], answers: list[str]) -> Verdict:
        """The verdict on a trajectory's final answers (one per mask) against the gold ``answers``."""
        per_mask = [float(s) for s in self.reward(predictions, answers).per_mask]
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


_VERDICT = re.compile(r"\b(INCORRECT|CORRECT)\b", re.IGNORECASE)
# "not correct", "isn't correct", "not entirely correct", "never correct": a negated CORRECT is a no
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\W+(?:\w+\W+){0,2}$", re.IGNORECASE)


def read_verdict(reply: str) -> bool:
    """True when a judge's reply says CORRECT: its first verdict word, unless that word is negated.

    A reply with no verdict word, "INCORRECT" first, or "not correct" reads as incorrect.
    """
    match = _VERDICT.search(reply)
    if match is None or match.group(1).upper() != "CORRECT":
        return False
    return _NEGATED.search(reply[: match.start()]) is None


class LLMAnswerJudge(AnswerJudge):
    """The LLM's own verdict per mask: ``CORRECT``/``INCORRECT`` and a reason (MaskSearch's judge).

    A reply with neither word, or a negated "correct" ("not correct"), counts as
    incorrect (a judge that cannot decide keeps nothing; :func:`read_verdict`). Gold and prediction are quoted as data (one line each, tag brackets removed);
    the verdict word is read only from the judge's reply. A weak judge model can still be
    talked round by a prediction written as an instruction: use a strong one, as the paper does.

    Args:
        backend: any :class:`~agents.synthesis.backends.LLMBackend`.
        max_new_tokens: verdict length.
    """

    system = (
        "You judge fill-in-the-blank answers. Given the hidden span of a passage (the gold answer) and a "
        "predicted answer, decide if the prediction means the same thing (aliases, abbreviations and other "
        "date or number formats count as the same). Reply 'CORRECT' or 'INCORRECT', then one short reason."
    )

    def __init__(self, backend: LLMBackend, max_new_tokens: int = 48) -> None:
        self.backend = backend
        self.max_new_tokens = max_new_tokens
        self.threshold = 1.0
        self.name = f"llm:{backend.name}"

    def messages(self, gold: str, prediction: str) -> list[dict[str, str]]:
        user = f"Gold answer: {plain(gold, 300)!r}\nPredicted answer: {plain(prediction, 300)!r}\nVerdict:"
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def grade(self, predictions: list[str | None], answers: list[str]) -> Verdict:
        asked = [i for i, p in enumerate(predictions) if p and p.strip()]
        replies = self.backend.complete(
            [self.messages(answers[i], predictions[i] or "") for i in asked], self.max_new_tokens
        ) if asked else []
        per_mask = [0.0] * len(predictions)
        reasons = []
        for i, reply in zip(asked, replies, strict=True):
            per_mask[i] = 1.0 if read_verdict(reply) else 0.0
            reasons.append(f"[mask_{i + 1}] {plain(reply, 200)}")
        reasons += [f"[mask_{i + 1}] empty answer" for i in range(len(predictions)) if i not in asked]
        return Verdict(all(s == 1.0 for s in per_mask), per_mask, "; ".join(reasons))

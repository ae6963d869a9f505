"""Mask-count curricula: how many masks each new episode gets.

MaskSearch trains with a curriculum from 1 to 4 masks and compares it with a
"mixed" schedule that draws 1..4 uniformly. Both are schedulers with one small
interface, shared by :class:`CurriculumWrapper` (for any env loop) and the
trainers in ``agents.training`` (which ask for a mask count per task group):

* ``next_num_masks()``: the mask count for the next episode;
* ``record(score)``: report a finished episode's score (mean per-mask score in [0, 1]);
* ``state_dict()`` / ``load_state_dict()``: resume a schedule.

:class:`StagedCurriculum` walks through ``stages`` (default 1, 2, 3, 4), moving
on after a fixed number of episodes per stage, when the mean score of the last
``window`` episodes of the stage reaches ``threshold``, or whichever comes first
when both are set. :class:`MixedCurriculum` draws uniformly from ``masks``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from ramp_env.errors import InvalidOptionError

PAPER_STAGES = (1, 2, 3, 4)


@runtime_checkable
class MaskCurriculum(Protocol):
    """Anything that picks a mask count per episode and learns from episode scores."""

    def next_num_masks(self) -> int: ...

    def record(self, score: float) -> None: ...


def _check_masks(masks: Sequence[int], what: str) -> tuple[int, ...]:
    values = tuple(int(m) for m in masks)
    if not values:
        raise InvalidOptionError(f"{what} must not be empty")
    if any(m < 1 for m in values):
        raise InvalidOptionError(f"{what} must be positive mask counts, got {values}")
    return values


def _check_score(score: float) -> float:
    score = float(score)
    if not np.isfinite(score):
        raise ValueError(f"episode score must be finite, got {score}")
    return score


class StagedCurriculum:
    """Mask counts in stages, advancing by episode count and/or a success threshold.

    Args:
        stages: mask count of each stage, in order (the last stage is kept forever).
        episodes_per_stage: episodes (recorded scores) to spend in each stage, one
            int for all stages or one per stage; ``None`` to advance on ``threshold`` only.
        threshold: advance once the mean score of the stage's last ``window``
            episodes is at least this; ``None`` to advance on ``episodes_per_stage`` only.
        window: episodes averaged for ``threshold`` (the stage must have run this many).
    """

    def __init__(
        self,
        stages: Sequence[int] = PAPER_STAGES,
        episodes_per_stage: int | Sequence[int] | None = None,
        threshold: float | None = None,
        window: int = 20,
    ) -> None:
        self.stages = _check_masks(stages, "stages")
        if episodes_per_stage is None and threshold is None:
            raise InvalidOptionError("give episodes_per_stage, threshold or both: otherwise the curriculum never advances")
        if isinstance(episodes_per_stage, int | np.integer):
            episodes_per_stage = [int(episodes_per_stage)] * len(self.stages)
        if episodes_per_stage is not None:
            if len(episodes_per_stage) != len(self.stages):
                raise InvalidOptionError(f"{len(episodes_per_stage)} episode counts for {len(self.stages)} stages")
            if any(int(n) < 1 for n in episodes_per_stage):
                raise InvalidOptionError(f"episodes_per_stage must be >= 1, got {list(episodes_per_stage)}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InvalidOptionError(f"threshold must be in [0, 1], got {threshold}")
        if window < 1:
            raise InvalidOptionError(f"window must be >= 1, got {window}")
        self.episodes_per_stage = None if episodes_per_stage is None else [int(n) for n in episodes_per_stage]
        self.threshold = threshold
        self.window = window
        self.stage = 0
        self.episodes_in_stage = 0
        self._recent: deque[float] = deque(maxlen=window)

    @property
    def num_masks(self) -> int:
        """The current stage's mask count."""
        return self.stages[self.stage]

    def next_num_masks(self) -> int:
        return self.num_masks

    def record(self, score: float) -> None:
        self._recent.append(_check_score(score))
        self.episodes_in_stage += 1
        if self.stage < len(self.stages) - 1 and self._stage_done():
            self.stage += 1
            self.episodes_in_stage = 0
            self._recent.clear()

    def _stage_done(self) -> bool:
        if self.episodes_per_stage is not None and self.episodes_in_stage >= self.episodes_per_stage[self.stage]:
            return True
        return (
            self.threshold is not None
            and len(self._recent) >= self.window
            and float(np.mean(self._recent)) >= self.threshold
        )

    def state_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "episodes_in_stage": self.episodes_in_stage, "recent": list(self._recent)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        stage = int(state["stage"])
        if not 0 <= stage < len(self.stages):
            raise InvalidOptionError(f"stage {stage} is out of range for {len(self.stages)} stages")
        self.stage = stage
        self.episodes_in_stage = int(state["episodes_in_stage"])
        self._recent = deque((float(s) for s in state["recent"]), maxlen=self.window)

    def __repr__(self) -> str:
        return (
            f"StagedCurriculum(stages={self.stages}, episodes_per_stage={self.episodes_per_stage}, "
            f"threshold={self.threshold}, window={self.window}, stage={self.stage})"
        )


class MixedCurriculum:
    """Mask counts drawn uniformly from ``masks`` (the paper's "mixed" baseline), seeded."""

    def __init__(self, masks: Sequence[int] = PAPER_STAGES, seed: int | None = None) -> None:
        self.masks = _check_masks(masks, "masks")
        self.episodes = 0
        self.seed(seed)

    def seed(self, seed: int | None) -> None:
        self._rng = np.random.default_rng(seed)

    def next_num_masks(self) -> int:
        return int(self.masks[self._rng.integers(len(self.masks))])

    def record(self, score: float) -> None:
        _check_score(score)
        self.episodes += 1

    def state_dict(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.episodes = int(state["episodes"])
        self._rng.bit_generator.state = dict(state["rng"])

    def __repr__(self) -> str:
        return f"MixedCurriculum(masks={self.masks})"


def make_curriculum(
    mode: str = "curriculum",
    stages: Sequence[int] = PAPER_STAGES,
    episodes_per_stage: int | Sequence[int] | None = None,
    threshold: float | None = None,
    window: int = 20,
    seed: int | None = None,
) -> StagedCurriculum | MixedCurriculum:
    """``"curriculum"`` (staged, 1 -> 4) or ``"mixed"`` (uniform over ``stages``)."""
    if mode == "curriculum":
        return StagedCurriculum(stages, episodes_per_stage, threshold, window)
    if mode == "mixed":
        return MixedCurriculum(stages, seed)
    raise InvalidOptionError(f"unknown curriculum mode {mode!r}; expected 'curriculum' or 'mixed'")


def episode_score(info: Mapping[str, Any]) -> float:
    """A finished episode's score: the mean per-mask score (0 when the env gave none)."""
    scores = info.get("per_mask_scores") or []
    return float(np.mean(scores)) if len(scores) else 0.0


class CurriculumWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Sets ``num_masks`` on every ``reset`` from a curriculum and feeds it episode scores.

    ```python
    env = CurriculumWrapper(gym.make("RAMP-v0"), StagedCurriculum(episodes_per_stage=500))
    env = CurriculumWrapper(gym.make("RAMP-v0"), MixedCurriculum(seed=0))
    ```

    A ``reset(options={"num_masks": k})`` overrides the curriculum for that
    episode. ``reset(seed=s)`` also reseeds a curriculum that has a ``seed``
    method, so seeded runs repeat exactly. ``info["curriculum_num_masks"]``
    reports the count in use. Episode scores are the mean per-mask score
    (format penalties do not count towards advancing).
    """

    def __init__(self, env: gym.Env, curriculum: MaskCurriculum) -> None:
        # recorded so env.spec can rebuild the wrapper (gym.make's additional_wrappers, check_env)
        gym.utils.RecordConstructorArgs.__init__(self, curriculum=curriculum)
        gym.Wrapper.__init__(self, env)
        if not isinstance(curriculum, MaskCurriculum):
            raise TypeError(f"curriculum needs next_num_masks() and record(score), got {curriculum!r}")
        self.curriculum = curriculum

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None and hasattr(self.curriculum, "seed"):
            self.curriculum.seed(seed)
        options = dict(options or {})
        options.setdefault("num_masks", self.curriculum.next_num_masks())
        obs, info = self.env.reset(seed=seed, options=options)
        info["curriculum_num_masks"] = int(options["num_masks"])
        return obs, info

    def step(self, action: str):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            self.curriculum.record(episode_score(info))
        return obs, reward, terminated, truncated, info

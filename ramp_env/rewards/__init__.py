"""Rewards for RAMP: per-mask scores aggregated into an episode reward.

``make_reward(spec)`` turns a name in :data:`REWARDS` (``recall``,
``penalized_recall`` (:data:`DEFAULT_REWARD`), ``em``, ``f1``, ``judge``,
``judge_embedding``, ``judge_llm``), a :class:`~ramp_env.rewards.judges.Judge` or a
callable into an :class:`EpisodeReward`. Every named reward and every judge scores a
prediction that is the gold written another way (:mod:`ramp_env.rewards.aliases`) as the
gold. ``docs/rewards.md`` describes every reward.
"""

from ramp_env.rewards.aliases import accepts, resolve_alias
from ramp_env.rewards.base import (
    DEFAULT_REWARD,
    REWARDS,
    EpisodeReward,
    JudgeReward,
    MaskwiseReward,
    PerMaskReward,
    RewardResult,
    make_reward,
)
from ramp_env.rewards.metrics import exact_match, token_f1, token_recall
from ramp_env.rewards.penalty import (
    DEFAULT_PENALTY,
    HackPenalty,
    penalized_recall,
    split_alternatives,
)
from ramp_env.text.normalize import answer_tokens, normalize_answer

__all__ = [
    "DEFAULT_PENALTY",
    "DEFAULT_REWARD",
    "REWARDS",
    "EpisodeReward",
    "HackPenalty",
    "JudgeReward",
    "MaskwiseReward",
    "PerMaskReward",
    "RewardResult",
    "accepts",
    "answer_tokens",
    "exact_match",
    "make_reward",
    "normalize_answer",
    "penalized_recall",
    "resolve_alias",
    "split_alternatives",
    "token_f1",
    "token_recall",
]

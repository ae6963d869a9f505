"""Rewards for RAMP: per-mask scores aggregated into an episode reward.

``make_reward(spec)`` turns a name or a callable into an :class:`EpisodeReward`.
"""

from ramp_env.rewards.base import EpisodeReward, RewardResult, make_reward, REWARDS
from ramp_env.rewards.normalize import answer_tokens, normalize_answer
from ramp_env.rewards.metrics import exact_match, token_f1, token_recall

__all__ = [
    "REWARDS",
    "EpisodeReward",
    "RewardResult",
    "answer_tokens",
    "exact_match",
    "make_reward",
    "normalize_answer",
    "token_f1",
    "token_recall",
]

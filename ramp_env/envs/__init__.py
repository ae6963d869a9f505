"""Gymnasium environments of ramp-env: ``RAMP-v0`` and ``MultiHopQA-v0`` on one search-and-answer base
(:mod:`ramp_env.envs.base`), each configured by a frozen dataclass (:mod:`ramp_env.envs.config`)."""

from ramp_env.envs.base import EnvClosedError, SearchAnswerEnv, Task
from ramp_env.envs.config import QAConfig, RAMPConfig, RAMPLiteConfig
from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.envs.ramp import RAMPEnv

__all__ = [
    "EnvClosedError",
    "MultiHopQAEnv",
    "QAConfig",
    "RAMPConfig",
    "RAMPEnv",
    "RAMPLiteConfig",
    "SearchAnswerEnv",
    "Task",
]

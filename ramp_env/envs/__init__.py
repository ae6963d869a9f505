"""Gymnasium environments of ramp-env."""

from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.envs.ramp import RAMPEnv

__all__ = ["MultiHopQAEnv", "RAMPEnv"]

"""Gymnasium environments of ramp-env."""

from ramp_env.envs.ramp import RAMPEnv

__all__ = ["RAMPEnv"]

"""Wrappers of the RAMP env, and the candidate mining the SB3 wrapper shares with the heuristic agent.

* :class:`~ramp_env.wrappers.candidate_actions.CandidateActionWrapper`: Box observation,
  Discrete actions and action masks for stable-baselines3 / sb3-contrib ``MaskablePPO``.
* :mod:`ramp_env.wrappers.candidates`: mask contexts, query templates, candidate scoring.
"""

from __future__ import annotations

__all__ = ["CandidateActionWrapper"]


def __getattr__(name: str) -> object:
    # lazy: importing a sibling module (ramp_env.wrappers.curriculum) should not load NLTK
    if name == "CandidateActionWrapper":
        from ramp_env.wrappers.candidate_actions import CandidateActionWrapper

        return CandidateActionWrapper
    raise AttributeError(name)

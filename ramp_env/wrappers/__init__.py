"""Wrappers of the RAMP env.

* :class:`~ramp_env.wrappers.candidate_actions.CandidateActionWrapper`: Box observation,
  Discrete actions and action masks for stable-baselines3 / sb3-contrib ``MaskablePPO``
  (its candidates come from the reading library, :mod:`ramp_env.reading`).
* :mod:`ramp_env.wrappers.curriculum`: curriculum wrappers.
"""

from __future__ import annotations

__all__ = ["CandidateActionWrapper"]


def __getattr__(name: str) -> object:
    # lazy: importing a sibling module (ramp_env.wrappers.curriculum) should not load NLTK
    if name == "CandidateActionWrapper":
        from ramp_env.wrappers.candidate_actions import CandidateActionWrapper

        return CandidateActionWrapper
    raise AttributeError(name)

"""Every wrapper ramp-env ships records its constructor arguments, so ``env.spec`` rebuilds it and
Gymnasium's ``check_env`` (which remakes the env from its spec) passes on a ``gym.make`` env."""

from __future__ import annotations

import gymnasium as gym
import pytest

import ramp_env  # noqa: F401  (registers RAMP-v0)
from ramp_env.trajectories import RecordTrajectories
from ramp_env.wrappers.candidate_actions import CandidateActionWrapper
from ramp_env.wrappers.curriculum import CurriculumWrapper, MixedCurriculum

WRAPPERS = {
    "CandidateActionWrapper": lambda env: CandidateActionWrapper(env, max_masks=2, candidates_per_mask=3),
    "CurriculumWrapper": lambda env: CurriculumWrapper(env, MixedCurriculum(masks=(1, 2), seed=0)),
    "RecordTrajectories": lambda env: RecordTrajectories(env, agent="test"),
}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrapper_is_rebuilt_from_its_spec(name: str, cache_dir, wiki_sample) -> None:
    env = gym.make("RAMP-v0", corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules",
                   progress=False)
    wrapped = WRAPPERS[name](env)
    assert isinstance(wrapped, gym.utils.RecordConstructorArgs)
    rebuilt = wrapped.spec.make()
    assert type(rebuilt) is type(wrapped)
    assert rebuilt.spec.additional_wrappers[-1].kwargs.keys() == wrapped.spec.additional_wrappers[-1].kwargs.keys()

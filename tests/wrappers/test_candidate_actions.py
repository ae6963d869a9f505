"""CandidateActionWrapper: SB3/Gymnasium compliance, action masks, episode bounds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from ramp_env.wrappers.candidate_actions import CandidateActionWrapper


@pytest.fixture()
def wrapped(make_env):
    return CandidateActionWrapper(make_env(num_masks=2), max_masks=3, candidates_per_mask=4)


def test_passes_sb3_and_gymnasium_env_checkers(wrapped) -> None:
    sb3_check_env(wrapped, warn=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
        gym_check_env(wrapped, skip_render_check=True)


def test_action_masks_follow_the_episode(wrapped) -> None:
    obs, _ = wrapped.reset(seed=1)
    assert wrapped.observation_space.contains(obs)
    m, n, t = wrapped.max_masks, wrapped.candidates_per_mask, len(wrapped.templates)
    mask = wrapped.action_masks()
    searches, fills = mask[: t * m].reshape(t, m), mask[t * m :].reshape(m, n)
    # two masks in a 3-mask layout: searches for masks 1-2 only; before any search the
    # only answer per mask is the blank in slot 0
    assert searches[:, :2].all() and not searches[:, 2].any()
    assert fills[:2, 0].all() and not fills[:2, 1:].any() and not fills[2].any()

    obs, reward, terminated, truncated, info = wrapped.step(0)  # template 0 for mask 1
    assert info["action"] == "search" and reward == 0.0 and not (terminated or truncated)
    mask = wrapped.action_masks()
    assert not mask[0], "a template is used once per mask"
    found = len(wrapped.candidate_texts(1))
    assert found > 0
    assert mask[t * m : t * m + n].sum() == min(found, n)


def test_answering_every_mask_submits_to_the_env(wrapped) -> None:
    wrapped.reset(seed=2)
    base = wrapped.unwrapped
    m, n, t = wrapped.max_masks, wrapped.candidates_per_mask, len(wrapped.templates)
    wrapped.step(0)
    wrapped.step(1)
    chosen = {number: (wrapped.candidate_texts(number) or [""])[0] for number in (1, 2)}
    _, reward, terminated, _, info = wrapped.step(t * m + 0 * n)  # mask 1, best candidate
    assert not terminated and info["action"] == "fill"
    chosen[2] = (wrapped.candidate_texts(2) or [""])[0]  # mask 1's text is no longer offered
    _, reward, terminated, _, info = wrapped.step(t * m + 1 * n)
    assert terminated and info["action"] == "answer"
    assert info["predictions"] == [chosen[1], chosen[2]]
    expected = base.reward_fn(info["predictions"], list(base.task.answers)).reward
    assert reward == pytest.approx(expected)


def test_invalid_actions_cost_a_penalty_and_episodes_stay_bounded(make_env) -> None:
    wrapped = CandidateActionWrapper(make_env(num_masks=1), max_masks=2, invalid_penalty=0.05)
    obs, _ = wrapped.reset(seed=3)
    invalid = int(np.flatnonzero(~wrapped.action_masks())[0])
    after, reward, terminated, truncated, info = wrapped.step(invalid)
    assert reward == pytest.approx(-0.05) and info["action"] == "invalid" and not terminated
    np.testing.assert_array_equal(after, obs)  # nothing changed
    rng = np.random.default_rng(0)
    for episode in range(20):  # any action sequence ends within max_steps
        wrapped.reset(seed=episode)
        for step in range(wrapped.max_steps + 1):
            *_, terminated, truncated, _ = wrapped.step(int(rng.integers(wrapped.action_space.n)))
            if terminated or truncated:
                break
        assert terminated or truncated
        assert step < wrapped.max_steps


def test_rejects_tasks_with_more_masks_than_the_layout(make_env) -> None:
    wrapped = CandidateActionWrapper(make_env(num_masks=3), max_masks=2)
    with pytest.raises(ValueError, match="max_masks=2"):
        wrapped.reset(seed=0)


def test_needs_a_ramp_env() -> None:
    import gymnasium as gym

    with pytest.raises(TypeError, match="needs a RAMP env"):
        CandidateActionWrapper(gym.make("CartPole-v1"))


def test_passes_gymnasium_check_env_on_a_gym_make_env(cache_dir, wiki_sample) -> None:
    import gymnasium as gym

    import ramp_env  # noqa: F401  (registers RAMP-v0)

    env = gym.make("RAMP-v0", corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules",
                   progress=False, num_masks=2)
    wrapped = CandidateActionWrapper(env, max_masks=3, candidates_per_mask=4)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
        gym_check_env(wrapped, skip_render_check=True)  # rebuilds the wrapper from env.spec
    rebuilt = wrapped.spec.make()
    assert isinstance(rebuilt, CandidateActionWrapper) and rebuilt.candidates_per_mask == 4

"""Mask-count curricula and the wrapper that applies them."""

from __future__ import annotations

from collections import Counter

import pytest

from ramp_env.wrappers.curriculum import (
    CurriculumWrapper,
    MixedCurriculum,
    StagedCurriculum,
    make_curriculum,
)


def test_fixed_stages_advance_after_their_episodes_and_stop_at_the_last() -> None:
    curriculum = StagedCurriculum(episodes_per_stage=[2, 1, 3, 1])
    seen = []
    for _ in range(10):
        seen.append(curriculum.next_num_masks())
        curriculum.record(0.0)
    assert seen == [1, 1, 2, 3, 3, 3, 4, 4, 4, 4]


def test_threshold_stages_advance_on_success_only() -> None:
    curriculum = StagedCurriculum(stages=(1, 2, 3), threshold=0.6, window=3)
    for score in (1.0, 0.0, 0.0, 1.0):  # window means 0.33, 0.33: below 0.6
        curriculum.record(score)
    assert curriculum.num_masks == 1
    curriculum.record(1.0)  # last three: 0, 1, 1 -> 0.67
    assert curriculum.num_masks == 2 and curriculum.episodes_in_stage == 0
    curriculum.record(1.0)
    curriculum.record(1.0)
    assert curriculum.num_masks == 2  # a new stage needs a full window of its own
    curriculum.record(1.0)
    assert curriculum.num_masks == 3


def test_threshold_or_episode_cap_whichever_first() -> None:
    curriculum = StagedCurriculum(stages=(1, 2), episodes_per_stage=4, threshold=0.9, window=2)
    for _ in range(4):
        curriculum.record(0.0)
    assert curriculum.num_masks == 2


def test_state_round_trip() -> None:
    a = StagedCurriculum(threshold=0.5, window=4)
    for s in (1.0, 0.0, 1.0):
        a.record(s)
    b = StagedCurriculum(threshold=0.5, window=4)
    b.load_state_dict(a.state_dict())
    a.record(1.0)
    b.record(1.0)
    assert a.num_masks == b.num_masks == 2
    m1, m2 = MixedCurriculum(seed=3), MixedCurriculum(seed=99)
    m1.next_num_masks()
    m2.load_state_dict(m1.state_dict())
    assert [m1.next_num_masks() for _ in range(20)] == [m2.next_num_masks() for _ in range(20)]


def test_mixed_draws_uniformly_and_reproducibly() -> None:
    draws = [MixedCurriculum(seed=0).next_num_masks() for _ in range(3)]
    assert len(set(draws)) == 1  # same seed, same first draw
    mixed = make_curriculum("mixed", seed=1)
    counts = Counter(mixed.next_num_masks() for _ in range(4000))
    assert sorted(counts) == [1, 2, 3, 4]
    assert all(900 < c < 1100 for c in counts.values())


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="never advances"):
        StagedCurriculum()
    with pytest.raises(ValueError, match="episode counts for 4 stages"):
        StagedCurriculum(episodes_per_stage=[1, 2])
    with pytest.raises(ValueError, match="threshold"):
        StagedCurriculum(threshold=1.5)
    with pytest.raises(ValueError, match="positive mask counts"):
        MixedCurriculum(masks=(0, 1))
    with pytest.raises(ValueError, match="unknown curriculum mode"):
        make_curriculum("random")
    with pytest.raises(ValueError, match="finite"):
        StagedCurriculum(threshold=0.5).record(float("nan"))


def test_wrapper_sets_mask_counts_and_feeds_scores(make_env) -> None:
    env = CurriculumWrapper(make_env(max_searches=0), StagedCurriculum(stages=(1, 3), episodes_per_stage=2))
    counts = []
    for episode in range(4):
        obs, info = env.reset(seed=episode)
        counts.append((obs["num_masks"], info["curriculum_num_masks"]))
        env.step("<answer>nothing</answer>")
    assert counts == [(1, 1), (1, 1), (3, 3), (3, 3)]
    obs, _ = env.reset(seed=0, options={"num_masks": 2})  # an explicit count wins for that episode
    assert obs["num_masks"] == 2
    with pytest.raises(TypeError, match="next_num_masks"):
        CurriculumWrapper(make_env(), curriculum=object())  # type: ignore[arg-type]


def test_mixed_wrapper_repeats_with_the_same_seed(make_env) -> None:
    def run() -> list[int]:
        env = CurriculumWrapper(make_env(max_searches=0), MixedCurriculum())
        out = []
        env.reset(seed=5)
        for _ in range(12):
            obs, _ = env.reset()
            out.append(int(obs["num_masks"]))
        return out

    first = run()
    assert first == run() and len(set(first)) > 1


def test_wrapper_passes_gymnasium_check_env_on_a_gym_make_env(cache_dir, wiki_sample) -> None:
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    import ramp_env  # noqa: F401  (registers RAMP-v0)

    env = gym.make("RAMP-v0", corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules",
                   progress=False)
    wrapped = CurriculumWrapper(env, MixedCurriculum(masks=(1, 2), seed=0))
    with pytest.warns(UserWarning, match="different from the unwrapped"):
        check_env(wrapped, skip_render_check=True)  # rebuilds the wrapper from env.spec
    assert isinstance(wrapped.spec.make(), CurriculumWrapper)

"""agents.training.dapo: the DAPO pieces on synthetic numbers, and training steps against the env."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

from agents.llm.agent import TokenSegment
from agents.training.dapo import (
    DAPOConfig,
    DAPOTrainer,
    dapo_policy_loss,
    group_advantages,
    informative_groups,
    overlong_penalty,
    sequence_logprobs,
)
from ramp_env.wrappers.curriculum import StagedCurriculum


def token_gradients(ratios: list[float], advantage: float, clip_low: float, clip_high: float) -> list[float]:
    """d loss / d logprob for single-token sequences with the given ratios pi/pi_old."""
    old = torch.zeros(len(ratios), 1)
    logprobs = torch.log(torch.tensor(ratios)).unsqueeze(1).requires_grad_(True)
    adv = torch.full((len(ratios),), advantage)
    loss, _ = dapo_policy_loss(logprobs, old, adv, torch.ones(len(ratios), 1), clip_low, clip_high)
    loss.backward()
    return logprobs.grad.squeeze(1).tolist()


def test_clip_higher_lets_positive_advantage_tokens_grow_further() -> None:
    ratios = [1.0, 1.25, 1.35]
    symmetric = token_gradients(ratios, advantage=1.0, clip_low=0.2, clip_high=0.2)
    higher = token_gradients(ratios, advantage=1.0, clip_low=0.2, clip_high=0.28)
    assert symmetric[0] < 0 and symmetric[1] == 0.0 and symmetric[2] == 0.0  # clipped above 1.2
    assert higher[1] < 0 and higher[2] == 0.0  # 1.25 is inside the raised bound, 1.35 is not
    # negative advantages are clipped at 1 - clip_low whatever clip_high is
    low = token_gradients([0.75, 0.85], advantage=-1.0, clip_low=0.2, clip_high=0.28)
    assert low[0] == 0.0 and low[1] > 0


def test_loss_is_token_level_and_reports_clipping() -> None:
    # two sequences, 3 and 1 policy tokens: each token weighs 1/4, not each sequence 1/2
    logprobs = torch.zeros(2, 3)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    loss, _ = dapo_policy_loss(logprobs, logprobs, torch.tensor([1.0, -1.0]), mask)
    assert loss.item() == pytest.approx(-(3 * 1.0 + 1 * -1.0) / 4)
    # with an external token count (gradient accumulation) the sum is divided by it
    loss, _ = dapo_policy_loss(logprobs, logprobs, torch.tensor([1.0, -1.0]), mask, num_tokens=8)
    assert loss.item() == pytest.approx(-2 / 8)
    ratios = torch.log(torch.tensor([[1.5, 0.5, 1.0], [1.0, 1.0, 1.0]]))
    _, stats = dapo_policy_loss(ratios, torch.zeros(2, 3), torch.tensor([1.0, -1.0]), mask)
    assert stats["clip_high_frac"] == pytest.approx(1 / 4) and stats["clip_low_frac"] == 0.0


def test_dynamic_sampling_drops_groups_with_equal_rewards() -> None:
    rewards = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [-0.1, -0.1, -0.1], [0.5, 0.5, 0.5000001]])
    assert informative_groups(rewards).tolist() == [False, True, False, False]
    with pytest.raises(ValueError, match="groups, group_size"):
        informative_groups(torch.ones(3))


def test_group_advantages_are_normalised_per_group() -> None:
    rewards = torch.tensor([[0.0, 1.0, 0.0, 1.0], [2.0, 2.0, 2.0, 6.0]])
    adv = group_advantages(rewards)
    assert torch.allclose(adv.mean(dim=1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(adv.std(dim=1, unbiased=False), torch.ones(2), atol=1e-3)
    assert group_advantages(rewards, scale=False)[1].tolist() == [-1.0, -1.0, -1.0, 3.0]


def test_overlong_penalty_is_soft_then_hard() -> None:
    assert overlong_penalty(80, max_tokens=100, cache=20) == 0.0
    assert overlong_penalty(90, max_tokens=100, cache=20) == pytest.approx(-0.5)
    assert overlong_penalty(150, max_tokens=100, cache=20) == -1.0
    assert overlong_penalty(150, max_tokens=100, cache=0) == 0.0


def test_sequence_logprobs_match_a_full_softmax(tiny_model) -> None:
    model = tiny_model()
    segments = [
        TokenSegment([5, 6, 7, 8, 9], [0, 0, 1, 0, 1]),
        TokenSegment([11, 12, 13], [0, 1, 1]),
    ]
    logprobs, mask = sequence_logprobs(model, segments, pad_id=0)
    assert mask.tolist() == [[0, 0, 1, 0, 1], [0, 1, 1, 0, 0]]
    for row, segment in enumerate(segments):
        ids = torch.tensor([segment.input_ids])
        full = torch.log_softmax(model(input_ids=ids).logits[0], dim=-1)
        for pos, keep in enumerate(segment.policy_mask):
            if keep:
                expected = full[pos - 1, segment.input_ids[pos]].item()
                assert logprobs[row, pos].item() == pytest.approx(expected, abs=1e-5)


class ActionLengthBonus(gym.Wrapper):
    """A reward that varies between rollouts of a random model (its actions are never valid)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward + (len(action) % 7) / 7, terminated, truncated, info


def params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def changed(before: list[torch.Tensor], model) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_one_dapo_step_changes_the_parameters(tiny_model, smollm2_tokenizer, small_env) -> None:
    model = tiny_model()
    curriculum = StagedCurriculum(stages=(1, 2), episodes_per_stage=4)
    trainer = DAPOTrainer(
        model, smollm2_tokenizer, lambda: ActionLengthBonus(small_env()),
        DAPOConfig(group_size=2, tasks_per_step=2, max_new_tokens=8, learning_rate=1e-2, updates_per_step=2),
        curriculum=curriculum,
    )
    before = params(model)
    metrics = trainer.step()
    assert changed(before, model)
    assert metrics["groups_used"] == 2 and metrics["policy_tokens"] > 0 and metrics["loss"] != 0.0
    assert metrics["rollout_tokens_per_second"] > 0
    # the curriculum heard all four episodes and moved to two masks for the next tasks
    assert curriculum.num_masks == 2 and metrics["curriculum_num_masks"] == 2
    trainer.step()
    assert {env.unwrapped.task.num_masks for env in trainer.envs} == {2}


def test_groups_without_signal_are_resampled_then_skipped(tiny_model, smollm2_tokenizer, small_env) -> None:
    model = tiny_model()
    # a random model never writes a valid action: every rollout earns the same format penalties
    trainer = DAPOTrainer(
        model, smollm2_tokenizer, small_env,
        DAPOConfig(group_size=2, tasks_per_step=1, max_sampling_rounds=2, max_new_tokens=4, learning_rate=1e-2),
    )
    before = params(model)
    metrics = trainer.step()
    assert metrics["groups_sampled"] == 2 and metrics["groups_dropped"] == 2 and metrics["groups_used"] == 0
    assert not changed(before, model)


def test_bad_dapo_settings_are_named() -> None:
    with pytest.raises(ValueError, match="group_size"):
        DAPOConfig(group_size=1)
    with pytest.raises(ValueError, match="temperature"):
        DAPOConfig(temperature=0.0)
    with pytest.raises(ValueError, match="clip ratios"):
        dapo_policy_loss(torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1), torch.ones(1, 1), clip_low=-0.1)


class BonusOnSomeTasks(gym.Wrapper):
    """Rewards that vary between rollouts only on tasks whose passage id hashes even: the
    other groups are uninformative, so dynamic sampling has to look further to fill a batch."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        informative = sum(map(ord, self.env.unwrapped.task.passage_id)) % 2 == 0
        return obs, reward + ((len(action) % 7) / 7 if informative else 0.0), terminated, truncated, info


def test_dynamic_sampling_fills_the_batch_up_to_a_cap_and_logs_kept_groups(
    tiny_model, smollm2_tokenizer, small_env, caplog
) -> None:
    trainer = DAPOTrainer(
        tiny_model(), smollm2_tokenizer, lambda: BonusOnSomeTasks(small_env()),
        DAPOConfig(group_size=2, tasks_per_step=2, max_sampled_groups=12, max_new_tokens=4, learning_rate=1e-3),
    )
    groups, stats = trainer.sample_groups()
    assert len(groups) == 2 and stats["groups_kept"] == 2 and stats["batch_fill"] == 1.0
    assert 2 <= stats["groups_sampled"] <= 12
    informative = stats["groups_sampled"] - stats["groups_dropped"]
    assert informative >= 2 and stats["informative_share"] == pytest.approx(informative / stats["groups_sampled"])
    for group in groups:
        assert len(set(group.rewards)) > 1  # only groups with signal are kept
    [log] = trainer.kept_groups_log
    assert log["groups_kept"] == 2 and log["groups_sampled"] == stats["groups_sampled"]
    assert log["kept_task_ids"] == [g.episodes[0].trajectory.task_id for g in groups]


def test_dynamic_sampling_stops_at_the_cap_and_warns(tiny_model, smollm2_tokenizer, small_env, caplog) -> None:
    # a random model never writes a valid action: every group has equal rewards
    trainer = DAPOTrainer(
        tiny_model(), smollm2_tokenizer, small_env,
        DAPOConfig(group_size=2, tasks_per_step=2, max_sampled_groups=3, max_new_tokens=4),
    )
    with caplog.at_level("WARNING", logger="agents.training.dapo"):
        metrics = trainer.step()
    assert metrics["groups_sampled"] == 3 and metrics["groups_kept"] == 0 and metrics["batch_fill"] == 0.0
    assert "kept 0 of 2 groups after sampling 3" in caplog.text
    with pytest.raises(ValueError, match="max_sampled_groups"):
        DAPOConfig(tasks_per_step=4, max_sampled_groups=2)
    with pytest.raises(ValueError, match="top_p"):
        DAPOConfig(top_p=0.9)


def test_overlong_filtering_masks_truncated_episodes_out_of_the_loss(
    tiny_model, smollm2_tokenizer, small_env
) -> None:
    config = {"group_size": 2, "tasks_per_step": 1, "max_new_tokens": 3, "learning_rate": 1e-3, "max_sampling_rounds": 4}
    trainer = DAPOTrainer(
        tiny_model(), smollm2_tokenizer, lambda: ActionLengthBonus(small_env()),
        DAPOConfig(**config, overlong_filtering=True),
    )
    groups, stats = trainer.sample_groups()
    [group] = groups
    # 3 new tokens never finish an action: every turn ran out of tokens
    assert group.truncated == [True, True] and stats["truncated_episodes"] >= 2
    before = params(trainer.model)
    metrics = trainer.update(groups)
    assert metrics["policy_tokens"] == 0 and not changed(before, trainer.model)
    # pretend the first episode finished in time: only its tokens are trained on
    group.truncated = [False, True]
    metrics = trainer.update(groups)
    assert metrics["policy_tokens"] == group.episodes[0].num_generated_tokens
    assert changed(before, trainer.model)
    # without the option the truncated episodes train as usual
    plain = DAPOTrainer(
        tiny_model(), smollm2_tokenizer, lambda: ActionLengthBonus(small_env()), DAPOConfig(**config)
    )
    group.truncated = [True, True]
    assert plain.update(groups)["policy_tokens"] == sum(e.num_generated_tokens for e in group.episodes)


def test_kl_to_a_reference_model_is_reported(tiny_model, smollm2_tokenizer, small_env) -> None:
    trainer = DAPOTrainer(
        tiny_model(), smollm2_tokenizer, lambda: ActionLengthBonus(small_env()),
        DAPOConfig(group_size=2, tasks_per_step=1, max_new_tokens=4, learning_rate=1e-2, max_sampling_rounds=4),
        reference_model=tiny_model(),
    )
    first = trainer.step()
    assert first["kl_to_reference"] == pytest.approx(0.0, abs=1e-6)  # same weights before the first update
    second = trainer.step()
    assert second["kl_to_reference"] > 0


def test_later_updates_score_ratios_against_the_sampling_policy_without_an_extra_pass(
    tiny_model, smollm2_tokenizer, small_env, monkeypatch
) -> None:
    import copy

    from agents.training import dapo

    trainer = DAPOTrainer(
        tiny_model(), smollm2_tokenizer, lambda: ActionLengthBonus(small_env()),
        DAPOConfig(group_size=2, tasks_per_step=1, max_new_tokens=6, learning_rate=1e-2, max_sampling_rounds=4,
                   updates_per_step=3, micro_batch_size=1),
    )
    groups, _ = trainer.sample_groups()
    assert groups, "the length bonus makes every group informative"
    sampling_policy = copy.deepcopy(trainer.model)
    segments = [s for e in groups[0].episodes for s in e.segments]
    pad_id = smollm2_tokenizer.pad_token_id
    expected = [sequence_logprobs(sampling_policy, [s], pad_id)[0] for s in segments]
    forwards: list[int] = []
    olds: list[torch.Tensor] = []
    real_logprobs, real_loss = dapo.sequence_logprobs, dapo.dapo_policy_loss

    def counting_logprobs(*args, **kwargs):
        forwards.append(1)
        return real_logprobs(*args, **kwargs)

    def recording_loss(logprobs, old_logprobs, *args, **kwargs):
        olds.append(old_logprobs)
        return real_loss(logprobs, old_logprobs, *args, **kwargs)

    monkeypatch.setattr(dapo, "sequence_logprobs", counting_logprobs)
    monkeypatch.setattr(dapo, "dapo_policy_loss", recording_loss)
    trainer.update(groups)
    # one forward per micro-batch per update: the first update's pass supplies the old log-probs
    assert len(forwards) == 3 * len(segments) and len(olds) == 3 * len(segments)
    for update in range(3):  # every update's ratio is against the policy that sampled the tokens
        for old, want in zip(olds[update * len(segments) :], expected):
            assert torch.allclose(old, want, atol=1e-5)
    assert changed(params(sampling_policy), trainer.model)

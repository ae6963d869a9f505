"""fp32 master weights: one small-lr step on a bf16-loaded model moves essentially every weight it should."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

from agents.training import precision
from agents.training.dapo import DAPOConfig, DAPOTrainer
from agents.training.precision import autocast, training_dtype, upcast_to_fp32
from agents.training.sft import SFTTrainConfig, train_sft
from tests.agents.training.test_sft import BATCH

# the decoder's projection matrices: every entry gets a non-zero gradient from any batch
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def projection_weights(model) -> dict[str, torch.Tensor]:
    return {
        name: p.detach().float().clone()
        for name, p in model.named_parameters()
        if any(f"{proj}.weight" in name for proj in PROJECTIONS)
    }


def moved_share(before: dict[str, torch.Tensor], model) -> float:
    after = dict(model.named_parameters())
    moved = sum(int((after[name].detach().float() != value).sum()) for name, value in before.items())
    return moved / sum(value.numel() for value in before.values())


def bf16_model(tiny_model):
    model = tiny_model(seed=2)
    # weights of a realistic scale (N(0, 0.02)), where bf16 keeps ~3 significant digits
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0.0, 0.02)
    return model.to(torch.bfloat16)


def test_upcast_reports_the_half_dtype_and_leaves_fp32_alone(tiny_model) -> None:
    model = tiny_model()
    assert upcast_to_fp32(model) is None
    model = model.to(torch.bfloat16)
    assert upcast_to_fp32(model) is torch.bfloat16
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    with autocast(model, torch.bfloat16):
        assert model(input_ids=torch.tensor([[1, 2, 3]])).logits.dtype == torch.bfloat16
    with autocast(model, None):
        assert model(input_ids=torch.tensor([[1, 2, 3]])).logits.dtype == torch.float32


class ActionLengthBonus(gym.Wrapper):
    """A reward that varies between rollouts of a random model, so every group carries signal."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward + (len(action) % 7) / 7, terminated, truncated, info


def test_one_dapo_step_at_lr_1e6_moves_every_weight_of_a_bf16_model(
    tiny_model, smollm2_tokenizer, small_env
) -> None:
    model = bf16_model(tiny_model)
    before = projection_weights(model)
    trainer = DAPOTrainer(
        model, smollm2_tokenizer, lambda: ActionLengthBonus(small_env()),
        DAPOConfig(group_size=2, tasks_per_step=1, max_new_tokens=6, learning_rate=1e-6, max_sampling_rounds=4),
    )
    assert trainer.autocast_dtype is torch.bfloat16
    metrics = trainer.step()
    assert metrics["groups_used"] == 1
    # stepped in place on bf16 weights, about 2% would move at this learning rate
    assert moved_share(before, model) > 0.99


def test_one_sft_step_at_lr_1e6_moves_every_weight_of_a_bf16_model(tiny_model, smollm2_tokenizer) -> None:
    model = bf16_model(tiny_model)
    before = projection_weights(model)
    train_sft(model, smollm2_tokenizer, BATCH, SFTTrainConfig(max_steps=1, learning_rate=1e-6, batch_size=2))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert moved_share(before, model) > 0.99


@pytest.mark.parametrize("dtype", [torch.bfloat16])
def test_plain_adamw_on_bf16_weights_loses_most_small_updates(tiny_model, dtype) -> None:
    # the fault the upcast fixes, measured on the same weights: a control for the tests above
    model = bf16_model(tiny_model).to(dtype)
    before = projection_weights(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    model(input_ids=torch.tensor([[5, 6, 7, 8, 9, 10]]), labels=torch.tensor([[5, 6, 7, 8, 9, 10]])).loss.backward()
    optimizer.step()
    assert moved_share(before, model) < 0.2


def test_training_dtype_keeps_an_explicit_choice_and_resolves_auto_by_the_cpu(monkeypatch) -> None:
    assert training_dtype("float32") == "float32" and training_dtype("bfloat16") == "bfloat16"
    assert training_dtype("auto") == ("bfloat16" if precision.cpu_has_fast_bf16() else "float32")
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert training_dtype("auto") == "float32"  # emulated bf16 is slower than float32 (AVX2-only CPUs)
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert training_dtype("auto") == "bfloat16"
    with pytest.raises(ValueError, match="'bf16'"):
        training_dtype("bf16")

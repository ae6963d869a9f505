"""agents.training.sft: TRL SFT on trajectories, loss only on the model's own turns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.llm.chat import tokenize_conversation
from agents.training.checkpoint import save_pretrained_atomic
from agents.training.sft import SFTTrainConfig, make_sft_trainer, sft_loss, train_sft
from ramp_env.trajectories import Trajectory


def trajectory(task_id: str, answer: str) -> Trajectory:
    return Trajectory(
        task_id=task_id,
        messages=[
            {"role": "system", "content": "Fill the mask."},
            {"role": "user", "content": f"Passage: {task_id} was founded by [mask_1].\nMasks to fill: 1"},
            {"role": "assistant", "content": f"<search>{task_id} founder</search>"},
            {"role": "tool", "content": f"[1] {task_id}\nThe company was founded by {answer} in Paris."},
            {"role": "assistant", "content": f"<answer>\n[mask_1]: {answer}\n</answer>"},
        ],
        actions=[f"<search>{task_id} founder</search>", f"<answer>[mask_1]: {answer}</answer>"],
        tool_results=["results", "graded"],
        rewards=[0.0, 1.0],
        per_mask_scores=[1.0],
        num_masks=1,
    )


BATCH = [trajectory("Acme", "Ada Lovelace"), trajectory("Globex", "Alan Turing")]


def test_trl_trains_on_exactly_the_assistant_tokens(tiny_model, smollm2_tokenizer) -> None:
    trainer = make_sft_trainer(tiny_model(), smollm2_tokenizer, BATCH, SFTTrainConfig(max_steps=1))
    for row, source in zip(trainer.train_dataset, BATCH):
        expected = tokenize_conversation(smollm2_tokenizer, source.messages)
        assert row["input_ids"] == expected.input_ids
        assert row["labels"] == expected.labels  # TRL's labels: -100 wherever our mask is 0
        learned = smollm2_tokenizer.decode([t for t in row["labels"] if t != -100])
        assert learned.startswith("<search>") and "</answer><|im_end|>" in learned
        assert "founded by" not in learned and "Passage:" not in learned  # no tool result, no prompt


def test_one_sft_step_lowers_the_loss_on_a_fixed_batch(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model()
    before = sft_loss(model, smollm2_tokenizer, BATCH)
    metrics = train_sft(
        model, smollm2_tokenizer, BATCH, SFTTrainConfig(max_steps=1, batch_size=2, learning_rate=5e-3, seed=0)
    )
    after = sft_loss(model, smollm2_tokenizer, BATCH)
    assert metrics["steps"] == 1 and metrics["examples"] == 2 and metrics["trained_tokens"] > 20
    assert after < before - 0.05, (before, after)
    assert abs(metrics["train_loss"] - before) < 0.05  # TRL's loss on the batch is the masked loss we compute


def test_sft_refuses_empty_input(tiny_model, smollm2_tokenizer) -> None:
    with pytest.raises(ValueError, match="at least one trajectory"):
        train_sft(tiny_model(), smollm2_tokenizer, [])
    only_prompt = trajectory("Initech", "x")
    for m in only_prompt.messages:
        m["train"] = False
    with pytest.raises(ValueError, match="no trajectory has an assistant turn"):
        train_sft(tiny_model(), smollm2_tokenizer, [only_prompt])


def test_checkpoints_replace_the_old_one_only_when_complete(tiny_model, smollm2_tokenizer, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    target = tmp_path / "ckpt"
    save_pretrained_atomic(tiny_model(seed=1), smollm2_tokenizer, target)
    model = tiny_model(seed=2)
    save_pretrained_atomic(model, smollm2_tokenizer, target)
    reloaded = AutoModelForCausalLM.from_pretrained(target)
    assert torch.equal(reloaded.model.embed_tokens.weight, model.model.embed_tokens.weight)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]

    class Broken:
        def save_pretrained(self, path, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_pretrained_atomic(Broken(), None, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert (target / "model.safetensors").is_file()

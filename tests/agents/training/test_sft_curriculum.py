"""agents.training.sft curriculum: SFT data ordered by mask count (staged) or mixed."""

from __future__ import annotations

import pytest

from agents.training.sft import SFTTrainConfig, curriculum_stages, train_sft
from ramp_env.trajectories import Trajectory


def trajectory(task_id: str, num_masks: int) -> Trajectory:
    answers = "\n".join(f"[mask_{i}]: answer {i}" for i in range(1, num_masks + 1))
    masks = " ".join(f"[mask_{i}]" for i in range(1, num_masks + 1))
    return Trajectory(
        task_id=task_id,
        messages=[
            {"role": "system", "content": "Fill the masks."},
            {"role": "user", "content": f"Passage: {task_id} {masks}.\nMasks to fill: {num_masks}"},
            {"role": "assistant", "content": f"<answer>\n{answers}\n</answer>"},
        ],
        actions=[f"<answer>{answers}</answer>"],
        tool_results=["graded"],
        rewards=[1.0],
        per_mask_scores=[1.0] * num_masks,
        num_masks=num_masks,
    )


# mask counts out of order on purpose; more masks make a longer sequence
DATA = [trajectory("a", 3), trajectory("b", 1), trajectory("c", 2), trajectory("d", 1), trajectory("e", 3)]


def test_stages_group_by_mask_count_fewest_first() -> None:
    staged = curriculum_stages(DATA, "staged")
    assert [[t.num_masks for t in stage] for stage in staged] == [[1, 1], [2], [3, 3]]
    assert [t.task_id for t in staged[0]] == ["b", "d"]  # order inside a stage is kept
    assert curriculum_stages(DATA, "mixed") == [DATA]
    with pytest.raises(ValueError, match="unknown SFT curriculum 'sorted'"):
        curriculum_stages(DATA, "sorted")


def lengths_seen(model, smollm2_tokenizer, curriculum: str) -> tuple[list[int], dict]:
    """Sequence lengths of the training forward passes, in order (batch size 1: one trajectory each)."""
    seen: list[int] = []

    def hook(module, args, kwargs, output) -> None:
        if module.training:
            seen.append(int(kwargs["input_ids"].shape[1]))

    handle = model.register_forward_hook(hook, with_kwargs=True)
    try:
        metrics = train_sft(model, smollm2_tokenizer, DATA, SFTTrainConfig(
            num_epochs=1, batch_size=1, learning_rate=1e-4, seed=0, curriculum=curriculum))
    finally:
        handle.remove()
    return seen, metrics


@pytest.mark.slow
def test_staged_sft_trains_on_one_mask_tasks_first(tiny_model, smollm2_tokenizer) -> None:
    seen, metrics = lengths_seen(tiny_model(), smollm2_tokenizer, "staged")
    assert len(seen) == len(DATA)
    assert seen == sorted(seen)  # every 1-mask trajectory before every 2-mask one, and so on
    assert [s["num_masks"] for s in metrics["stages"]] == [[1], [2], [3]]
    assert [s["examples"] for s in metrics["stages"]] == [2, 1, 2]
    assert metrics["steps"] == 5 and metrics["examples"] == 5
    assert [entry["stage"] for entry in metrics["log_history"]] == sorted(e["stage"] for e in metrics["log_history"])


@pytest.mark.slow
def test_mixed_sft_is_one_shuffled_run(tiny_model, smollm2_tokenizer) -> None:
    seen, metrics = lengths_seen(tiny_model(), smollm2_tokenizer, "mixed")
    assert len(metrics["stages"]) == 1 and metrics["stages"][0]["num_masks"] == [1, 2, 3]
    assert len(seen) == len(DATA)
    assert seen != sorted(seen)  # with seed 0 the trainer's shuffle does not happen to sort them


@pytest.mark.slow
def test_max_steps_are_split_over_the_stages(tiny_model, smollm2_tokenizer) -> None:
    metrics = train_sft(tiny_model(), smollm2_tokenizer, DATA, SFTTrainConfig(
        max_steps=5, batch_size=1, curriculum="staged"))
    assert [s["steps"] for s in metrics["stages"]] == [2, 1, 2]

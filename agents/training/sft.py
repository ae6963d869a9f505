"""Supervised fine-tuning on RAMP trajectories with TRL's ``SFTTrainer``.

Each trajectory's chat is tokenised with the model's chat template and a loss
mask (:func:`agents.llm.chat.tokenize_conversation`): the loss covers the
model's own turns (search queries, reasoning, answers, and the end-of-turn
token), never the instructions, the masked passage or the retrieved passages in
``tool`` turns. The pre-tokenised ``input_ids`` + ``assistant_masks`` columns go
to TRL, which turns them into ``labels`` (-100 where the mask is 0), pads,
batches and runs the ``transformers`` training loop.

``train_sft(model, tokenizer, trajectories, config) -> metrics`` is the entry
point other loops (distillation, the examples) call; it trains ``model`` in place.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch

from agents.llm.chat import resolve_tool_role, tokenize_conversation
from agents.rng import restored_global_rngs
from agents.training.precision import upcast_to_fp32
from ramp_env.errors import DataFormatError, InvalidOptionError
from ramp_env.trajectories import Trajectory


@dataclass
class SFTTrainConfig:
    """Settings of :func:`train_sft` (mapped onto TRL's ``SFTConfig``).

    Attributes:
        num_epochs: passes over the trajectories (ignored when ``max_steps`` > 0).
        max_steps: optimiser steps; -1 trains ``num_epochs``.
        batch_size: trajectories per device per step.
        gradient_accumulation_steps: micro-batches per optimiser step.
        learning_rate: AdamW learning rate (1e-5 suits full fine-tuning of 0.1-7B models).
        weight_decay, warmup_steps, lr_scheduler: AdamW decay, warm-up (steps, or a share of
            training when < 1) and schedule.
        max_length: tokens per trajectory; longer ones keep their start.
        tool_role: template role of ``tool`` messages (``"auto"``, ``"tool"``, ``"user"``).
        seed: data order and initialisation of anything random.
        output_dir: where TRL writes logs (a temporary folder when ``None``).
        logging_steps: log the loss every this many steps.
        gradient_checkpointing: trade compute for memory (GPU-sized models).
        bf16: train in bfloat16 mixed precision (GPUs that support it). A model loaded in
            bf16/fp16 is always trained in mixed precision: its weights are upcast to float32
            master weights and forward passes autocast to the loaded dtype
            (:mod:`agents.training.precision`), because AdamW on bf16 weights rounds small updates away.
        progress: show TRL's progress bar.
        curriculum: order of the data by mask count: ``"mixed"`` (one run over all trajectories,
            shuffled) or ``"staged"`` (one run per mask count, fewest masks first: 1-mask tasks,
            then 2-mask tasks, ...; shuffled within a stage), MaskSearch's curriculum applied to
            SFT data. Each stage trains ``num_epochs`` over its trajectories; ``max_steps`` > 0 is
            split over the stages in proportion to their sizes (at least 1 step each).
    """

    num_epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    warmup_steps: float = 0.0
    lr_scheduler: str = "constant"
    max_length: int = 2048
    tool_role: str = "auto"
    seed: int = 0
    output_dir: str | None = None
    logging_steps: int = 10
    gradient_checkpointing: bool = False
    bf16: bool = False
    progress: bool = False
    curriculum: str = "mixed"


CURRICULA = ("mixed", "staged")


def curriculum_stages(trajectories: Sequence[Trajectory], curriculum: str = "mixed") -> list[list[Trajectory]]:
    """The trajectories grouped into training stages: one stage (``"mixed"``) or one per mask count,
    fewest masks first (``"staged"``); the order within a stage is kept (the trainer shuffles it)."""
    if curriculum not in CURRICULA:
        raise InvalidOptionError(f"unknown SFT curriculum {curriculum!r}; expected one of {CURRICULA}")
    if curriculum == "mixed":
        return [list(trajectories)]
    by_masks: dict[int, list[Trajectory]] = {}
    for trajectory in trajectories:
        by_masks.setdefault(trajectory.num_masks, []).append(trajectory)
    return [by_masks[k] for k in sorted(by_masks)]


def tokenize_trajectories(
    tokenizer: Any, trajectories: Iterable[Trajectory], tool_role: str = "auto"
) -> list[dict[str, list[int]]]:
    """``{"input_ids", "assistant_masks"}`` per trajectory (see the module docs); skips ones with nothing to train."""
    role = resolve_tool_role(tokenizer, tool_role)
    rows = []
    for trajectory in trajectories:
        tokens = tokenize_conversation(tokenizer, trajectory.messages, role)
        if any(tokens.train_mask):
            rows.append({"input_ids": tokens.input_ids, "assistant_masks": tokens.train_mask})
    return rows


def build_sft_dataset(tokenizer: Any, trajectories: Iterable[Trajectory], tool_role: str = "auto") -> Any:
    """A ``datasets.Dataset`` of pre-tokenised trajectories for TRL's ``SFTTrainer``."""
    from datasets import Dataset

    rows = tokenize_trajectories(tokenizer, trajectories, tool_role)
    if not rows:
        raise DataFormatError("no trajectory has an assistant turn to train on")
    return Dataset.from_list(rows)


def make_sft_trainer(
    model: Any,
    tokenizer: Any,
    trajectories: Sequence[Trajectory],
    config: SFTTrainConfig,
    output_dir: str | None = None,
) -> Any:
    """TRL's ``SFTTrainer`` set up for the trajectories (exposed so callers can add callbacks).

    TRL's files go to ``config.output_dir``, else ``output_dir``, else a new temporary folder.
    A half-precision model is upcast to float32 in place (see ``SFTTrainConfig.bf16``).
    """
    from trl import SFTConfig, SFTTrainer

    half = upcast_to_fp32(model)

    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    output_dir = config.output_dir or output_dir or tempfile.mkdtemp(prefix="ramp-sft-")
    # TRL turns checkpointing on by default; transformers 5 renamed the option
    names = {f.name for f in fields(SFTConfig)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    extra: dict[str, Any] = {checkpointing: config.gradient_checkpointing}
    bf16 = config.bf16 or half == torch.bfloat16
    if bf16 and next(model.parameters()).device.type == "cpu":
        extra["use_cpu"] = True  # transformers refuses bf16 autocast on CPU unless told
    args = SFTConfig(
        output_dir=output_dir,
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        lr_scheduler_type=config.lr_scheduler,
        max_length=config.max_length,
        truncation_mode="keep_start",
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to="none",
        bf16=bf16,
        fp16=half == torch.float16,
        disable_tqdm=not config.progress,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        **extra,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=build_sft_dataset(tokenizer, trajectories, config.tool_role),
        processing_class=tokenizer,
    )


def train_sft(
    model: Any, tokenizer: Any, trajectories: Iterable[Trajectory], config: SFTTrainConfig | None = None
) -> dict[str, Any]:
    """Fine-tune ``model`` in place on the trajectories' assistant turns.

    Args:
        model: a ``transformers`` causal LM (any device; TRL keeps it there).
        tokenizer: its tokenizer, with a chat template.
        trajectories: :class:`~ramp_env.trajectories.Trajectory` records (filter them by
            score first for rejection sampling: :func:`ramp_env.trajectories.filter_trajectories`).
        config: :class:`SFTTrainConfig` (defaults when ``None``).

    Returns:
        ``{"train_loss", "steps", "examples", "trained_tokens", "seconds", "stages", "log_history",
        "config"}``; ``train_loss`` is TRL's mean training loss over the run (over all stages,
        weighted by steps), ``stages`` the same figures per curriculum stage (with its
        ``num_masks``), and each ``log_history`` entry names its ``stage``. The model is left in eval mode.
    """
    config = config or SFTTrainConfig()
    trajectories = list(trajectories)
    if not trajectories:
        raise InvalidOptionError("train_sft needs at least one trajectory")
    stages = curriculum_stages(trajectories, config.curriculum)
    started = time.perf_counter()
    stage_metrics: list[dict[str, Any]] = []
    log_history: list[dict[str, Any]] = []
    for number, stage in enumerate(stages):
        stage_config = config
        if config.max_steps > 0 and len(stages) > 1:
            stage_config = replace(config, max_steps=max(1, round(config.max_steps * len(stage) / len(trajectories))))
        # TRL's Trainer calls set_seed (Python's, NumPy's and torch's global generators): restore the caller's
        with tempfile.TemporaryDirectory(prefix="ramp-sft-") as scratch, restored_global_rngs():
            trainer = make_sft_trainer(model, tokenizer, stage, stage_config, output_dir=scratch)
            dataset = trainer.train_dataset
            trained_tokens = int(sum(sum(1 for label in row if label != -100) for row in dataset["labels"]))
            result = trainer.train()
        stage_metrics.append({
            "num_masks": sorted({t.num_masks for t in stage}),
            "train_loss": float(result.training_loss),
            "steps": int(result.global_step),
            "examples": len(dataset),
            "trained_tokens": trained_tokens,
        })
        log_history.extend({**entry, "stage": number} for entry in trainer.state.log_history)
    model.eval()
    steps = sum(m["steps"] for m in stage_metrics)
    return {
        # the mean training loss over all steps (each stage's TRL mean, weighted by its steps)
        "train_loss": sum(m["train_loss"] * m["steps"] for m in stage_metrics) / max(steps, 1),
        "steps": steps,
        "examples": sum(m["examples"] for m in stage_metrics),
        "trained_tokens": sum(m["trained_tokens"] for m in stage_metrics),
        "seconds": round(time.perf_counter() - started, 2),
        "stages": stage_metrics,
        "log_history": log_history,
        "config": asdict(config),
    }


@torch.no_grad()
def sft_loss(
    model: Any, tokenizer: Any, trajectories: Iterable[Trajectory], tool_role: str = "auto", batch_size: int = 4
) -> float:
    """Mean cross-entropy per trained token of ``model`` on the trajectories (same mask as training)."""
    rows = tokenize_trajectories(tokenizer, trajectories, tool_role)
    if not rows:
        raise DataFormatError("no trajectory has an assistant turn to score")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            width = max(len(r["input_ids"]) for r in chunk)
            ids = torch.zeros((len(chunk), width), dtype=torch.long)
            labels = torch.full((len(chunk), width), -100, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            for i, row in enumerate(chunk):
                n = len(row["input_ids"])
                ids[i, :n] = torch.tensor(row["input_ids"])
                attention[i, :n] = 1
                mask = torch.tensor(row["assistant_masks"], dtype=torch.bool)
                labels[i, :n] = torch.where(mask, ids[i, :n], torch.full_like(ids[i, :n], -100))
            logits = model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits.float()
            shifted = labels[:, 1:].to(device)
            losses = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.size(-1)), shifted.reshape(-1), ignore_index=-100, reduction="sum"
            )
            total += float(losses)
            count += int((shifted != -100).sum())
    finally:
        model.train(was_training)
    return total / max(count, 1)


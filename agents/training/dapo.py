"""DAPO (arXiv 2503.14476) for multi-turn search episodes against RAMP-v0.

One training step:

1. **Group sampling.** Pick tasks (mask counts from a curriculum when given)
   and play each ``group_size`` times with the current policy (sampling at
   ``temperature``), all episodes batched through one ``LLMAgent``. An
   episode's reward is the sum of the env's step rewards (the env's ``reward=``
   option decides how answers are graded, so a model-based reward plugs in
   there) plus the overlong shaping term.
2. **Dynamic sampling.** A group whose rewards are all equal has zero advantage
   everywhere and teaches nothing; drop it and sample new tasks until
   ``tasks_per_step`` groups carry signal (the batch is filled) or
   ``max_sampled_groups`` groups have been sampled (the cap). An underfilled batch
   is logged as a warning and reported in the step's metrics (``groups_kept``,
   ``batch_fill``), never silently trained on.
   **Overlong filtering** (``overlong_filtering=True``, beside or instead of the
   soft punishment): an episode cut by a length limit (a turn that ran out of
   ``max_new_tokens``, or more than ``overlong_max_tokens`` generated) keeps its
   place in its group's advantage statistics but its tokens are masked out of
   the loss, so the model is not punished for reasoning it was not allowed to finish.
3. **Group-normalised advantages.** ``A_i = (r_i - mean(group)) / (std(group) + eps)``,
   shared by every token of episode ``i``.
4. **Clip-higher, token-level policy gradient.** For every token the policy
   generated (never the prompt or the retrieved passages of tool turns:
   ``policy_mask`` is 0 there), with ``ratio = pi / pi_old``::

       loss = -sum_tokens min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A) / num_tokens

   summed over all tokens of the batch and divided by their count (token-level,
   so long episodes are not down-weighted), with ``clip_high > clip_low`` so
   unlikely tokens with positive advantage can grow (the "clip-higher" fix for
   entropy collapse). No KL term, as in DAPO.

Why not TRL's ``GRPOTrainer`` (trl 1.16, which has ``loss_type="dapo"`` and
``epsilon_high``)? Its multi-turn paths are ``environment_factory`` (tools
called through the chat template's JSON tool-call format, which RAMP's
``<search>`` text actions and small chat models without tool templates do not
use) and ``rollout_func``, both marked experimental ("may change or be removed
at any time"); and it has no dynamic sampling (degenerate groups are only
counted, ``frac_reward_zero_std``, not replaced). A compact loop over the
env's own text protocol is shorter than the adapter would be, and every DAPO
ingredient is a small function below with a unit test. TRL still supplies the
numerics it shares: ``selective_log_softmax`` and the soft overlong punishment.

**Precision.** A model in bf16/fp16 is upcast to float32 master weights when the
trainer is built (:mod:`agents.training.precision`) and its forward passes run
under ``torch.autocast`` in the original dtype: AdamW on bf16 weights rounds small
updates away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from trl.rewards import get_soft_overlong_punishment
from trl.trainer.utils import selective_log_softmax

from agents.llm.agent import LLMAgent, LLMAgentConfig, TokenSegment
from agents.llm.rollout import Episode, EpisodeSpec, play_episodes
from agents.training.precision import autocast, upcast_to_fp32
from ramp_env.errors import InvalidOptionError
from ramp_env.wrappers.curriculum import MaskCurriculum

logger = logging.getLogger(__name__)

_REDRAWS = 100  # task draws before giving up on finding one outside exclude_passages

# -- the DAPO pieces, as pure functions -------------------------------------------------------


def informative_groups(rewards: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
    """Dynamic sampling: ``True`` for groups (rows of ``[groups, G]``) whose rewards are not all equal."""
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be [groups, group_size], got shape {tuple(rewards.shape)}")
    return (rewards.max(dim=1).values - rewards.min(dim=1).values) > atol


def group_advantages(rewards: torch.Tensor, scale: bool = True, eps: float = 1e-4) -> torch.Tensor:
    """Group-normalised advantages of ``[groups, G]`` rewards: centred per group, divided by its std if ``scale``."""
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be [groups, group_size], got shape {tuple(rewards.shape)}")
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if not scale:
        return centred
    return centred / (rewards.std(dim=1, keepdim=True, unbiased=False) + eps)


def dapo_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    num_tokens: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """DAPO's clipped surrogate, token-level (see the module docs).

    Args:
        logprobs: ``[B, T]`` log-probabilities of the taken tokens under the policy (with grad).
        old_logprobs: ``[B, T]`` the same under the policy that sampled them (no grad).
        advantages: ``[B]`` one per sequence (broadcast over its tokens) or ``[B, T]``.
        mask: ``[B, T]`` 1 on policy tokens, 0 on prompt, tool and padding tokens.
        clip_low, clip_high: the ratio is clipped to ``[1 - clip_low, 1 + clip_high]``.
        num_tokens: divisor (default: ``mask.sum()``); pass the whole batch's count when
            accumulating gradients over micro-batches so the sum stays token-level.

    Returns:
        ``(loss, stats)`` with the clipped fractions (low: ratio below ``1 - clip_low``
        with ``A < 0``; high: above ``1 + clip_high`` with ``A > 0``).
    """
    if clip_low < 0 or clip_high < 0:
        raise InvalidOptionError(f"clip ratios must be >= 0, got {clip_low}, {clip_high}")
    mask = mask.to(logprobs.dtype)
    if advantages.ndim == 1:
        advantages = advantages.unsqueeze(1)
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    per_token = -torch.minimum(unclipped, clipped)
    denominator = float(num_tokens) if num_tokens is not None else mask.sum().clamp(min=1.0)
    loss = (per_token * mask).sum() / denominator
    with torch.no_grad():
        count = mask.sum().clamp(min=1.0)
        advantages = advantages.expand_as(ratio)
        low = ((ratio < 1.0 - clip_low) & (advantages < 0)).to(mask.dtype)
        high = ((ratio > 1.0 + clip_high) & (advantages > 0)).to(mask.dtype)
        stats = {
            "clip_low_frac": float((low * mask).sum() / count),
            "clip_high_frac": float((high * mask).sum() / count),
            "ratio_mean": float((ratio * mask).sum() / count),
        }
    return loss, stats


def overlong_penalty(num_tokens: int, max_tokens: int, cache: int) -> float:
    """DAPO's soft overlong punishment (eq. 13) for an episode of ``num_tokens`` generated tokens.

    0 up to ``max_tokens - cache``, then linearly down to -1 at ``max_tokens``, -1 beyond.
    ``cache=0`` disables it (returns 0).
    """
    if cache <= 0:
        return 0.0
    return float(get_soft_overlong_punishment(max_tokens, cache)([range(num_tokens)])[0])


def sequence_logprobs(
    model: Any, segments: Sequence[TokenSegment], pad_id: int, temperature: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of every token of ``segments`` given its prefix, and the policy mask.

    Returns ``([B, T] logprobs, [B, T] mask)`` aligned with the segments' tokens
    (right-padded). Logits are computed only from the first policy token on
    (``logits_to_keep``), which skips the LM head over the long prompt.
    """
    device = next(model.parameters()).device
    width = max(len(s.input_ids) for s in segments)
    ids = torch.full((len(segments), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(segments), width), dtype=torch.long)
    mask = torch.zeros((len(segments), width), dtype=torch.float32)
    for row, segment in enumerate(segments):
        n = len(segment.input_ids)
        ids[row, :n] = torch.tensor(segment.input_ids)
        attention[row, :n] = 1
        mask[row, :n] = torch.tensor(segment.policy_mask, dtype=torch.float32)
    mask[:, 0] = 0.0  # the first token has no prefix to be predicted from
    first = int(mask.nonzero()[:, 1].min()) if mask.any() else width - 1
    keep = width - first + 1  # logits at positions first-1 .. width-1 predict tokens first .. width
    ids, attention = ids.to(device), attention.to(device)
    logits = model(input_ids=ids, attention_mask=attention, logits_to_keep=keep).logits
    logits = logits[:, :-1].float()  # position p predicts token p + 1
    targets = ids[:, width - keep + 1 :]
    logprobs = selective_log_softmax(logits, targets, temperature=temperature)
    full = torch.zeros((len(segments), width), dtype=logprobs.dtype, device=device)
    full[:, width - keep + 1 :] = logprobs
    return full, mask.to(device)


# -- the trainer ------------------------------------------------------------------------------


@dataclass
class DAPOConfig:
    """Settings of :class:`DAPOTrainer` (defaults follow the DAPO paper where it gives one).

    Attributes:
        group_size: rollouts per task (G).
        tasks_per_step: groups with signal per training step (the batch dynamic sampling fills).
        max_sampling_rounds: dynamic sampling rounds per step (each samples up to ``tasks_per_step``
            new tasks); the default cap on sampled groups is ``tasks_per_step * max_sampling_rounds``.
        max_sampled_groups: cap on groups sampled per step while filling the batch
            (``None``: ``tasks_per_step * max_sampling_rounds``).
        clip_low, clip_high: the ratio's clip range ``[1 - clip_low, 1 + clip_high]``.
        scale_rewards: divide advantages by the group's reward std.
        learning_rate, weight_decay, max_grad_norm: AdamW and gradient clipping.
        updates_per_step: optimiser updates per rollout batch (the ratio departs from 1 after the first).
        micro_batch_size: sequences per forward/backward pass (gradient accumulation).
        overlong_max_tokens: generated tokens per episode after which the penalty is -1
            (default: ``max_new_tokens * max_turns``).
        overlong_cache: length of the soft-penalty zone before it (0 disables shaping).
        overlong_filtering: mask truncated episodes out of the loss (DAPO's overlong filtering).
        temperature, max_new_tokens, max_context_tokens: rollout generation. Rollouts sample
            from the full ``softmax(logits / temperature)``, exactly the distribution the loss
            scores (``top_p`` must stay 1: a truncated nucleus would make the sampler's and
            the trainer's log-probabilities differ).
        seed: task seeds, sampling and data order.
    """

    group_size: int = 4
    tasks_per_step: int = 2
    max_sampling_rounds: int = 3
    max_sampled_groups: int | None = None
    clip_low: float = 0.2
    clip_high: float = 0.28
    scale_rewards: bool = True
    learning_rate: float = 1e-6
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    updates_per_step: int = 1
    micro_batch_size: int = 4
    overlong_max_tokens: int | None = None
    overlong_cache: int = 0
    overlong_filtering: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 96
    max_context_tokens: int = 2048
    seed: int = 0

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise InvalidOptionError(f"group_size must be >= 2 (advantages compare rollouts of a task), got {self.group_size}")
        for name in ("tasks_per_step", "max_sampling_rounds", "updates_per_step", "micro_batch_size"):
            if getattr(self, name) < 1:
                raise InvalidOptionError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.temperature <= 0:
            raise InvalidOptionError(f"DAPO samples its rollouts: temperature must be > 0, got {self.temperature}")
        if self.top_p != 1.0:
            raise InvalidOptionError(
                f"top_p must be 1.0 for DAPO (got {self.top_p}): nucleus sampling changes the sampling "
                "distribution but not the log-probabilities the loss scores"
            )
        if self.max_sampled_groups is not None and self.max_sampled_groups < self.tasks_per_step:
            raise InvalidOptionError(
                f"max_sampled_groups ({self.max_sampled_groups}) must be >= tasks_per_step ({self.tasks_per_step})"
            )

    @property
    def sampled_groups_cap(self) -> int:
        return self.max_sampled_groups or self.tasks_per_step * self.max_sampling_rounds


@dataclass
class Group:
    """The ``group_size`` episodes of one task, their shaped rewards and advantages."""

    episodes: list[Episode]
    rewards: list[float]
    advantages: list[float] | None = None
    truncated: list[bool] | None = None  # per episode: cut by a length limit (overlong filtering)


class DAPOTrainer:
    """
    DAPO against RAMP environments (see the module docs for the algorithm).

    ```python
    trainer = DAPOTrainer(model, tokenizer, env_factory=lambda: gym.make("RAMP-v0").unwrapped,
                          config=DAPOConfig(group_size=4), curriculum=StagedCurriculum(episodes_per_stage=200))
    for _ in range(100):
        metrics = trainer.step()
    ```

    Args:
        model: a ``transformers`` causal LM, trained in place.
        tokenizer: its tokenizer (with a chat template).
        env_factory: makes one env; ``group_size * tasks_per_step`` are made, one per
            concurrent episode. Rewards are the env's (its ``reward=`` option).
        config: :class:`DAPOConfig`.
        curriculum: picks each task's mask count (``next_num_masks``) and hears each
            episode's score (``record``); ``None`` keeps the env's ``num_masks``.
        agent_config: prompt settings of the rollout agent (generation fields are
            overridden by ``config``).
        exclude_passages: passage ids never trained on (held-out evaluation tasks);
            a task drawn on one of them is redrawn.
        task_seeds: draw each task's reset seed from this pool (e.g. tasks known to be
            answerable) instead of at random.
        reference_model: a frozen model (e.g. the SFT starting point) to report
            ``kl_to_reference`` against each step (a diagnostic only; DAPO has no KL loss).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        env_factory: Callable[[], gym.Env],
        config: DAPOConfig | None = None,
        curriculum: MaskCurriculum | None = None,
        agent_config: LLMAgentConfig | None = None,
        exclude_passages: Collection[str] = (),
        task_seeds: Sequence[int] | None = None,
        reference_model: Any = None,
    ) -> None:
        self.config = config or DAPOConfig()
        self.exclude_passages = set(exclude_passages)
        if task_seeds is not None and not len(task_seeds):
            raise InvalidOptionError("task_seeds is empty")
        self.task_seeds = None if task_seeds is None else [int(s) for s in task_seeds]
        self.reference_model = reference_model
        cfg = self.config
        # float32 master weights; forward passes autocast to the model's half dtype if it had one
        self.autocast_dtype = upcast_to_fp32(model)
        self.model = model
        self.tokenizer = tokenizer
        self.curriculum = curriculum
        self.envs = [env_factory() for _ in range(cfg.group_size * cfg.tasks_per_step)]
        base = agent_config or LLMAgentConfig()
        self.agent = LLMAgent(
            model=model,
            tokenizer=tokenizer,
            config=base,
            record_tokens=True,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_new_tokens=cfg.max_new_tokens,
            max_context_tokens=cfg.max_context_tokens,
            seed=cfg.seed,
            batch_size=max(base.batch_size, len(self.envs)),
        )
        max_turns = max(int(getattr(env.unwrapped, "max_steps", 1)) for env in self.envs)
        self.overlong_max_tokens = cfg.overlong_max_tokens or cfg.max_new_tokens * max_turns
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        self._task_rng = np.random.default_rng(cfg.seed)
        self.steps = 0
        self.kept_groups_log: list[dict[str, Any]] = []  # per step: sampled/kept counts and kept task ids

    # -- sampling ---------------------------------------------------------------------------

    def _task_specs(self, count: int) -> list[list[EpisodeSpec]]:
        """``count`` new tasks, each as ``group_size`` identical resets (same seed, same mask count)."""
        groups = []
        for _ in range(count):
            options = {} if self.curriculum is None else {"num_masks": int(self.curriculum.next_num_masks())}
            for _ in range(_REDRAWS):
                if self.task_seeds is not None:
                    seed = self.task_seeds[int(self._task_rng.integers(len(self.task_seeds)))]
                else:
                    seed = int(self._task_rng.integers(2**31 - 1))
                if not self.exclude_passages:
                    break
                _, info = self.envs[0].reset(seed=seed, options=dict(options))
                if info["task_id"] not in self.exclude_passages:
                    break
            else:
                raise RuntimeError(f"{_REDRAWS} task draws in a row hit exclude_passages")
            groups.append([EpisodeSpec(seed=seed, options=options)] * self.config.group_size)
        return groups

    def shaped_reward(self, episode: Episode) -> float:
        """The env's total reward plus the overlong penalty on the episode's generated tokens."""
        penalty = overlong_penalty(episode.num_generated_tokens, self.overlong_max_tokens, self.config.overlong_cache)
        return episode.trajectory.total_reward + penalty

    def is_truncated(self, episode: Episode) -> bool:
        """Whether a length limit cut the episode (a turn ran out of tokens, or too many generated)."""
        return any(g.finish_reason == "length" for g in episode.generations) or (
            episode.num_generated_tokens > self.overlong_max_tokens
        )

    def sample_groups(self) -> tuple[list[Group], dict[str, float]]:
        """Group sampling with dynamic sampling; returns the groups with signal and sampling stats.

        Rounds of up to ``tasks_per_step`` new tasks are played until ``tasks_per_step``
        groups have unequal rewards or ``max_sampled_groups`` groups were sampled; the
        first ``tasks_per_step`` informative groups are kept. An underfilled batch is
        logged as a warning; the counts are in the stats and in :attr:`kept_groups_log`.
        """
        cfg = self.config
        cap = cfg.sampled_groups_cap
        kept: list[Group] = []
        sampled = dropped = generated = truncated = 0
        scores: list[float] = []
        rewards: list[float] = []
        group_stds: list[float] = []
        while len(kept) < cfg.tasks_per_step and sampled < cap:
            count = min(cfg.tasks_per_step, cap - sampled)
            specs = self._task_specs(count)
            flat = [spec for group in specs for spec in group]
            with autocast(self.model, self.autocast_dtype):
                episodes = play_episodes(self.agent, self.envs, flat, agent_name="dapo")
            for g in range(count):
                members = episodes[g * cfg.group_size : (g + 1) * cfg.group_size]
                passages = {e.trajectory.messages[1]["content"] for e in members}
                if len(passages) != 1:
                    raise RuntimeError("a group's envs gave different tasks for the same reset; use identical envs")
                for e in members:
                    scores.append(e.trajectory.score)
                    generated += e.num_generated_tokens
                    if self.curriculum is not None:
                        self.curriculum.record(e.trajectory.score)
                group = Group(
                    members, [self.shaped_reward(e) for e in members], truncated=[self.is_truncated(e) for e in members]
                )
                truncated += sum(group.truncated or [])
                rewards.extend(group.rewards)
                group_stds.append(float(np.std(group.rewards)))
                sampled += 1
                if not bool(informative_groups(torch.tensor([group.rewards]))[0]):
                    dropped += 1
                elif len(kept) < cfg.tasks_per_step:
                    kept.append(group)
        if len(kept) < cfg.tasks_per_step:
            logger.warning(
                "dynamic sampling kept %d of %d groups after sampling %d (cap %d): this step trains on %s",
                len(kept), cfg.tasks_per_step, sampled, cap, "nothing" if not kept else "an underfilled batch",
            )
        else:
            logger.info("dynamic sampling kept %d groups after sampling %d", len(kept), sampled)
        self.kept_groups_log.append(
            {
                "step": self.steps,
                "groups_sampled": sampled,
                "groups_kept": len(kept),
                "kept_task_ids": [g.episodes[0].trajectory.task_id for g in kept],
            }
        )
        stats = {
            "groups_sampled": float(sampled),
            "groups_dropped": float(dropped),
            "groups_kept": float(len(kept)),
            "batch_fill": len(kept) / cfg.tasks_per_step,
            "informative_share": (sampled - dropped) / max(sampled, 1),
            "score_mean": float(np.mean(scores)) if scores else 0.0,
            "reward_mean": float(np.mean(rewards)) if rewards else 0.0,
            "reward_std_within_group": float(np.mean(group_stds)) if group_stds else 0.0,
            "truncated_episodes": float(truncated),
            "generated_tokens": float(generated),
        }
        return kept, stats

    # -- learning ---------------------------------------------------------------------------

    def update(self, groups: Sequence[Group]) -> dict[str, float]:
        """Policy-gradient updates on sampled groups; returns loss and clipping stats."""
        cfg = self.config
        rewards = torch.tensor([g.rewards for g in groups], dtype=torch.float32)
        advantages = group_advantages(rewards, scale=cfg.scale_rewards)
        items: list[tuple[TokenSegment, float]] = []
        for group, group_adv in zip(groups, advantages.tolist()):
            group.advantages = group_adv
            for i, (episode, advantage) in enumerate(zip(group.episodes, group_adv)):
                if cfg.overlong_filtering and group.truncated is not None and group.truncated[i]:
                    continue  # overlong filtering: counted in the group's statistics, masked out of the loss
                items.extend((segment, advantage) for segment in episode.segments)
        num_tokens = sum(segment.num_generated for segment, _ in items)
        if num_tokens == 0:
            return {"loss": 0.0, "policy_tokens": 0.0}
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batches = [items[i : i + cfg.micro_batch_size] for i in range(0, len(items), cfg.micro_batch_size)]
        # The policy is unchanged until the first optimiser step, so the first update's own forward
        # pass gives the sampling policy's log-probs ("old", kept for later updates) and the policy
        # side of the KL diagnostic: no separate no-grad pass over the batch (a full forward of
        # every long prompt).
        old: list[torch.Tensor] = []
        kl_sum = 0.0
        self.model.train()
        totals: dict[str, float] = {"loss": 0.0, "clip_low_frac": 0.0, "clip_high_frac": 0.0, "grad_norm": 0.0}
        for update in range(cfg.updates_per_step):
            self.optimizer.zero_grad(set_to_none=True)
            for b, batch in enumerate(batches):
                segments = [s for s, _ in batch]
                with autocast(self.model, self.autocast_dtype):
                    logprobs, mask = sequence_logprobs(self.model, segments, pad_id, cfg.temperature)
                if update == 0:
                    old.append(logprobs.detach())
                    if self.reference_model is not None:
                        kl_sum += self._kl_to_reference(segments, old[b], mask, pad_id)
                adv = torch.tensor([a for _, a in batch], dtype=logprobs.dtype, device=logprobs.device)
                loss, stats = dapo_policy_loss(
                    logprobs, old[b], adv, mask, cfg.clip_low, cfg.clip_high, num_tokens=num_tokens
                )
                loss.backward()
                share = float(mask.sum()) / num_tokens
                totals["loss"] += float(loss.detach()) / cfg.updates_per_step
                totals["clip_low_frac"] += stats["clip_low_frac"] * share / cfg.updates_per_step
                totals["clip_high_frac"] += stats["clip_high_frac"] * share / cfg.updates_per_step
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
            totals["grad_norm"] += float(norm) / cfg.updates_per_step
            self.optimizer.step()
        self.model.eval()
        totals["policy_tokens"] = float(num_tokens)
        if self.reference_model is not None:
            totals["kl_to_reference"] = kl_sum / num_tokens
        return totals

    def _kl_to_reference(
        self, segments: Sequence[TokenSegment], policy: torch.Tensor, mask: torch.Tensor, pad_id: int
    ) -> float:
        """Summed k3 estimate of KL(policy || reference) on the sampled tokens: exp(d) - d - 1, d = ref - policy."""
        with torch.no_grad(), autocast(self.model, self.autocast_dtype):
            ref, _ = sequence_logprobs(self.reference_model, segments, pad_id, self.config.temperature)
        d = (ref - policy).clamp(-20, 20)
        return float(((torch.exp(d) - d - 1) * mask).sum())

    def step(self) -> dict[str, float]:
        """One DAPO step: sample groups (dynamic sampling), then update on those with signal."""
        started = time.perf_counter()
        groups, stats = self.sample_groups()
        rollout_seconds = time.perf_counter() - started
        metrics: dict[str, float] = {"step": float(self.steps), **stats, "groups_used": float(len(groups))}
        if groups:
            metrics.update(self.update(groups))
        else:
            metrics.update({"loss": 0.0, "policy_tokens": 0.0})
        metrics["rollout_seconds"] = rollout_seconds
        metrics["seconds"] = time.perf_counter() - started
        metrics["rollout_tokens_per_second"] = stats["generated_tokens"] / max(rollout_seconds, 1e-9)
        if self.curriculum is not None and hasattr(self.curriculum, "num_masks"):
            metrics["curriculum_num_masks"] = float(self.curriculum.num_masks)
        self.steps += 1
        return metrics

    def config_dict(self) -> dict[str, Any]:
        return asdict(self.config)

"""RAMP episodes as TRL ``GRPOTrainer`` rollouts (``rollout_func``).

TRL 1.16's ``GRPOTrainer(rollout_func=...)`` hands the rollout function the
prompts of a batch (each prompt repeated ``num_generations`` times, in a row)
and the trainer; it wants back, per prompt, the token ids of the prompt and of
the completion, the sampler's log-probabilities and, for multi-turn episodes,
an ``env_mask`` (1 = a token the model generated, 0 = a token the environment
wrote). Any other key goes to the reward functions as a keyword column.

:class:`RAMPRollout` is such a function. Each prompt names a task (a reset seed
and a mask count, see :func:`task_prompt` and :func:`ramp_task_dataset`), so the
env owns the data and the ``num_generations`` copies of a prompt play the same
passage. One :class:`~agents.llm.LLMAgent` plays all episodes of the batch in
lockstep through :func:`~agents.llm.rollout.play_episodes`, which keeps the
exact token sequence of each episode:

    prompt_ids     = system + masked passage + assistant header (the first policy token excluded)
    completion_ids = turn 1 | env reply (tool turn, next header) | turn 2 | ... | last turn [+ end of turn]
    env_mask       =   1    |                0                   |   1    | ... |     1     [+ 0]

Generation goes through the trainer's vLLM engine when ``use_vllm=True``
(``vllm_mode="colocate"`` or ``"server"``), else through ``model.generate`` on
the model being trained. When the last turn stopped on ``</answer>`` or
``</search>`` the template's end-of-turn token is appended (mask 0, the env
closes the turn) so TRL does not count a finished episode as truncated; an
episode whose last turn ran out of ``max_new_tokens`` ends without it, so
``mask_truncated_completions=True`` drops it from the loss, as DAPO prescribes.
An episode whose context had to be rebuilt (results elided to fit
``max_context_tokens``) cannot be one prompt + completion: it is cut at the
rebuild and its ``env_mask`` is all 0 (counted in ``rollout/rebuilt``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.llm.agent import LLMAgent, LLMAgentConfig
from agents.llm.generation import Generation, eos_token_ids, trim_generation
from agents.llm.rollout import Episode, EpisodeSpec, play_episodes
from agents.training.dapo import sequence_logprobs
from ramp_env.envs.ramp import MAX_NUM_MASKS
from ramp_env.errors import DataFormatError, InvalidOptionError

TASK_KEY = "ramp_task"


# -- the dataset: one row per task ------------------------------------------------------------


def task_prompt(seed: int, num_masks: int) -> str:
    """The prompt text naming one RAMP task: a JSON object ``{"ramp_task": {"seed", "num_masks"}}``.

    The trainer passes only prompts to a ``rollout_func``, so the task travels in the prompt
    (the rows' ``seed``/``num_masks`` columns repeat it for reward functions and logs).
    """
    return json.dumps({TASK_KEY: {"seed": int(seed), "num_masks": int(num_masks)}}, sort_keys=True)


def parse_task_prompt(prompt: str | Sequence[Mapping[str, Any]]) -> EpisodeSpec:
    """The reset of the task a prompt names (see :func:`task_prompt`); conversational prompts
    are read from their last message. Raises ``ValueError`` naming what is wrong."""
    text = prompt if isinstance(prompt, str) else (prompt[-1].get("content") if prompt else None)
    if not isinstance(text, str):
        raise DataFormatError(f"a RAMP task prompt must be text or chat messages with text content, got {prompt!r:.200}")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            f"prompt {text[:120]!r} is not a RAMP task (JSON from agents.training.trl_rollout.task_prompt): {exc}"
        ) from None
    task = record.get(TASK_KEY) if isinstance(record, dict) else None
    if not isinstance(task, dict):
        raise DataFormatError(f"prompt {text[:120]!r} has no {TASK_KEY!r} object; build prompts with task_prompt()")
    seed, num_masks = task.get("seed"), task.get("num_masks")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise DataFormatError(f"prompt {text[:120]!r}: seed must be a non-negative integer, got {seed!r}")
    if not isinstance(num_masks, int) or isinstance(num_masks, bool) or not 1 <= num_masks <= MAX_NUM_MASKS:
        raise DataFormatError(f"prompt {text[:120]!r}: num_masks must be an integer in 1..{MAX_NUM_MASKS}, got {num_masks!r}")
    return EpisodeSpec(seed=seed, options={"num_masks": num_masks})


def ramp_task_dataset(num_tasks: int, num_masks: int | Sequence[int] = 1, seed: int = 0) -> Any:
    """A ``datasets.Dataset`` of ``num_tasks`` RAMP tasks for ``GRPOTrainer(train_dataset=...)``.

    Columns: ``prompt`` (:func:`task_prompt`), ``seed`` and ``num_masks``. Mask counts cycle
    through ``num_masks``; reset seeds are drawn from ``seed``, so use a different ``seed``
    from the one you evaluate with (``ramp-env evaluate --seed``) to keep tasks apart.
    """
    from datasets import Dataset

    counts = [num_masks] if isinstance(num_masks, int) else [int(k) for k in num_masks]
    if num_tasks < 1 or not counts:
        raise InvalidOptionError(f"need num_tasks >= 1 and at least one mask count, got {num_tasks}, {num_masks!r}")
    seeds = np.random.default_rng(seed).integers(2**31 - 1, size=num_tasks)
    rows = [(int(s), counts[i % len(counts)]) for i, s in enumerate(seeds)]
    return Dataset.from_dict(
        {
            "prompt": [task_prompt(s, k) for s, k in rows],
            "seed": [s for s, _ in rows],
            "num_masks": [k for _, k in rows],
        }
    )


# -- reward functions (GRPOTrainer(reward_funcs=[...])) ---------------------------------------


def episode_reward(completions: Sequence[Any], ramp_reward: Sequence[float], **kwargs: Any) -> list[float]:
    """The env's episode reward (sum of step rewards: graded answer minus format penalties)."""
    return [float(r) for r in ramp_reward]


def mask_score(completions: Sequence[Any], per_mask_scores: Sequence[Sequence[float]], **kwargs: Any) -> list[float]:
    """Mean per-mask score in [0, 1], without format penalties (log it with reward weight 0)."""
    return [float(np.mean(s)) if len(s) else 0.0 for s in per_mask_scores]


# -- generation backends ----------------------------------------------------------------------


class VLLMTurnAgent(LLMAgent):
    """An :class:`LLMAgent` whose turns are generated by a ``GRPOTrainer``'s vLLM engine.

    The engine is TRL's (``trainer.vllm_generation``): weights are synced by the trainer
    before each rollout. Each turn asks for at most ``max_new_tokens`` and stops on the
    closing tags; the ids are then cut exactly as the ``transformers`` path cuts them.
    """

    def __init__(self, trainer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = trainer.vllm_generation
        self._eos_ids = eos_token_ids(self.model, self.tokenizer)

    def _generate(self, contexts: Sequence[Sequence[int]]) -> list[Generation]:
        engine = self.engine
        saved = (engine.max_completion_length, engine.generation_kwargs)
        engine.max_completion_length = self.config.max_new_tokens
        engine.generation_kwargs = {
            **(saved[1] or {}),
            "stop": list(self.config.stop_strings),
            "include_stop_str_in_output": True,
        }
        try:
            _, completion_ids, logprobs, _ = engine.generate(
                prompts=[list(c) for c in contexts], images=None, num_generations=1
            )
        finally:
            engine.max_completion_length, engine.generation_kwargs = saved
        generations: list[Generation] = []
        for ids, token_logprobs in zip(completion_ids, logprobs):
            cut = trim_generation(
                self.tokenizer, list(ids), self._eos_ids, self.config.stop_strings, self.config.max_new_tokens
            )
            # vLLM returns the top-k log-probs of each position, the sampled token's first
            kept = [float("nan") if lp is None or lp[0] is None else float(lp[0]) for lp in token_logprobs]
            generations.append(Generation(cut.token_ids, cut.text, cut.finish_reason, kept[: len(cut.token_ids)]))
        return generations


# -- the rollout function ---------------------------------------------------------------------


@dataclass
class Completion:
    """One episode as TRL wants it (see the module docs)."""

    prompt_ids: list[int]
    completion_ids: list[int]
    env_mask: list[int]
    rebuilt: bool
    closed: bool


def episode_completion(episode: Episode, end_of_turn_id: int | None) -> Completion:
    """Split an episode's first token segment into prompt and completion (see the module docs)."""
    if not episode.segments:
        raise RuntimeError("the episode has no token record: play it with an agent built with record_tokens=True")
    segment = episode.segments[0]
    first = segment.policy_mask.index(1)
    prompt = list(segment.input_ids[:first])
    completion = list(segment.input_ids[first:])
    mask = list(segment.policy_mask[first:])
    rebuilt = len(episode.segments) > 1
    closed = False
    if rebuilt:
        mask = [0] * len(mask)
    elif episode.generations and episode.generations[-1].finish_reason == "stop" and end_of_turn_id is not None:
        completion.append(end_of_turn_id)
        mask.append(0)
        closed = True
    return Completion(prompt, completion, mask, rebuilt, closed)


class RAMPRollout:
    """
    A ``rollout_func`` for TRL's ``GRPOTrainer`` that plays RAMP episodes (see the module docs).

    ```python
    rollout = RAMPRollout(env_kwargs={"num_masks": 1, "max_searches": 2}, max_new_tokens=96)
    trainer = GRPOTrainer(model, reward_funcs=[episode_reward], args=GRPOConfig(loss_type="dapo", ...),
                          train_dataset=ramp_task_dataset(1000, num_masks=[1, 2]),
                          processing_class=tokenizer, rollout_func=rollout)
    ```

    Args:
        env_factory: makes one env (``gym.make("RAMP-v0", **env_kwargs)`` by default); envs are
            pooled and reused, one per episode in flight.
        env_kwargs: keyword arguments of the default factory.
        max_new_tokens: tokens per turn at most.
        max_context_tokens: prompt + one turn stay within this (longer episodes are cut, see above).
        system_prompt, tool_role: see :class:`~agents.llm.LLMAgentConfig`.
        compute_logprobs: on the ``transformers`` path, score the sampled tokens once more under
            the sampling weights (one forward pass) to return the sampler's log-probs; ``False``
            returns ``None`` and TRL computes what its loss needs itself.
        logprob_batch_size: episodes per forward pass when scoring.

    Returned keys, one entry per prompt: ``prompt_ids``, ``completion_ids``, ``logprobs``
    (0.0 on env tokens), ``env_mask``, and for reward functions ``ramp_reward`` (episode
    reward), ``per_mask_scores``, ``ramp_score`` (their mean), ``task_id``, ``rebuilt``.
    The last batch's episodes stay in :attr:`last_episodes`.
    """

    def __init__(
        self,
        env_factory: Callable[[], gym.Env] | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        max_new_tokens: int = 96,
        max_context_tokens: int = 4096,
        system_prompt: str | None = None,
        tool_role: str = "auto",
        compute_logprobs: bool = True,
        logprob_batch_size: int = 8,
    ) -> None:
        if env_factory is not None and env_kwargs:
            raise InvalidOptionError("pass env_factory or env_kwargs, not both")
        kwargs = dict(env_kwargs or {})
        self.env_factory = env_factory or (lambda: gym.make("RAMP-v0", **kwargs))
        self.agent_config = LLMAgentConfig(
            max_new_tokens=max_new_tokens,
            max_context_tokens=max_context_tokens,
            tool_role=tool_role,
            **({"system_prompt": system_prompt} if system_prompt is not None else {}),
        )
        if logprob_batch_size < 1:
            raise InvalidOptionError(f"logprob_batch_size must be >= 1, got {logprob_batch_size}")
        self.compute_logprobs = compute_logprobs
        self.logprob_batch_size = logprob_batch_size
        self.envs: list[gym.Env] = []
        self.agent: LLMAgent | None = None
        self.last_episodes: list[Episode] = []

    # -- setup --------------------------------------------------------------------------------

    def _agent(self, trainer: Any) -> LLMAgent:
        if self.agent is not None:
            return self.agent
        model = trainer.accelerator.unwrap_model(trainer.model)
        settings = dict(
            model=model,
            tokenizer=trainer.processing_class,
            config=self.agent_config,
            record_tokens=True,
            temperature=float(trainer.temperature),
            top_p=float(trainer.top_p),
            seed=int(trainer.args.seed),
            batch_size=max(self.agent_config.batch_size, trainer.args.per_device_train_batch_size),
        )
        if trainer.use_vllm:
            args = trainer.args
            if args.vllm_mode == "server" and trainer.accelerator.num_processes > 1:
                raise NotImplementedError(
                    "RAMPRollout with vllm_mode='server' runs on one training process: the episodes of each "
                    "process take different numbers of turns, and TRL's server generation is a collective call"
                )
            if args.vllm_mode == "colocate" and args.vllm_tensor_parallel_size > 1:
                raise NotImplementedError("RAMPRollout with colocated vLLM needs vllm_tensor_parallel_size=1")
            self.agent = VLLMTurnAgent(trainer, **settings)
        else:
            self.agent = LLMAgent(**settings)
        return self.agent

    def _envs(self, count: int) -> list[gym.Env]:
        while len(self.envs) < count:
            self.envs.append(self.env_factory())
        return self.envs[:count]

    # -- rollout ------------------------------------------------------------------------------

    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, Any]:
        specs = [parse_task_prompt(p) for p in prompts]
        agent = self._agent(trainer)
        envs = self._envs(len(specs))
        # LLMAgent seeds torch's global generator per turn; give the trainer its stream back
        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            episodes = play_episodes(agent, envs, specs, agent_name="trl-grpo")
        self.last_episodes = episodes
        eot = trainer.processing_class.eos_token_id
        completions = [episode_completion(e, eot) for e in episodes]
        logprobs = self._logprobs(agent, episodes, completions, float(trainer.temperature))
        return {
            "prompt_ids": [c.prompt_ids for c in completions],
            "completion_ids": [c.completion_ids for c in completions],
            "logprobs": logprobs,
            "env_mask": [c.env_mask for c in completions],
            "ramp_reward": [float(e.trajectory.total_reward) for e in episodes],
            "per_mask_scores": [list(e.trajectory.per_mask_scores) for e in episodes],
            "ramp_score": [float(e.trajectory.score) for e in episodes],
            "task_id": [e.trajectory.task_id for e in episodes],
            "rebuilt": [c.rebuilt for c in completions],
        }

    def _logprobs(
        self, agent: LLMAgent, episodes: Sequence[Episode], completions: Sequence[Completion], temperature: float
    ) -> list[list[float]] | None:
        if isinstance(agent, VLLMTurnAgent):
            rows = []
            for episode, completion in zip(episodes, completions):
                sampled = iter([lp for g in episode.generations for lp in (getattr(g, "logprobs", None) or [])])
                row = [next(sampled, 0.0) if m else 0.0 for m in completion.env_mask]
                rows.append(row)
            return rows
        if not self.compute_logprobs:
            return None
        model = agent.model
        pad_id = agent.tokenizer.pad_token_id
        rows: list[list[float]] = []
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(episodes), self.logprob_batch_size):
                    chunk = list(range(start, min(start + self.logprob_batch_size, len(episodes))))
                    segments = [episodes[i].segments[0] for i in chunk]
                    full, _ = sequence_logprobs(model, segments, pad_id, temperature)
                    for row, i in enumerate(chunk):
                        c = completions[i]
                        first = len(c.prompt_ids)
                        values = full[row, first : len(segments[row].input_ids)].tolist()
                        values += [0.0] * (len(c.completion_ids) - len(values))  # an appended end of turn
                        rows.append([v if m else 0.0 for v, m in zip(values, c.env_mask)])
        finally:
            model.train(was_training)
        return rows

"""RAMP as a verifiers (0.4, ``verifiers.v1``) environment: ``vf-eval ramp ...``.

verifiers finds an environment by importing the package named by the taskset id
(``ramp``) and taking the one ``Taskset`` subclass and the one ``Env`` subclass in its
``__all__``:

* :class:`RAMPTaskset` yields one task per (reset seed, mask count); its config's knobs
  (``num_tasks``, ``num_masks``, ``seed``, and the RAMP-v0 arguments ``corpus``,
  ``max_searches``, ``top_k``, ``reward``, ...) are ``--env.taskset.<knob>`` flags.
* :class:`RAMPEnv` plays a task as a conversation with its ``solver`` agent: the env
  opens with the masked passage, every reply is one RAMP action
  (``<search>...</search>`` or ``<answer>...</answer>``), the env's feedback goes back
  as the next user turn, until the episode ends. The episode reward (graded answer
  minus format penalties) is recorded as the reward ``ramp``; the mean per-mask score,
  searches and format errors as metrics. Gymnasium envs are pooled per worker and
  reused across episodes (opening a corpus costs seconds, a reset microseconds).

    vf.load_environment(vf.resolve_env_config({"taskset": {"id": "ramp", "num_masks": [1, 2]}}))
"""

from __future__ import annotations

import asyncio
from typing import Any

import gymnasium as gym
import numpy as np
import verifiers.v1 as vf
from pydantic import Field, field_validator

import ramp_env  # noqa: F401  (registers RAMP-v0)
from ramp_env.prompts import INSTRUCTIONS, feedback_text, task_text

__all__ = ["RAMPEnv", "RAMPTaskset"]


class RAMPTaskData(vf.TaskData):
    """One RAMP task: ``gym.make("RAMP-v0").reset(seed=seed, options={"num_masks": num_masks})``."""

    seed: int
    num_masks: int


class RAMPTask(vf.Task[RAMPTaskData, vf.State, vf.TaskConfig]):
    @property
    def key(self) -> str:
        return f"ramp-{self.data.seed}-{self.data.num_masks}"


class RAMPTasksetConfig(vf.TasksetConfig):
    """Which tasks, and the RAMP-v0 arguments every episode's env is made with."""

    num_tasks: int = Field(100, ge=1, le=1_000_000)
    """How many tasks the taskset yields (one RAMP episode each)."""
    num_masks: list[int] = Field(default_factory=lambda: [1])
    """Mask counts, cycled over the tasks (``--env.taskset.num-masks 1 2 3 4``)."""
    seed: int = Field(0, ge=0)
    """Seeds the tasks' reset seeds (use a different one from your training tasks)."""
    corpus: str = "default"
    """``default`` (the embedded Wikipedia passages) or a .jsonl/.tsv/.parquet corpus file."""
    cache_dir: str | None = None
    """Where prepared corpora and indexes are cached (None: $RAMP_ENV_CACHE or the user cache dir)."""
    retriever: str = "tantivy"
    """Search backend: ``tantivy`` (BM25 on disk) or ``rank_bm25`` (in memory)."""
    span_extractor: str = "auto"
    """Which spans may be masked: ``auto`` (spaCy if installed, else rules), ``spacy``, ``rules``, ``llm``."""
    max_searches: int = Field(4, ge=0)
    """Search budget per episode; the step limit is this plus 2."""
    top_k: int = Field(3, ge=1)
    """Passages returned per search."""
    max_hit_chars: int = Field(1200, ge=1)
    """Longer passages in search results are cut to this many characters."""
    reward: str = "penalized_recall"
    """Per-mask score: ``penalized_recall`` (default: recall minus the anti-enumeration penalty), ``recall`` (the paper's), ``em``, ``f1``, ``judge``, ``judge_llm``."""
    format_penalty: float = Field(0.1, ge=0.0)
    """Cost of a malformed action (and of an answer with format errors)."""
    show_title: bool = True
    """Show the passage's article title in the task text."""

    @field_validator("num_masks")
    @classmethod
    def _valid_mask_counts(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= k <= 64 for k in value):
            raise ValueError(f"num_masks must be a non-empty list of counts in 1..64, got {value}")
        return value

    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``gym.make("RAMP-v0", ...)``."""
        return dict(
            corpus=self.corpus, cache_dir=self.cache_dir, retriever=self.retriever,
            span_extractor=self.span_extractor, max_searches=self.max_searches, top_k=self.top_k,
            max_hit_chars=self.max_hit_chars, reward=self.reward, format_penalty=self.format_penalty,
            show_title=self.show_title, progress=False,
        )


class RAMPTaskset(vf.Taskset[RAMPTask, RAMPTasksetConfig]):
    """``num_tasks`` RAMP tasks: reset seeds drawn from ``seed``, mask counts cycled."""

    def load(self):
        cfg = self.config
        seeds = np.random.default_rng(cfg.seed).integers(2**31 - 1, size=cfg.num_tasks)
        for i, seed in enumerate(seeds):
            k = cfg.num_masks[i % len(cfg.num_masks)]
            data = RAMPTaskData(
                id=f"{int(seed)}:{k}",
                name=f"ramp-{int(seed)}-{k}masks",
                prompt=None,  # the env opens the conversation with the masked passage
                system_prompt=INSTRUCTIONS,
                seed=int(seed),
                num_masks=k,
            )
            yield RAMPTask(data, cfg.task)


class RAMPEnvConfig(vf.EnvConfig):
    solver: vf.AgentConfig = vf.AgentConfig()
    """The agent under evaluation (``--env.solver.*``)."""


class RAMPEnv(vf.Env[RAMPEnvConfig]):
    """The env drives the turns: passage, action, feedback, ... until the answer."""

    def __init__(self, config: RAMPEnvConfig) -> None:
        super().__init__(config)
        self._idle: list[gym.Env] = []

    async def _acquire(self) -> gym.Env:
        if self._idle:
            return self._idle.pop()
        kwargs = self.taskset.config.env_kwargs()
        return await asyncio.to_thread(gym.make, "RAMP-v0", **kwargs)

    async def run(self, task: RAMPTask, agents: vf.Agents) -> None:
        env = await self._acquire()
        try:
            obs, _ = env.reset(seed=task.data.seed, options={"num_masks": task.data.num_masks})
            total, info, searches, format_errors = 0.0, {}, 0, 0
            async with agents.solver.interaction(task) as chat:
                segment = await chat.turn(task_text(obs))
                while not segment.terminated:
                    obs, reward, terminated, truncated, info = env.step(segment.last_reply)
                    total += reward
                    searches += info.get("action") == "search"
                    format_errors += bool(info.get("format_errors"))
                    if terminated or truncated:
                        break
                    segment = await chat.turn(feedback_text(obs))
                scores = info.get("per_mask_scores") or [0.0] * task.data.num_masks
                chat.trace.record_reward("ramp", total)
                chat.trace.record_metric("mask_score", float(np.mean(scores)))
                chat.trace.record_metric("searches", float(searches))
                chat.trace.record_metric("format_errors", float(format_errors))
                chat.trace.record_metric("answered", float(info.get("action") == "answer"))
        finally:
            self._idle.append(env)

"""Teachers: anything that plays RAMP tasks and returns trajectories to learn from.

* :class:`~agents.synthesis.pipeline.MultiAgentTeacher`: the planner / rewriter /
  observer pipeline over an LLM backend (round 1 of distillation).
* :class:`AgentTeacher`: any agent of the harness (an ``LLMAgent`` holding the
  last round's student, or a baseline such as ``BM25HeuristicAgent``); an
  ``LLMAgent`` plays ``len(envs)`` episodes in lockstep with batched generation.

Both pose the same tasks for the same ``(num_tasks, seed, num_masks)``
(:func:`~agents.synthesis.pipeline.task_plan`) and record the gold answers for the judge.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym

from agents.synthesis.pipeline import task_plan
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.runner import run_episode
from ramp_env.trajectories import RecordTrajectories, Trajectory


@runtime_checkable
class Teacher(Protocol):
    name: str

    def generate(
        self, envs: gym.Env | Sequence[gym.Env], num_tasks: int, seed: int = 0,
        num_masks: Sequence[int | None] = (None,),
    ) -> list[Trajectory]: ...


class AgentTeacher:
    """An agent (``act(observation) -> str``) as a teacher.

    Args:
        agent: the agent; an ``agents.llm.LLMAgent`` is played with batched generation.
        name: recorded as the trajectories' agent and in their provenance.
    """

    def __init__(self, agent: Any, name: str) -> None:
        self.agent = agent
        self.name = name

    def generate(
        self, envs: gym.Env | Sequence[gym.Env], num_tasks: int, seed: int = 0,
        num_masks: Sequence[int | None] = (None,),
    ) -> list[Trajectory]:
        envs = [envs] if isinstance(envs, gym.Env) else list(envs)
        if not envs:
            raise InvalidOptionError("generate needs at least one env")
        plan = task_plan(num_tasks, seed, num_masks)
        # only an agent whose class is already imported can be an LLMAgent: no torch import otherwise
        llm = sys.modules.get("agents.llm.agent")
        if llm is not None and isinstance(self.agent, llm.LLMAgent):
            trajectories = self._batched(envs, plan)
        else:
            recorder = RecordTrajectories(envs[0], agent=self.name)
            trajectories = []
            for episode_seed, k in plan:
                run_episode(recorder, self.agent, episode_seed, k)
                trajectories += recorder.pop_trajectories()
        for trajectory in trajectories:
            trajectory.metadata.update(teacher="agent", agent=self.name)
        return trajectories

    def _batched(self, envs: list[gym.Env], plan: list[tuple[int, int | None]]) -> list[Trajectory]:
        from agents.llm.rollout import EpisodeSpec, play_episodes

        specs = [EpisodeSpec(s, {"num_masks": k} if k is not None else {}) for s, k in plan]
        out: list[Trajectory] = []
        for start in range(0, len(specs), len(envs)):
            out += [e.trajectory for e in play_episodes(self.agent, envs, specs[start : start + len(envs)], self.name)]
        return out

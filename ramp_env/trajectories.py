"""Episode trajectories: what an agent saw, said and scored, as JSONL training data.

A :class:`Trajectory` holds one RAMP episode twice over:

* as a chat (``messages``), the form language models train on: a ``system``
  message with the task instructions, a ``user`` message with the masked
  passage, then for every step an ``assistant`` message (the agent's action,
  reasoning included) followed, unless the episode ended, by a ``tool`` message
  (the environment's feedback: message, search results, budget);
* as a step log (``actions``, ``tool_results``, ``rewards``) with the final
  ``per_mask_scores``, the facts rejection sampling and evaluation use.

Which tokens a trainer learns from is decided per message: a message trains
when its ``train`` key is true, and by default (no ``train`` key) exactly the
``assistant`` messages train. So retrieved passages (``tool``), the prompt
(``system``/``user``) are never learned, and a caller can switch one assistant
turn off (``{"role": "assistant", "content": ..., "train": False}``) to keep it
as context only. :func:`message_trains` is the rule.

Files are JSON Lines, one trajectory per line (``Trajectory.to_json``), written
by :func:`write_trajectories` through a temporary file and a rename, so a crash
never leaves a half-written file. :func:`read_trajectories` reads them back and
names the line of any bad record.

Any agent's episodes become trajectories through :class:`TrajectoryRecorder`
(or the :class:`RecordTrajectories` wrapper around an env), which renders
observations with :mod:`ramp_env.prompts`, the same text the LLM agent is
prompted with, so heuristic-agent trajectories are SFT data as is.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from ramp_env.cache import atomic_path
from ramp_env.errors import DataFormatError
from ramp_env.prompts import INSTRUCTIONS, feedback_text, task_text

TRAJECTORY_FORMAT = 1
ROLES = ("system", "user", "assistant", "tool")


def message_trains(message: Mapping[str, Any]) -> bool:
    """Whether a trainer learns this message's tokens: its ``train`` flag, else ``role == "assistant"``."""
    flag = message.get("train")
    return message["role"] == "assistant" if flag is None else bool(flag)


def initial_messages(observation: Mapping[str, Any], system_prompt: str = INSTRUCTIONS) -> list[dict[str, Any]]:
    """The chat an episode starts from: the instructions, then the masked passage."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": task_text(observation)},
    ]


def tool_message(observation: Mapping[str, Any]) -> dict[str, Any]:
    """The environment's reply to an action, as a ``tool`` message."""
    return {"role": "tool", "content": feedback_text(observation)}


@dataclass
class Trajectory:
    """One RAMP episode, as a chat and as a step log (see the module docs).

    Attributes:
        task_id: passage id of the masked passage (``info["task_id"]``).
        messages: the chat, ``{"role", "content"[, "train"]}`` dicts, roles in
            :data:`ROLES`; see :func:`message_trains` for which ones train.
        actions: the action of every step, in order.
        tool_results: the feedback text after every step (``len(actions)`` items).
        rewards: the reward of every step (``len(actions)`` items).
        per_mask_scores: each mask's final score in [0, 1] (0 for masks never answered).
        num_masks: masks in the task.
        seed: the seed the episode's ``reset`` got, or ``None``.
        agent: name of the agent that played.
        terminated: the episode ended with an answer (``False``: truncated).
        answers: the gold spans, when the collector recorded them (for analysis and
            rejection sampling; never shown to the agent).
        metadata: free-form extras (model name, env options, ...), JSON-serialisable.
    """

    task_id: str
    messages: list[dict[str, Any]]
    actions: list[str]
    tool_results: list[str]
    rewards: list[float]
    per_mask_scores: list[float]
    num_masks: int
    seed: int | None = None
    agent: str = ""
    terminated: bool = True
    answers: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def score(self) -> float:
        """The episode's task score: the mean per-mask score (0 when there are no scores)."""
        return sum(self.per_mask_scores) / len(self.per_mask_scores) if self.per_mask_scores else 0.0

    @property
    def total_reward(self) -> float:
        """Sum of the step rewards (the score minus format penalties)."""
        return float(sum(self.rewards))

    @property
    def num_steps(self) -> int:
        return len(self.actions)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first inconsistency."""
        if not isinstance(self.task_id, str) or not self.task_id:
            raise DataFormatError(f"trajectory task_id must be a non-empty string, got {self.task_id!r}")
        if not isinstance(self.messages, list) or not self.messages:
            raise DataFormatError("trajectory messages must be a non-empty list")
        for i, message in enumerate(self.messages):
            if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
                raise DataFormatError(f"message {i} must be a dict with 'role' and 'content', got {message!r}")
            if message["role"] not in ROLES:
                raise DataFormatError(f"message {i} has role {message['role']!r}; expected one of {ROLES}")
            if not isinstance(message["content"], str):
                raise DataFormatError(f"message {i} content must be a string")
        if not (len(self.actions) == len(self.tool_results) == len(self.rewards)):
            raise DataFormatError(
                f"actions ({len(self.actions)}), tool_results ({len(self.tool_results)}) and rewards "
                f"({len(self.rewards)}) must have one item per step"
            )
        if not isinstance(self.num_masks, int) or self.num_masks < 1:
            raise DataFormatError(f"num_masks must be a positive int, got {self.num_masks!r}")
        if len(self.per_mask_scores) != self.num_masks:
            raise DataFormatError(f"{len(self.per_mask_scores)} per-mask scores for {self.num_masks} masks")
        for value in [*self.rewards, *self.per_mask_scores]:
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise DataFormatError(f"rewards and scores must be finite numbers, got {value!r}")
        if any(not 0.0 <= s <= 1.0 for s in self.per_mask_scores):
            raise DataFormatError(f"per-mask scores must be in [0, 1], got {self.per_mask_scores}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (one JSONL line); ``from_json`` reads it back."""
        return {"format": TRAJECTORY_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Trajectory:
        """Build from a ``to_json`` dict; raises ``ValueError`` naming a missing, unknown or bad field."""
        if not isinstance(record, Mapping):
            raise DataFormatError(f"a trajectory record must be a JSON object, got {type(record).__name__}")
        data = dict(record)
        version = data.pop("format", TRAJECTORY_FORMAT)
        if version != TRAJECTORY_FORMAT:
            raise DataFormatError(f"unsupported trajectory format {version!r} (this version reads {TRAJECTORY_FORMAT})")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataFormatError(f"unknown trajectory field(s) {unknown}")
        required = {"task_id", "messages", "actions", "tool_results", "rewards", "per_mask_scores", "num_masks"}
        missing = sorted(required - set(data))
        if missing:
            raise DataFormatError(f"trajectory record is missing field(s) {missing}")
        return cls(**data)


def iter_trajectories(path: str | os.PathLike[str]) -> Iterator[Trajectory]:
    """Stream trajectories from a JSONL file; blank lines are skipped, a bad line raises naming it."""
    path = Path(path)
    with open(path, "rb") as fh:  # decoded line by line, so bad UTF-8 is reported at its line
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(f"{path}:{lineno}: not valid UTF-8 at byte {exc.start} ({exc.reason})") from exc
            if not line.strip():
                continue
            try:
                yield Trajectory.from_json(json.loads(line))
            except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
                raise DataFormatError(f"{path}:{lineno}: bad trajectory record: {exc}") from exc


def read_trajectories(path: str | os.PathLike[str]) -> list[Trajectory]:
    """All trajectories of a JSONL file written by :func:`write_trajectories`."""
    return list(iter_trajectories(path))


def write_trajectories(path: str | os.PathLike[str], trajectories: Iterable[Trajectory]) -> int:
    """Write trajectories as JSONL through a temporary file and a rename; return how many.

    The target appears only once every record is written: an exception (or a
    kill) midway leaves any previous file at ``path`` untouched.
    """
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for trajectory in trajectories:
            if not isinstance(trajectory, Trajectory):
                raise TypeError(f"expected Trajectory objects, got {type(trajectory).__name__}")
            fh.write(json.dumps(trajectory.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def filter_trajectories(
    trajectories: Iterable[Trajectory], min_score: float = 0.0, require_terminated: bool = True
) -> list[Trajectory]:
    """Rejection sampling: keep episodes scoring at least ``min_score`` (and, by default, that answered)."""
    return [t for t in trajectories if t.score >= min_score and (t.terminated or not require_terminated)]


class TrajectoryRecorder:
    """Builds a :class:`Trajectory` from an episode's observations, actions and rewards.

    ```python
    recorder = TrajectoryRecorder(agent="bm25")
    obs, info = env.reset(seed=0)
    recorder.start(obs, info, seed=0)
    while True:
        action = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        recorder.step(action, obs, reward, info, terminated, truncated)
        if terminated or truncated:
            break
    trajectory = recorder.finish(answers=env.unwrapped.task.answers)
    ```
    """

    def __init__(self, agent: str = "", system_prompt: str = INSTRUCTIONS) -> None:
        self.agent = agent
        self.system_prompt = system_prompt
        self._started = False

    def start(self, observation: Mapping[str, Any], info: Mapping[str, Any], seed: int | None = None) -> None:
        self.task_id = str(info["task_id"])
        self.num_masks = int(observation["num_masks"])
        self.seed = seed
        self.messages = initial_messages(observation, self.system_prompt)
        self.actions: list[str] = []
        self.tool_results: list[str] = []
        self.rewards: list[float] = []
        self.per_mask_scores: list[float] = [0.0] * self.num_masks
        self.terminated = False
        self._started = True

    def step(
        self,
        action: str,
        observation: Mapping[str, Any],
        reward: float,
        info: Mapping[str, Any],
        terminated: bool = False,
        truncated: bool = False,
    ) -> None:
        if not self._started:
            raise RuntimeError("call start() before step()")
        text = action if isinstance(action, str) else repr(action)
        feedback = tool_message(observation)
        self.messages.append({"role": "assistant", "content": text})
        if not (terminated or truncated):
            self.messages.append(feedback)
        self.actions.append(text)
        self.tool_results.append(feedback["content"])
        self.rewards.append(float(reward))
        if "per_mask_scores" in info:
            self.per_mask_scores = [float(s) for s in info["per_mask_scores"]]
        self.terminated = bool(terminated)

    def finish(self, answers: Iterable[str] | None = None, **metadata: Any) -> Trajectory:
        if not self._started:
            raise RuntimeError("call start() before finish()")
        self._started = False
        return Trajectory(
            task_id=self.task_id,
            messages=self.messages,
            actions=self.actions,
            tool_results=self.tool_results,
            rewards=self.rewards,
            per_mask_scores=self.per_mask_scores,
            num_masks=self.num_masks,
            seed=self.seed,
            agent=self.agent,
            terminated=self.terminated,
            answers=None if answers is None else [str(a) for a in answers],
            metadata=dict(metadata),
        )


class RecordTrajectories(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Records every episode played through the env as a :class:`Trajectory`.

    Finished episodes accumulate in :attr:`trajectories` (take them with
    :meth:`pop_trajectories`); any episode loop works unchanged, e.g.
    ``ramp_env.evaluation.run_episode(RecordTrajectories(env), agent, seed)``.
    With ``record_answers`` the gold spans (``env.unwrapped.task.answers``) are kept.
    """

    def __init__(
        self, env: gym.Env, agent: str = "", record_answers: bool = True, system_prompt: str = INSTRUCTIONS
    ) -> None:
        # recorded so env.spec can rebuild the wrapper (gym.make's additional_wrappers, check_env)
        gym.utils.RecordConstructorArgs.__init__(
            self, agent=agent, record_answers=record_answers, system_prompt=system_prompt
        )
        gym.Wrapper.__init__(self, env)
        self.recorder = TrajectoryRecorder(agent=agent, system_prompt=system_prompt)
        self.record_answers = record_answers
        self.trajectories: list[Trajectory] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.recorder.start(obs, info, seed=seed)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.recorder.step(action, obs, reward, info, terminated, truncated)
        if terminated or truncated:
            task = getattr(self.env.unwrapped, "task", None)
            answers = getattr(task, "answers", None) if self.record_answers else None
            self.trajectories.append(self.recorder.finish(answers=answers))
        return obs, reward, terminated, truncated, info

    def pop_trajectories(self) -> list[Trajectory]:
        """The finished episodes recorded since the last call."""
        done, self.trajectories = self.trajectories, []
        return done

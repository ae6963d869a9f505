"""MaskSearch's multi-agent trajectory synthesis, played in real RAMP episodes.

For each task a planner reasons about the masked passage and decomposes it
freely into sub-questions; for each mask a rewriter turns its sub-questions
into several search queries, the env runs them one at a time, and after each
an observer reflects on the results and proposes the fill or asks for more
(up to ``attempts_per_mask`` observer rounds per mask, at most
:data:`MAX_OBSERVER_ROUNDS` as in the paper). The final answer fills every
mask. Every search and the answer are real env steps, so the trajectory holds
the env's own feedback and scores. The roles' own words (the planner's
reasoning and sub-questions, the rewriter's queries, the observer's
reflections) go into the assistant turns as ``<think>`` text, the chain of
thought a student learns; short connecting phrases ("To find [mask_1] I search
for: ...") and a role's parse fallback are the only template text. A judge
(:mod:`agents.synthesis.judge`: rule-based or the LLM's own verdict) then keeps
the correct ones.

Episodes run in lockstep, one per env: each role's prompts from every running
episode go to the backend as one batch. Each episode is a generator that yields
either a :class:`RoleCall` (answered with the backend's text) or an
:class:`EnvStep` (answered with the next observation), which keeps the episode
logic readable top to bottom while the driver batches across episodes.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agents.synthesis.backends import LLMBackend, Messages
from agents.synthesis.roles import Observer, Planner, Rewriter, plain
from ramp_env.actions import format_answer, format_search
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.runner import episode_seed
from ramp_env.masking import mask_token
from ramp_env.trajectories import Trajectory, TrajectoryRecorder

PIPELINE_VERSION = 2
MAX_OBSERVER_ROUNDS = 5  # the paper's observer reflects for at most five rounds per mask


@dataclass
class RoleCall:
    """A request to the backend on behalf of one role."""

    role: str
    messages: Messages
    max_new_tokens: int


@dataclass
class EnvStep:
    """An action to play in the episode's env."""

    action: str


@dataclass
class _Slot:
    env: gym.Env
    task_index: int
    seed: int
    recorder: TrajectoryRecorder
    episode: Generator[RoleCall | EnvStep, Any, None]
    request: RoleCall | EnvStep | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def task_plan(num_tasks: int, seed: int, num_masks: Sequence[int | None]) -> list[tuple[int, int | None]]:
    """``(reset seed, mask count)`` of each task: mask counts in turn, seeds as ``ramp-env collect`` derives them."""
    if not num_masks:
        raise InvalidOptionError("num_masks must name at least one mask count (or None for the env's own)")
    plan = []
    for t in range(num_tasks):
        k = num_masks[t % len(num_masks)]
        plan.append((episode_seed(seed, k, t // len(num_masks)), k))
    return plan


class MultiAgentTeacher:
    """Planner, rewriter and observer over one LLM backend, playing RAMP episodes.

    Args:
        backend: any :class:`~agents.synthesis.backends.LLMBackend`.
        planner, rewriter, observer: the roles (defaults: the prompts in :mod:`agents.synthesis.roles`).
        attempts_per_mask: observer rounds (one search each) for one mask before moving on, 1..5.
        queries_per_rewrite: queries the rewriter may propose at once (tried in order, one per round).
    """

    def __init__(
        self,
        backend: LLMBackend,
        planner: Planner | None = None,
        rewriter: Rewriter | None = None,
        observer: Observer | None = None,
        attempts_per_mask: int = 2,
        queries_per_rewrite: int = 3,
    ) -> None:
        if not 1 <= attempts_per_mask <= MAX_OBSERVER_ROUNDS:
            raise InvalidOptionError(f"attempts_per_mask must be in 1..{MAX_OBSERVER_ROUNDS}, got {attempts_per_mask}")
        if queries_per_rewrite < 1:
            raise InvalidOptionError(f"queries_per_rewrite must be >= 1, got {queries_per_rewrite}")
        self.queries_per_rewrite = queries_per_rewrite
        self.backend = backend
        self.planner = planner or Planner()
        self.rewriter = rewriter or Rewriter()
        self.observer = observer or Observer()
        self.attempts_per_mask = attempts_per_mask
        self.name = f"multi-agent:{backend.name}"

    # -- one episode, as a generator ---------------------------------------------------------

    def _episode(self, obs: dict[str, Any], provenance: dict[str, Any]) -> Generator[RoleCall | EnvStep, Any, None]:
        k = int(obs["num_masks"])
        title = str(obs.get("title") or "")
        reply = yield RoleCall("planner", self.planner.messages(obs), self.planner.max_new_tokens)
        plan = self.planner.parse(reply, obs)
        questions: dict[int, str] = plan.value
        # string keys: provenance is JSON, and JSON object keys are strings
        provenance.update(plan={str(i): q for i, q in sorted(questions.items())},
                          fallbacks={"planner": int(plan.fallback), "rewriter": 0, "observer": 0},
                          queries=[], proposals={}, reflections=[])
        fills: dict[int, str] = {}
        # the planner's own reasoning and sub-questions open the chain of thought
        thought = " ".join(x for x in (plan.text, "Sub-questions: " + " ".join(
            f"{mask_token(i)} {questions[i]}" for i in sorted(questions))) if x)
        for i in range(1, k + 1):
            tried: list[str] = []
            queue: list[str] = []
            for _ in range(self.attempts_per_mask):
                # keep a step for the answer
                if int(obs["searches_left"]) < 1 or int(obs["steps_left"]) < 2:
                    break
                if not queue:
                    reply = yield RoleCall("rewriter", self.rewriter.messages(questions[i], title, tried),
                                           self.rewriter.max_new_tokens)
                    rewrite = self.rewriter.parse_many(reply, questions[i], title, self.queries_per_rewrite)
                    provenance["fallbacks"]["rewriter"] += int(rewrite.fallback)
                    # fresh queries first; a model that only repeats itself still gets its query run
                    queue = [q for q in rewrite.value if q not in tried] or rewrite.value[:1]
                query = queue.pop(0)
                tried.append(query)
                provenance["queries"].append(query)
                thought += f" To find {mask_token(i)} I search for: {query}"
                obs = yield EnvStep(f"<think>{plain(thought, 1200)}</think>\n{format_search(query)}")
                reply = yield RoleCall("observer", self.observer.messages(obs, i, questions[i]),
                                       self.observer.max_new_tokens)
                proposal = self.observer.parse(reply)
                provenance["fallbacks"]["observer"] += int(proposal.fallback)
                provenance["reflections"].append(proposal.text)
                if proposal.value:
                    fills[i] = plain(proposal.value, 200)
                    provenance["proposals"][str(i)] = fills[i]
                    thought = proposal.text or f"The results give {mask_token(i)} = {fills[i]}."
                    if proposal.text:
                        thought += f" So {mask_token(i)} = {fills[i]}."
                    break
                thought = proposal.text or f"The results do not give {mask_token(i)}."
        summary = " ".join(
            f"{mask_token(i)} = {fills[i]}." if i in fills else f"{mask_token(i)} was not found."
            for i in range(1, k + 1)
        )
        yield EnvStep(f"<think>{summary}</think>\n{format_answer({i: fills.get(i, '') for i in range(1, k + 1)})}")

    # -- the driver ---------------------------------------------------------------------------

    def _advance(self, slot: _Slot, value: Any) -> bool:
        """Send ``value`` into the episode and play its env steps until it asks a role (False when done)."""
        while True:
            try:
                request = slot.episode.send(value)
            except StopIteration:
                return False
            if isinstance(request, RoleCall):
                slot.request = request
                return True
            obs, reward, terminated, truncated, info = slot.env.step(request.action)
            slot.recorder.step(request.action, obs, reward, info, terminated, truncated)
            if terminated or truncated:
                slot.episode.close()
                return False
            value = obs

    def generate(
        self,
        envs: gym.Env | Sequence[gym.Env],
        num_tasks: int,
        seed: int = 0,
        num_masks: Sequence[int | None] = (None,),
    ) -> list[Trajectory]:
        """Play ``num_tasks`` tasks (``len(envs)`` at a time) and return their trajectories, judged or not.

        Task ``t`` is reset with the seed and mask count of :func:`task_plan`, so the
        same arguments pose the same tasks. Gold answers are recorded for the judge.
        """
        envs = [envs] if isinstance(envs, gym.Env) else list(envs)
        if not envs:
            raise InvalidOptionError("generate needs at least one env")
        plan = task_plan(num_tasks, seed, num_masks)
        results: dict[int, Trajectory] = {}
        free = list(range(len(envs)))
        running: dict[int, _Slot] = {}
        next_task = 0
        while next_task < num_tasks or running:
            while free and next_task < num_tasks:
                self._start(running, free.pop(0), envs, next_task, plan[next_task])
                next_task += 1
            self._answer_role_calls(running, results, free)
        return [results[t] for t in range(num_tasks)]

    def _start(self, running: dict[int, _Slot], index: int, envs: list[gym.Env], task: int,
               spec: tuple[int, int | None]) -> None:
        seed, k = spec
        env = envs[index]
        obs, info = env.reset(seed=seed, options={"num_masks": k} if k is not None else None)
        recorder = TrajectoryRecorder(agent=self.name)
        recorder.start(obs, info, seed=seed)
        provenance: dict[str, Any] = {"teacher": "multi-agent", "backend": self.backend.name,
                                      "pipeline_version": PIPELINE_VERSION}
        episode = self._episode(obs, provenance)
        request = next(episode)  # an episode always starts with the planner's call
        assert isinstance(request, RoleCall)
        running[index] = _Slot(env, task, seed, recorder, episode, request, provenance)

    def _answer_role_calls(self, running: dict[int, _Slot], results: dict[int, Trajectory], free: list[int]) -> None:
        waiting = [(i, s) for i, s in running.items() if isinstance(s.request, RoleCall)]
        calls = [s.request for _, s in waiting]
        replies = self.backend.complete([c.messages for c in calls], max(c.max_new_tokens for c in calls))
        if len(replies) != len(calls):
            raise RuntimeError(f"backend {self.backend.name} returned {len(replies)} replies for {len(calls)} prompts")
        for (index, slot), reply in zip(waiting, replies):
            slot.request = None
            if not self._advance(slot, reply):
                results[slot.task_index] = self._finish(slot)
                del running[index]
                free.append(index)

    def _finish(self, slot: _Slot) -> Trajectory:
        task = getattr(slot.env.unwrapped, "task", None)
        return slot.recorder.finish(answers=getattr(task, "answers", None), **slot.provenance)

"""RAMP env workers as Ray actors, and a pool that hands out whole episodes or single steps.

Two ways to use the workers, for the two shapes of RL loop:

* **the agent runs next to the env** (heuristic agents, one small LLM per node):
  :meth:`RayRolloutPool.rollouts` plays one episode per seed, spread over the
  workers by Ray's :class:`ray.util.ActorPool`, and returns
  :class:`~ramp_env.trajectories.Trajectory` objects in seed order, the format
  the SFT/RL trainers read. Episode ``seed`` poses the same task whichever worker
  plays it, so results do not depend on the number of workers.
* **the policy runs in the trainer** (a batched LLM on the driver's GPU):
  :meth:`RayRolloutPool.reset` and :meth:`RayRolloutPool.step` drive one env per
  worker in parallel, like a vector env whose sub-envs live anywhere in the cluster.

Every worker opens the same prepared corpus: :func:`prepare_env` builds anything
missing once, on the driver, before the workers start, and the workers only open
the cached passage store, span table and tantivy index read-only. On a multi-node
cluster point ``cache_dir`` at shared storage (see ``docs/scaling.md``).

Why Ray and not our own process pool: Ray already schedules actors over the
cores of many machines, restarts and ships objects, and is what RLlib and most LLM
RL stacks (OpenRLHF, veRL) run on. Why not RLlib itself: RLlib trains numeric
policies and pins its own gymnasium version; RAMP's policies are language models
fed text, which the trainers in ``agents/training`` handle.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Self

import gymnasium as gym

from ramp_env.errors import InvalidOptionError
from ramp_env.trajectories import Trajectory, TrajectoryRecorder

AgentFactory = Callable[..., Any]
_INSTALL_HINT = "Ray is not installed: pip install 'ramp-env[distributed]' (or pip install ray)"


def _import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(_INSTALL_HINT) from exc
    return ray


def prepare_env(env_id: str = "RAMP-v0", **env_kwargs: Any) -> dict[str, str]:
    """Build (once) and open everything ``gym.make(env_id, **env_kwargs)`` needs; return where it lives.

    Run it where the cache is writable before starting workers, so that they only
    open files: the passage store, the span table and the tantivy index.
    """
    env = gym.make(env_id, **env_kwargs)
    try:
        return _describe_env(env)
    finally:
        env.close()


def _describe_env(env: gym.Env) -> dict[str, str]:
    base = env.unwrapped
    corpus = getattr(base, "corpus", None)
    spans = getattr(base, "spans", None)
    retriever = getattr(base, "retriever", None)
    return {
        "corpus_dir": str(getattr(corpus, "directory", "")),
        "span_table": str(getattr(spans, "path", "")),
        "index_dir": str(getattr(retriever, "index_dir", "")),
    }


def _make_agent(factory: AgentFactory | str, env: gym.Env) -> Any:
    """A registered agent name or ``module:Class`` (built by the evaluation harness's loader), or
    ``factory(env=env)`` when it takes an ``env`` parameter (agents/base.py), else ``factory()``."""
    from ramp_env.evaluation.agent_loading import accepts, make_agent

    if isinstance(factory, str):
        return make_agent(factory, env=env)
    return factory(env=env) if accepts(factory, "env") else factory()


def _reset_agent(agent: Any, seed: int) -> None:
    from ramp_env.evaluation.runner import reset_agent

    reset_agent(agent, seed)


class RolloutWorker:
    """One RAMP env (and, for :meth:`rollout`, one agent) in one process.

    A plain class: :class:`RayRolloutPool` turns it into a Ray actor, and it also
    runs in-process (for tests, or to check a setup before going distributed).

    Args:
        env_kwargs: keyword arguments of ``gym.make(env_id, ...)``.
        agent_factory: makes this worker's agent: a registered agent name (``"bm25"``) or
            ``"module:Class"``, which ships nothing but a string to the workers, or a callable,
            called with ``env=`` if it takes it (an agent class works). ``None``: only
            :meth:`reset`/:meth:`step`.
        env_id: a registered env id.
        agent_name: recorded in every trajectory (default: the agent's class name).
        record_answers: put the gold answers in trajectories (for rejection sampling).
        max_episode_steps: guard against an agent/env pair that never ends an episode.
    """

    def __init__(
        self,
        env_kwargs: Mapping[str, Any] | None = None,
        agent_factory: AgentFactory | str | None = None,
        env_id: str = "RAMP-v0",
        agent_name: str = "",
        record_answers: bool = False,
        max_episode_steps: int = 1000,
    ) -> None:
        import ramp_env  # noqa: F401  (registers the env ids in this worker process)

        self.env = gym.make(env_id, **dict(env_kwargs or {}))
        # reset(options={"num_masks": k}) persists in the env; episodes without a mask
        # count use the configured one, so no episode depends on what the worker ran before
        self.default_num_masks = getattr(self.env.unwrapped, "num_masks", None)
        self.agent = None if agent_factory is None else _make_agent(agent_factory, self.env)
        self.agent_name = agent_name or (type(self.agent).__name__ if self.agent is not None else "")
        self.record_answers = record_answers
        self.max_episode_steps = max_episode_steps
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def rollout(self, seed: int, num_masks: int | None = None) -> Trajectory:
        """Play one episode reset with ``seed`` and return its trajectory."""
        if self.agent is None:
            raise RuntimeError("this worker has no agent: pass agent_factory to play whole episodes")
        k = self.default_num_masks if num_masks is None else num_masks
        options = None if k is None else {"num_masks": int(k)}
        obs, info = self.env.reset(seed=int(seed), options=options)
        _reset_agent(self.agent, int(seed))
        recorder = TrajectoryRecorder(agent=self.agent_name)
        recorder.start(obs, info, seed=int(seed))
        for _ in range(self.max_episode_steps):
            action = self.agent.act(obs)
            obs, reward, terminated, truncated, info = self.env.step(action)
            recorder.step(action, obs, reward, info, terminated, truncated)
            if terminated or truncated:
                break
        else:
            raise RuntimeError(f"episode with seed {seed} did not end in {self.max_episode_steps} steps")
        answers = self.env.unwrapped.task.answers if self.record_answers else None
        return recorder.finish(answers=answers, worker=self.name)

    def rollouts(self, seeds: Iterable[int], num_masks: int | None = None) -> list[Trajectory]:
        """Several episodes in this worker, one per seed (fewer round trips than :meth:`rollout`)."""
        return [self.rollout(seed, num_masks) for seed in seeds]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict]:
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict]:
        return self.env.step(action)

    def describe(self) -> dict[str, Any]:
        """Where this worker runs and which files it opened (for logs and tests)."""
        return {"worker": self.name, "pid": os.getpid(), **_describe_env(self.env)}

    def close(self) -> None:
        self.env.close()


class RayRolloutPool:
    """``num_workers`` :class:`RolloutWorker` Ray actors over one prepared corpus.

    ```python
    import ray
    from agents import BM25HeuristicAgent
    from ramp_env.distributed import RayRolloutPool

    ray.init()  # or ray.init(address="auto") on a cluster
    with RayRolloutPool(4, {"num_masks": 2}, agent_factory=BM25HeuristicAgent) as pool:
        trajectories = pool.rollouts(range(1000))
    ```

    Args:
        num_workers: actors to start (one env each).
        env_kwargs, agent_factory, env_id, agent_name, record_answers: as :class:`RolloutWorker`.
        num_cpus_per_worker: Ray CPUs reserved per actor.
        prepare: build missing corpus artefacts on the driver first (:func:`prepare_env`),
            so workers never build; turn off when the driver cannot write the cache.
        actor_options: more ``ray.remote`` options per actor (``num_gpus``, ``resources``,
            ``runtime_env``, ``max_restarts``...).
    """

    def __init__(
        self,
        num_workers: int,
        env_kwargs: Mapping[str, Any] | None = None,
        agent_factory: AgentFactory | str | None = None,
        *,
        env_id: str = "RAMP-v0",
        agent_name: str = "",
        record_answers: bool = False,
        num_cpus_per_worker: float = 1.0,
        prepare: bool = True,
        actor_options: Mapping[str, Any] | None = None,
    ) -> None:
        if num_workers < 1:
            raise InvalidOptionError(f"num_workers must be >= 1, got {num_workers}")
        ray = _import_ray()
        from ray.util import ActorPool

        env_kwargs = dict(env_kwargs or {})
        self.prepared = prepare_env(env_id, **env_kwargs) if prepare else None
        options = {"num_cpus": num_cpus_per_worker, **dict(actor_options or {})}
        actor_class = ray.remote(RolloutWorker).options(**options)
        self.workers = [
            actor_class.remote(env_kwargs, agent_factory, env_id, agent_name, record_answers)
            for _ in range(num_workers)
        ]
        self._ray = ray
        self._pool = ActorPool(self.workers)

    def __len__(self) -> int:
        return len(self.workers)

    def rollouts(self, seeds: Iterable[int], num_masks: int | None = None) -> list[Trajectory]:
        """One episode per seed, spread over the workers; trajectories in the order of ``seeds``."""
        return list(self._pool.map(lambda worker, seed: worker.rollout.remote(seed, num_masks), list(seeds)))

    def rollouts_unordered(self, seeds: Iterable[int], num_masks: int | None = None) -> Iterator[Trajectory]:
        """Like :meth:`rollouts`, yielding each trajectory as soon as it is done (for streaming trainers)."""
        return self._pool.map_unordered(lambda worker, seed: worker.rollout.remote(seed, num_masks), list(seeds))

    def reset(
        self, seeds: Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> list[tuple[dict[str, Any], dict]]:
        """Reset every worker's env (one seed per worker) in parallel; ``(obs, info)`` per worker."""
        seeds = list(seeds) if seeds is not None else [None] * len(self.workers)
        if len(seeds) != len(self.workers):
            raise ValueError(f"{len(seeds)} seeds for {len(self.workers)} workers")
        return self._ray.get([w.reset.remote(s, options) for w, s in zip(self.workers, seeds)])

    def step(self, actions: Sequence[Any]) -> list[tuple[dict[str, Any], float, bool, bool, dict]]:
        """Step every worker's env with its action in parallel; one 5-tuple per worker."""
        if len(actions) != len(self.workers):
            raise ValueError(f"{len(actions)} actions for {len(self.workers)} workers")
        return self._ray.get([w.step.remote(a) for w, a in zip(self.workers, actions)])

    def describe(self) -> list[dict[str, Any]]:
        return self._ray.get([w.describe.remote() for w in self.workers])

    def close(self) -> None:
        """Stop the actors (Ray itself keeps running: the caller started it)."""
        for worker in self.workers:
            self._ray.kill(worker)
        self.workers = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

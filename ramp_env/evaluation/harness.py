"""The benchmark harness behind ``ramp-env evaluate``: agents x mask counts x seeded episodes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from tqdm import tqdm  # plain text bar: tqdm.auto warns "IProgress not found" in notebooks without ipywidgets

from ramp_env.cache import atomic_write_text, check_output_dir
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.agent_loading import make_agent
from ramp_env.evaluation.difficulty import breakdown, format_breakdown, write_breakdown_jsonl
from ramp_env.evaluation.env_factory import make_user_env
from ramp_env.evaluation.leaderboard import format_provenance, format_table, plot_scores, summarize
from ramp_env.evaluation.records import RESULTS_FILE, EpisodeRecord, ResultsFile, canonical_json, describe_task_set
from ramp_env.evaluation.runner import RunSettings, run_episodes, run_episodes_concurrently, task_set_provenance
from ramp_env.protocols import ClosableAgent, is_concurrent

LEADERBOARD_FILE = "leaderboard.md"
PLOT_FILE = "score_vs_masks.png"
DIFFICULTY_FILE = "difficulty.md"  # mask score by span type and span length (ramp_env.evaluation.difficulty)
DIFFICULTY_JSONL = "difficulty.jsonl"
# every file evaluate(out_dir=...) writes (docs/agents-and-evaluation.md describes each one)
OUTPUT_FILES = (RESULTS_FILE, LEADERBOARD_FILE, PLOT_FILE, DIFFICULTY_FILE, DIFFICULTY_JSONL)
# env arguments that change how a run looks, not what it measures: left out of a
# record's env_config so a resumed run with another cache dir still matches
_NOT_CONFIG = ("cache_dir", "progress", "render_mode")
# agent arguments that are credentials: recorded as "<redacted>" (results files get shared),
# and left out of the resume key's meaning (a rotated key is the same experiment)
_SECRET_ARG_NAMES = ("api_key", "key", "token", "password", "secret")
_SECRET_ARG_SUFFIXES = ("_api_key", "_key", "_token", "_password", "_secret")


# agent arguments that change how an agent runs, not what it plays (requests in flight, patience
# with a server): left out of the records, so a run resumed with other values still matches
_NOT_AGENT_CONFIG = ("concurrency", "request_timeout", "timeout", "max_retries", "api_key_env")


def recorded_agent_args(kwargs: Mapping[str, Any]) -> str:
    """The agent's arguments as recorded in results (canonical JSON, credentials redacted,
    run-time settings such as ``concurrency`` left out)."""
    def secret(name: str) -> bool:
        return name.lower() in _SECRET_ARG_NAMES or name.lower().endswith(_SECRET_ARG_SUFFIXES)

    return canonical_json(
        {k: "<redacted>" if secret(k) else v for k, v in kwargs.items() if k not in _NOT_AGENT_CONFIG}
    )


@dataclass
class AgentSpec:
    """An agent to evaluate: a registered name or ``module:Class``, and constructor arguments."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: this run's records (resumed ones included) and where files went."""

    records: list[EpisodeRecord]
    table: str
    out_dir: Path | None = None
    difficulty: str = ""  # mask score by span type and by span length (Markdown; "" without masks)


def check_resumable(results: ResultsFile, previous: Iterable[EpisodeRecord], env: gym.Env) -> None:
    """Refuse to add this run to a results file that holds results of another task set or version."""
    current = task_set_provenance(env)
    identity = (current["task_set"], current["task_set_sha256"])
    for record in previous:
        if record.task_set_identity != identity:
            raise InvalidOptionError(
                f"{results.path} holds results on {describe_task_set(record.task_set_identity)}; this run plays "
                f"{describe_task_set(identity)}: results of different task-set versions cannot be resumed or "
                "merged; write this run to another --out directory"
            )


def env_config_key(env_kwargs: Mapping[str, Any]) -> str:
    return canonical_json({k: v for k, v in env_kwargs.items() if k not in _NOT_CONFIG})


def evaluate(
    agents: Sequence[str | AgentSpec],
    episodes: int | Mapping[int, int],
    num_masks: Sequence[int | None] = (None,),
    seed: int = 0,
    env_id: str = "RAMP-v0",
    env_kwargs: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Evaluation:
    """Run every agent on ``episodes`` seeded episodes per mask count and summarise.

    ``episodes`` may map each mask count to its own number (a frozen task set's size per count).

    With ``out_dir``, each episode is appended to ``results.jsonl`` as it ends;
    episodes already there (same agent and arguments, env and arguments, mask
    count, seed and episode number) are not played again, so an interrupted run
    resumes where it stopped. ``leaderboard.md``, ``score_vs_masks.png``,
    ``difficulty.md`` and ``difficulty.jsonl`` (:data:`OUTPUT_FILES`) are then
    written (atomically) from this run's records.
    """
    per_count, most = _episode_counts(episodes, num_masks)
    specs = [a if isinstance(a, AgentSpec) else AgentSpec(a) for a in agents]
    if not specs:
        raise InvalidOptionError("no agent to evaluate")
    if out_dir is not None:
        check_output_dir(out_dir, "out_dir")  # before any episode: a bad path must not cost a whole run
    results = ResultsFile(Path(out_dir) / RESULTS_FILE) if out_dir is not None else None
    plan = _Plan(env_id, dict(env_kwargs or {}), tuple(num_masks), per_count, most, seed, results,
                 {r.key: r for r in (results.read() if results else [])})
    env = make_user_env(env_id, **plan.env_kwargs)
    extra_envs: list[gym.Env] = []  # more envs for agents with episodes in flight
    records: list[EpisodeRecord] = []
    try:  # every env made is closed, whatever fails
        if results is not None:
            check_resumable(results, plan.previous.values(), env)
        with tqdm(total=plan.total(len(specs)), desc="evaluate", unit=" episodes", disable=not progress) as bar:
            for spec in specs:
                plan.play(spec, env, extra_envs, bar, records)
    finally:
        for opened in [env, *extra_envs]:
            opened.close()
    return _summarise(records, out_dir)


def _episode_counts(
    episodes: int | Mapping[int, int], num_masks: Sequence[int | None]
) -> tuple[dict[int | None, int] | None, int]:
    """``episodes`` per mask count (``None``: one number for all) and the largest count, checked."""
    per_count = dict(episodes) if isinstance(episodes, Mapping) else None  # a frozen set's size per mask count
    if per_count is not None and set(per_count) != set(num_masks):
        raise InvalidOptionError(f"episodes per mask count {sorted(per_count)} must name every mask count {list(num_masks)}")
    counts = list(per_count.values()) if per_count is not None else [episodes]
    if min(counts) < 1:  # type: ignore[type-var]
        raise InvalidOptionError(f"episodes must be >= 1, got {episodes}")
    return per_count, max(counts)  # type: ignore[type-var,return-value]


@dataclass
class _Plan:
    """One :func:`evaluate` call's settings and the records it resumes from."""

    env_id: str
    env_kwargs: dict[str, Any]
    num_masks: tuple[int | None, ...]
    per_count: dict[int | None, int] | None
    most: int
    seed: int
    results: ResultsFile | None
    previous: dict[tuple, EpisodeRecord]
    env_config: str = ""

    def __post_init__(self) -> None:
        self.env_config = env_config_key(self.env_kwargs)

    def total(self, agents: int) -> int:
        if self.per_count is not None:
            return agents * sum(self.per_count.values())
        return agents * len(self.num_masks) * self.most

    def key(self, spec: AgentSpec, args: str, k: int | None, episode: int) -> tuple:
        return (spec.name, args, self.env_id, self.env_config, k, self.seed, episode)

    def envs_for(self, agent: Any, env: gym.Env, extra_envs: list[gym.Env]) -> list[gym.Env]:
        """The envs the agent plays: ``env``, plus one per further episode it keeps in flight."""
        if not is_concurrent(agent):
            return [env]
        # one env per episode in flight; made once, reused by later agents
        while len(extra_envs) < min(agent.concurrency, self.most) - 1:
            extra_envs.append(make_user_env(self.env_id, **self.env_kwargs))
        return [env, *extra_envs[: min(agent.concurrency, self.most) - 1]]

    def play(self, spec: AgentSpec, env: gym.Env, extra_envs: list[gym.Env], bar: tqdm,
             records: list[EpisodeRecord]) -> None:
        """Play (or resume) every mask count's episodes of one agent, appending to ``records``."""
        agent_args = recorded_agent_args(spec.kwargs)
        agent = make_agent(spec.name, env=env, kwargs=spec.kwargs)
        try:
            envs = self.envs_for(agent, env, extra_envs)
            for k in self.num_masks:
                n = self.per_count[k] if self.per_count is not None else self.most
                # "the env's own mask count" is recorded as that count, so resolve it
                # now for the resume keys (envs without masks keep None: no resume)
                k = getattr(env.unwrapped, "num_masks", None) if k is None else k
                done = {e: self.previous[self.key(spec, agent_args, k, e)] for e in range(n)
                        if self.key(spec, agent_args, k, e) in self.previous}
                records.extend(done.values())
                bar.update(len(done))
                bar.set_postfix_str(f"{spec.name}, {k if k is not None else 'default'} mask(s)")
                run = RunSettings(n, self.seed, k, agent_name=spec.name, agent_args=agent_args,
                                  env_id=self.env_id, env_config=self.env_config, skip=done)
                stream = run_episodes_concurrently(envs, agent, run) if len(envs) > 1 else run_episodes(env, agent, run)
                for record in self.results.append(stream) if self.results else stream:
                    records.append(record)
                    bar.update(1)
        finally:
            if isinstance(agent, ClosableAgent):
                agent.close()


def _summarise(records: list[EpisodeRecord], out_dir: str | os.PathLike[str] | None) -> Evaluation:
    """The leaderboard and difficulty tables of ``records``, written to ``out_dir`` when given."""
    rows = summarize(records)
    table = format_provenance(records) + "\n\n" + format_table(rows) if records else format_table(rows)
    difficulty_rows = breakdown(records)
    difficulty = format_breakdown(difficulty_rows)
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / LEADERBOARD_FILE, table + "\n")
        plot_scores(rows, Path(out_dir) / PLOT_FILE)
        atomic_write_text(Path(out_dir) / DIFFICULTY_FILE, difficulty + "\n")
        write_breakdown_jsonl(difficulty_rows, Path(out_dir) / DIFFICULTY_JSONL)
    return Evaluation(records, table, Path(out_dir) if out_dir is not None else None, difficulty)

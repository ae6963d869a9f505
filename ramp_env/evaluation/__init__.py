"""Benchmarking agents: seeded episode runs, resumable JSONL results, a leaderboard and a plot.

``ramp-env evaluate`` is the command-line front; :func:`evaluate` the same in Python;
:func:`run_episodes` the episode loop other tools (trajectory collection) reuse.
"""

from ramp_env.evaluation.agent_loading import AGENT_GROUP, make_agent, registered_agents, resolve_agent
from ramp_env.evaluation.harness import AgentSpec, Evaluation, evaluate
from ramp_env.evaluation.leaderboard import LeaderboardRow, format_table, mean_ci95, plot_scores, summarize
from ramp_env.evaluation.records import EpisodeRecord, ResultsFile
from ramp_env.evaluation.runner import RunSettings, episode_seed, run_episode, run_episodes

__all__ = [
    "AGENT_GROUP",
    "AgentSpec",
    "EpisodeRecord",
    "Evaluation",
    "LeaderboardRow",
    "ResultsFile",
    "RunSettings",
    "episode_seed",
    "evaluate",
    "format_table",
    "make_agent",
    "mean_ci95",
    "plot_scores",
    "registered_agents",
    "resolve_agent",
    "run_episode",
    "run_episodes",
    "summarize",
]

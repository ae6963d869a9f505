"""Summaries of episode records: the leaderboard table and the score-against-masks plot."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ramp_env.cache import atomic_path
from ramp_env.evaluation.legend import LEADERBOARD_COLUMNS, format_legend
from ramp_env.evaluation.records import EpisodeRecord, check_one_task_set, describe_task_set


@dataclass(frozen=True)
class LeaderboardRow:
    """One (agent, env, mask count) group of episodes."""

    agent: str
    env_id: str
    num_masks: int
    episodes: int
    mean_reward: float
    ci95: float  # half-width of the 95% confidence interval of the mean (Student t)
    mask_score: float  # mean per-mask score
    mask_accuracy: float  # share of masks scored 1.0 (the whole gold span recovered)
    searches: float  # mean searches per episode
    steps_per_second: float


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% Student-t confidence interval (0 for n < 2)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    if x.size < 2:
        return float(x.mean()), 0.0
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def summarize(records: Iterable[EpisodeRecord]) -> list[LeaderboardRow]:
    """One row per (agent, env, mask count), best mean reward first within a mask count.

    Records of different task sets (or versions of one) are an error, never averaged together."""
    records = list(records)
    check_one_task_set(records, "leaderboard")
    groups: dict[tuple[str, str, int], list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        groups[(r.agent, r.env_id, r.num_masks)].append(r)
    rows = []
    for (agent, env_id, k), group in groups.items():
        mean, ci = mean_ci95([r.reward for r in group])
        masks = [s for r in group for s in r.per_mask_scores]
        seconds = sum(r.seconds for r in group)
        rows.append(
            LeaderboardRow(
                agent=agent,
                env_id=env_id,
                num_masks=k,
                episodes=len(group),
                mean_reward=mean,
                ci95=ci,
                mask_score=float(np.mean(masks)) if masks else math.nan,
                mask_accuracy=float(np.mean([s >= 1.0 for s in masks])) if masks else math.nan,
                searches=float(np.mean([r.searches for r in group])),
                steps_per_second=sum(r.steps for r in group) / seconds if seconds > 0 else math.nan,
            )
        )
    return sorted(rows, key=lambda r: (r.env_id, r.num_masks, -r.mean_reward, r.agent))


def format_provenance(records: Sequence[EpisodeRecord]) -> str:
    """The leaderboard's header line: which tasks and which reward its scores are on, e.g.
    ``Tasks: test-v1 (sha256 0123456789ab) | reward: recall``. A score is cited with these and
    the mask count of its row."""
    identity = check_one_task_set(records, "leaderboard") or ("", "")
    rewards = sorted({r.reward_name for r in records if r.reward_name}) or ["unrecorded"]
    return f"Tasks: {describe_task_set(identity)} | reward: {', '.join(rewards)}"



def format_table(rows: Sequence[LeaderboardRow], legend: bool = True) -> str:
    """The leaderboard as a Markdown table (readable in a terminal, pasteable in an issue),
    followed by a legend of its columns unless ``legend=False``."""
    show_env = len({r.env_id for r in rows}) > 1
    header = ["agent", *(["env"] if show_env else []), "masks", "episodes", "reward (95% CI)",
              "mask score", "mask acc", "searches/ep", "steps/s"]
    lines = [header]
    for r in rows:
        lines.append([
            r.agent, *([r.env_id] if show_env else []), str(r.num_masks), str(r.episodes),
            f"{r.mean_reward:.3f} ± {r.ci95:.3f}", f"{r.mask_score:.3f}", f"{r.mask_accuracy:.3f}",
            f"{r.searches:.2f}", f"{r.steps_per_second:.1f}",
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    table = "\n".join([fmt(lines[0]), rule, *(fmt(line) for line in lines[1:])])
    return table + "\n\n" + format_legend(LEADERBOARD_COLUMNS, header) if legend else table


def plot_scores(rows: Sequence[LeaderboardRow], path: str | os.PathLike[str]) -> None:
    """Mean reward (95% CI bars) against mask count, one line per agent, as a PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    by_agent: dict[str, list[LeaderboardRow]] = defaultdict(list)
    for r in rows:
        label = r.agent if len({x.env_id for x in rows}) == 1 else f"{r.agent} ({r.env_id})"
        by_agent[label].append(r)
    for label, group in sorted(by_agent.items()):
        group.sort(key=lambda r: r.num_masks)
        ax.errorbar(
            [r.num_masks for r in group], [r.mean_reward for r in group], yerr=[r.ci95 for r in group],
            marker="o", capsize=3, label=label,
        )
    ax.set_xlabel("masks per task")
    ax.set_ylabel("mean episode reward")
    ax.set_xticks(sorted({r.num_masks for r in rows}))
    ax.set_ylim(bottom=min(0.0, *(r.mean_reward - r.ci95 for r in rows)))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Score against mask count (95% CI)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

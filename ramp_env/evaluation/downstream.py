"""The downstream table of MaskSearch (Table 2): agents x QA datasets, token recall, with an average.

``ramp-env evaluate --env MultiHopQA-v0 --datasets fanoutqa-dev hotpot_dev.json ...``
evaluates every agent on every dataset (one :func:`~ramp_env.evaluation.harness.evaluate`
run per dataset, each with its own resumable ``results.jsonl`` under ``--out``) and
prints one row per agent and one column per dataset plus their average, in the
paper's metric: token recall of the gold answer (best over aliases), as a
percentage. EM, F1 and, where the env's reward is a judge, the reward itself are
further tables of the same shape. The metrics come from ``MultiHopQA-v0``'s
``info["answer_metrics"]``, so the env's own ``reward`` choice does not change them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.leaderboard import mean_ci95
from ramp_env.evaluation.legend import DOWNSTREAM_COLUMNS, format_legend
from ramp_env.evaluation.records import EpisodeRecord

PAPER_METRIC = "recall"
METRICS = ("recall", "f1", "em", "reward")


def dataset_label(dataset: str) -> str:
    """A short column name for a dataset path or name: ``hotpot_dev_distractor_v1.json`` -> ``hotpot_dev_distractor_v1``."""
    name = Path(dataset).name if dataset not in ("fanoutqa-dev",) else dataset
    return re.sub(r"\.(jsonl?|csv)$", "", name, flags=re.IGNORECASE) or dataset


def metric_value(record: EpisodeRecord, metric: str) -> float:
    """One episode's value of ``metric`` (``reward`` is the env's reward; the others come from
    ``answer_metrics``; an episode without them, truncated before answering, scores 0)."""
    if metric == "reward":
        return float(record.reward)
    return float(record.answer_metrics.get(metric, 0.0))


@dataclass(frozen=True)
class Cell:
    mean: float
    ci95: float
    n: int


def downstream_cells(
    records_by_dataset: Mapping[str, Sequence[EpisodeRecord]], metric: str = PAPER_METRIC
) -> dict[str, dict[str, Cell]]:
    """``{agent: {dataset: Cell}}`` of ``metric``, in the agents' order of first appearance."""
    if metric not in METRICS:
        raise InvalidOptionError(f"metric must be one of {METRICS}, got {metric!r}")
    table: dict[str, dict[str, Cell]] = {}
    for dataset, records in records_by_dataset.items():
        by_agent: dict[str, list[float]] = {}
        for record in records:
            by_agent.setdefault(record.agent, []).append(metric_value(record, metric))
        for agent, values in by_agent.items():
            mean, ci = mean_ci95(values)
            table.setdefault(agent, {})[dataset] = Cell(mean, ci, len(values))
    return table


def format_downstream(
    records_by_dataset: Mapping[str, Sequence[EpisodeRecord]], metric: str = PAPER_METRIC,
    reward_name: str | None = None, legend: bool = True,
) -> str:
    """A Markdown table: rows agents, columns datasets + ``avg`` (mean of the dataset means), in %.

    Each cell is ``mean ± 95% CI half-width (n)``; ``avg`` is left empty for an agent that
    misses a dataset, as the paper's average is over all datasets. ``reward_name`` names the
    env's reward in the title of the ``reward`` table (``"judge"``: the judge column). A legend of
    the columns follows unless ``legend=False`` (one legend serves several tables in a row).
    """
    cells = downstream_cells(records_by_dataset, metric)
    datasets = list(records_by_dataset)
    labels = [dataset_label(d) for d in datasets]
    header = ["agent", *labels, "avg"]
    rows = []
    for agent, by_dataset in cells.items():
        row = [agent]
        for dataset in datasets:
            cell = by_dataset.get(dataset)
            row.append("" if cell is None else f"{100 * cell.mean:.1f} ± {100 * cell.ci95:.1f} ({cell.n})")
        complete = all(d in by_dataset for d in datasets)
        avg = sum(by_dataset[d].mean for d in datasets) / len(datasets) if complete and datasets else math.nan
        row.append("" if math.isnan(avg) else f"{100 * avg:.1f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells_: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells_, widths, strict=True)) + " |"

    name = f"reward={reward_name}" if metric == "reward" and reward_name else metric
    title = f"{name} (%, mean ± 95% CI (episodes))" + (" — the paper's metric" if metric == PAPER_METRIC else "")
    table = "\n".join([title, "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                       *map(line, rows)])
    shown = [key for key in DOWNSTREAM_COLUMNS if key != "reward=NAME" or metric == "reward"]
    return table + "\n\n" + format_legend(DOWNSTREAM_COLUMNS, shown) if legend else table

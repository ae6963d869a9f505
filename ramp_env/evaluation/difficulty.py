"""Which masks are hard? Per-mask scores broken down by span type and by span length.

MaskSearch leaves open what makes a mask difficult. Every RAMP episode record keeps
each mask's gold span, its type (``PERSON``, ``DATE``, ...) and its score, so
:func:`breakdown` groups the masks of all episodes by agent and by

* ``span_type``: the extractor's label of the masked span;
* ``span_length``: the gold span's length in normalised tokens (``1``, ``2``, ``3``, ``4+``),

and reports the mean per-mask score with its 95 % confidence interval (Student t over
masks) and the share of masks scored 1. Records without span types (QA tasks) only
count in ``span_length`` when they hold answers, and are skipped otherwise.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from ramp_env.cache import atomic_write_text
from ramp_env.evaluation.leaderboard import mean_ci95
from ramp_env.evaluation.legend import DIFFICULTY_COLUMNS, format_legend, span_type_legend
from ramp_env.evaluation.records import EpisodeRecord
from ramp_env.text.normalize import answer_tokens

BREAKDOWNS = ("span_type", "span_length")
LENGTH_BUCKETS = ("1", "2", "3", "4+")


def length_bucket(span: str) -> str:
    """``"1"``, ``"2"``, ``"3"`` or ``"4+"``: the span's length in normalised answer tokens."""
    n = len(answer_tokens(span))
    return str(max(n, 1)) if n < 4 else "4+"


@dataclass(frozen=True)
class DifficultyRow:
    """The masks of one agent (and env) that share a span type or a length bucket."""

    agent: str
    env_id: str
    by: str  # "span_type" or "span_length"
    value: str  # e.g. "PERSON" or "2"
    masks: int
    mean_score: float
    ci95: float
    accuracy: float  # share of masks scored 1.0


def breakdown(records: Iterable[EpisodeRecord]) -> list[DifficultyRow]:
    """Mean per-mask score by (agent, env, span type) and by (agent, env, span length)."""
    groups: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    for record in records:
        scores = list(record.per_mask_scores)
        if len(record.span_types) == len(scores):
            for label, score in zip(record.span_types, scores):
                groups[(record.agent, record.env_id, "span_type", str(label))].append(float(score))
        if len(record.answers) == len(scores):
            for answer, score in zip(record.answers, scores):
                groups[(record.agent, record.env_id, "span_length", length_bucket(answer))].append(float(score))
    rows = []
    for (agent, env_id, by, value), scores in groups.items():
        mean, ci = mean_ci95(scores)
        rows.append(DifficultyRow(agent, env_id, by, value, len(scores), mean, ci,
                                  sum(s >= 1.0 for s in scores) / len(scores)))
    order = {b: i for i, b in enumerate(BREAKDOWNS)}
    length_order = {b: i for i, b in enumerate(LENGTH_BUCKETS)}
    return sorted(rows, key=lambda r: (r.env_id, r.agent, order[r.by], length_order.get(r.value, 0), r.value))


def format_breakdown(rows: Sequence[DifficultyRow], legend: bool = True) -> str:
    """Two Markdown tables (by span type, by span length): rows = agents, cells = mean ± CI (masks),
    followed by a legend of the tables and of the span-type labels they show unless ``legend=False``."""
    tables = []
    shown: list[str] = []
    for by, title in (("span_type", "span type"), ("span_length", "span length (tokens)")):
        part = [r for r in rows if r.by == by]
        if not part:
            continue
        show_env = len({r.env_id for r in part}) > 1
        values = sorted({r.value for r in part}, key=lambda v: (LENGTH_BUCKETS.index(v) if v in LENGTH_BUCKETS else 0, v))
        agents = sorted({(r.agent, r.env_id) for r in part})
        cells = {(r.agent, r.env_id, r.value): r for r in part}
        header = [f"mask score by {title}", *values]
        shown.append(header[0])
        lines = [header]
        for agent, env_id in agents:
            line = [f"{agent} ({env_id})" if show_env else agent]
            for value in values:
                row = cells.get((agent, env_id, value))
                line.append("" if row is None else f"{row.mean_score:.3f} ± {row.ci95:.3f} ({row.masks})")
            lines.append(line)
        tables.append(_markdown(lines))
    if legend and tables:
        tables.append(format_legend(DIFFICULTY_COLUMNS, [*shown, "cells"]))
        types = sorted({r.value for r in rows if r.by == "span_type"})
        if types:
            tables.append(span_type_legend(types))
    return "\n\n".join(tables)


def _markdown(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rows = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    return "\n".join([rows[0], "|" + "|".join("-" * (w + 2) for w in widths) + "|", *rows[1:]])


def write_breakdown_jsonl(rows: Sequence[DifficultyRow], path: str | os.PathLike[str]) -> None:
    """One JSON object per row (NaN written as null), written atomically."""
    def clean(row: DifficultyRow) -> dict[str, object]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(row).items()}

    atomic_write_text(path, "".join(json.dumps(clean(r), sort_keys=True) + "\n" for r in rows))

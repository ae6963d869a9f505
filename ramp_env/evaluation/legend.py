"""Plain-language legends for the tables ``ramp-env evaluate`` prints and writes.

Column headers stay short so the tables fit a terminal; every table is followed by
a legend that says what each column (and each span-type label) means, so a reader
of ``leaderboard.md`` or ``difficulty.md`` needs no other document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ramp_env.masking.pool_monitor import MIN_DISTINCT_PASSAGES
from ramp_env.text.spans import SpanType

# what each span-type label means: one owner, SpanType.description (ramp_env.text.spans)
SPAN_TYPES: Mapping[str, str] = {t.value: t.description for t in SpanType}

LEADERBOARD_COLUMNS: Mapping[str, str] = {
    "agent": "the agent (a registered name or module:Class)",
    "env": "the Gymnasium env id",
    "masks": "masks per task ([mask_1] .. [mask_k] in the passage)",
    "episodes": "episodes played (seeded: every agent gets the same tasks)",
    "reward (95% CI)": "mean episode reward ± half-width of its 95% confidence interval (Student t over "
    "episodes); an episode's reward is the mean of its mask scores minus any format penalty",
    "mask score": "mean score of a single mask, 0 to 1, by the env's reward (by default penalized_recall: "
    "token recall of the gold span minus a penalty for long answers and lists), before format penalties",
    "mask acc": "share of masks answered exactly (mask score 1.0)",
    "searches/ep": "mean number of searches per episode",
    "steps/s": "env steps per second of wall-clock time, the agent's thinking included",
}

DIFFICULTY_COLUMNS: Mapping[str, str] = {
    "mask score by span type": "one row per agent; each column is a kind of masked span (labels below)",
    "mask score by span length (tokens)": "one row per agent; each column is the gold span's length in "
    "words after normalisation (4+ = four or more)",
    "cells": "mean mask score ± half-width of its 95% confidence interval (number of masks)",
}

DOWNSTREAM_COLUMNS: Mapping[str, str] = {
    "agent": "the agent",
    "<dataset>": "one column per QA dataset: mean over its questions in %, ± half-width of the 95% "
    "confidence interval (questions answered)",
    "avg": "mean of the dataset columns (empty if the agent misses a dataset)",
    "recall / f1 / em": "token recall of the gold answer, token F1, exact match; each the best over "
    "the answer's aliases",
    "reward=NAME": "the env's own reward when it is another one (e.g. reward=judge)",
}

STATS_COLUMNS: Mapping[str, str] = {
    "span type": "the extractor's label of a salient span (see Span types)",
    "spans": "salient spans found",
    "maskable": "spans that may be masked: not repeated in the passage and not the shown title",
    "supported": "maskable spans that another passage states (found by search): what RAMP-v0 masks by default",
    "supported %": "supported as a share of maskable",
    "masks": "mask count k",
    "eligible": "passages with at least k maskable spans",
    "estimated": "the same scaled to the whole corpus (when a sample was analysed)",
    "eligible w/ evidence": "passages with at least k supported spans",
    "distinct passages": "passages that can be a k-mask task (with evidence, when computed), estimated for the "
    f"corpus; '(repeats passages)' when under {MIN_DISTINCT_PASSAGES}, where episodes start to repeat passages",
    "distinct in 100 draws": "expected distinct passages in 100 episodes at k masks",
    "mask type mix": "span types of the masks the env's mask strategy picks in those passages",
}


def format_legend(entries: Mapping[str, str], keys: Iterable[str] | None = None, title: str = "Legend") -> str:
    """A Markdown bullet list ``- **key**: meaning`` of ``keys`` (default: all) in ``entries`` order."""
    wanted = set(entries if keys is None else keys)
    lines = [f"{title}:"] + [f"- **{key}**: {text}" for key, text in entries.items() if key in wanted]
    return "\n".join(lines)


def span_type_legend(labels: Iterable[str]) -> str:
    """The meaning of each span-type label in ``labels`` (unknown labels are said to be unknown)."""
    labels = list(dict.fromkeys(labels))
    known = {label: SPAN_TYPES.get(label, "a label this version of ramp-env does not know") for label in labels}
    return format_legend(known, title="Span types")

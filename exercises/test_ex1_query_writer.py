"""Checker of exercise 1: your query must match the BM25 heuristic's on 150 fixed tasks (and beat the title)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from exercises._harness import QueryThenPickAgent, expect, lite_rewards
from ramp_env.reading import build_query, mask_contexts

TASKS = 150
# "as good as", allowing for noise: the solution and the heuristic query differ on 21 of the 150 tasks
# (paired difference +0.003 ± 0.059, 95% CI), so a lead or lag of 0.02 is noise
NOISE_MARGIN = 0.02


def heuristic_query(title: str, masked_passage: str, mask_number: int) -> str:
    """The BM25 heuristic's first query: the title and the six content words each side of the mask."""
    return build_query(mask_contexts(masked_passage)[mask_number], title, "title+near")


def test_write_query_returns_text(exercise) -> None:
    query = exercise("ex1_query_writer").write_query("Aristotle", "Aristotle was born in [mask_1] in 384 BC.", 1)
    expect(isinstance(query, str) and bool(query.strip()),
           f"Expected write_query to return a non-empty string, got {query!r}.")


def test_matches_the_bm25_heuristic_query(exercise, lite_cache) -> None:
    """Pass: at least the heuristic's mean minus NOISE_MARGIN on the same tasks (a tie within noise),
    and clearly better than the title alone (paired t-test, p < 0.01)."""
    write_query = exercise("ex1_query_writer").write_query
    yours = lite_rewards(QueryThenPickAgent(write_query), TASKS, lite_cache)
    heuristic = lite_rewards(QueryThenPickAgent(heuristic_query), TASKS, lite_cache)
    title_only = lite_rewards(QueryThenPickAgent(lambda title, passage, number: title), TASKS, lite_cache)
    print(
        f"your query {yours.mean():.3f}   BM25 heuristic's {heuristic.mean():.3f}   title only {title_only.mean():.3f}"
        f"  ({TASKS} tasks){'   you BEAT the heuristic' if yours.mean() > heuristic.mean() else ''}"
    )
    expect(
        yours.mean() >= heuristic.mean() - NOISE_MARGIN,
        f"Expected a mean reward of at least {heuristic.mean() - NOISE_MARGIN:.3f} (the heuristic query's "
        f"{heuristic.mean():.3f} minus {NOISE_MARGIN} for noise) on the {TASKS} tasks, got {yours.mean():.3f}.",
    )
    better = stats.ttest_rel(yours, title_only, alternative="greater").pvalue if np.any(yours != title_only) else 1.0
    expect(
        better < 0.01,
        f"Expected your query to beat searching the title alone ({title_only.mean():.3f}) clearly "
        f"(paired t-test p < 0.01), got {yours.mean():.3f} with p = {better:.3g}.",
    )

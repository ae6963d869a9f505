"""Reading answers out of passages: the extraction the BM25 heuristic and the evidence oracle share.

Both agents put the passages they read into a
:class:`~ramp_env.reading.CandidatePool` (typed salient spans of the
passages, scored against each mask's context by the fitted scorer) and answer
each mask with its best candidate, never one text for two masks. They differ
only in *which* passages they read: the heuristic's own search results, or the
task's evidence passages. So the gap between them on the leaderboard is the
part of the task that is finding the evidence, not reading it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ramp_env.actions import format_answer
from ramp_env.reading import CandidatePool
from ramp_env.text.spans import SpanExtractor


def new_pool(observation: Mapping[str, Any], extractor: SpanExtractor) -> CandidatePool:
    """An empty candidate pool for the episode whose first observation is ``observation``."""
    return CandidatePool(str(observation["passage"]), str(observation.get("title") or ""), extractor)


def read(pool: CandidatePool, hits: Sequence[tuple[str, str]]) -> None:
    """Add one batch of ``(title, text)`` passages (one search's results, ranked) to ``pool``."""
    pool.add_hits(hits)


def answer(pool: CandidatePool, num_masks: int) -> str:
    """The ``<answer>`` action: each mask's best candidate in ``pool`` ("" when it has none)."""
    chosen = pool.assign(list(range(1, num_masks + 1)))
    return format_answer({n: (c.text if c else "") for n, c in chosen.items()})

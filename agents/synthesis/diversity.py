"""How varied a set of trajectories is: the signal of diversity collapse in self-distillation.

A student trained on its teacher's trajectories, then used as the next teacher,
tends to repeat itself: the same phrasings, the same queries. Tracked per round:

* ``distinct_1`` / ``distinct_2``: distinct word unigrams / bigrams over all
  words of the assistant turns (Li et al., 2016); lower = more repetitive.
* ``unique_query_share``: distinct normalised search queries / queries issued.
* ``query_overlap_prev``: Jaccard overlap of this round's query set with the
  previous round's (``None`` in round 1); rising overlap = the teacher keeps
  asking the same things even though the tasks change.
* ``mean_searches``: searches per trajectory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from ramp_env.actions import parse_action
from ramp_env.rewards import normalize_answer
from ramp_env.trajectories import Trajectory

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class DiversityReport:
    trajectories: int
    distinct_1: float
    distinct_2: float
    queries: int
    unique_query_share: float
    query_overlap_prev: float | None
    mean_searches: float

    def to_json(self) -> dict[str, float | int | None]:
        return asdict(self)

    def summary(self) -> str:
        overlap = "n/a" if self.query_overlap_prev is None else f"{self.query_overlap_prev:.3f}"
        return (
            f"{self.trajectories} trajectories: distinct-1 {self.distinct_1:.3f}, distinct-2 {self.distinct_2:.3f}, "
            f"{self.queries} queries ({self.unique_query_share:.3f} unique), overlap with previous round {overlap}, "
            f"{self.mean_searches:.2f} searches each"
        )


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct word n-grams / all word n-grams (0 when there are none)."""
    total, seen = 0, set()
    for text in texts:
        words = _WORD.findall(text.lower())
        grams = list(zip(*(words[i:] for i in range(n))))
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def search_queries(trajectory: Trajectory) -> list[str]:
    """Normalised queries of the trajectory's search actions, in order."""
    out = []
    for action in trajectory.actions:
        parsed = parse_action(action, trajectory.num_masks)
        if parsed.kind == "search":
            out.append(normalize_answer(parsed.query))
    return out


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def trajectory_diversity(
    trajectories: Sequence[Trajectory], previous_queries: set[str] | None = None
) -> DiversityReport:
    texts = [m["content"] for t in trajectories for m in t.messages if m["role"] == "assistant"]
    queries = [q for t in trajectories for q in search_queries(t)]
    return DiversityReport(
        trajectories=len(trajectories),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        queries=len(queries),
        unique_query_share=len(set(queries)) / len(queries) if queries else 0.0,
        query_overlap_prev=None if previous_queries is None else jaccard(set(queries), previous_queries),
        mean_searches=len(queries) / len(trajectories) if trajectories else 0.0,
    )

"""Warns when the passages a mask count can draw from are so few that a run repeats them.

The env draws a passage uniformly from ``candidates`` rows (those with at least ``k`` maskable
spans, or the whole task pool) and keeps it when its spans are supported; the share it keeps
estimates how many distinct passages can be tasks at ``k`` masks:
``eligible ~ candidates * accepted / drawn``. With ``N`` eligible passages, ``n`` draws see
about ``N * (1 - (1 - 1/N) ** n)`` distinct ones (:func:`expected_distinct`).

That figure is right in expectation when every passage is kept always or never (``"random"``
masks). A strategy that keeps some passages only sometimes (``"balanced"``) makes ``N`` the sum
of keep probabilities, not a count: the draws then spread over more passages, none drawn more
often than one of ``N`` kept always, and the expected distinct count is a sum that only grows
when a distribution is spread out (Schur-concave), so the warning's figure is a lower bound
(at 4 masks on the default corpus ~109 gives 66, against 76 measured in
``benchmarks/results/pool_balance.json``).

The estimate needs a few accepted draws, so the check runs once per mask count after
``check_after`` tasks (5: about the first second of a run on the default corpus), and at the
first draw when even every candidate together is below the bound.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field

from ramp_env.errors import RampEnvWarning

# the issue-21 target for the default corpus: 300 distinct passages at 4 masks keep 100 draws
# at >= 80 distinct ones (expected_distinct(300, 100) = 85)
MIN_DISTINCT_PASSAGES = 300


class SmallPoolWarning(RampEnvWarning):
    """A mask count has fewer distinct eligible passages than :data:`MIN_DISTINCT_PASSAGES`."""


def expected_distinct(pool: float, draws: int) -> float:
    """Expected distinct passages in ``draws`` uniform draws from ``pool`` passages."""
    if pool <= 0:
        return 0.0
    return pool * (1.0 - (1.0 - 1.0 / pool) ** draws) if pool >= 1 else min(1.0, float(draws))


@dataclass
class PoolMonitor:
    """Counts draws and accepted tasks per mask count; warns once per count (see module docs)."""

    label: str = "RAMP-v0"
    min_passages: int = MIN_DISTINCT_PASSAGES
    check_after: int = 5
    drawn: Counter[int] = field(default_factory=Counter)
    accepted: Counter[int] = field(default_factory=Counter)
    checked: set[int] = field(default_factory=set)

    def record(self, k: int, draws: int, candidates: int) -> None:
        """One task at ``k`` masks was found after ``draws`` draws from ``candidates`` rows."""
        self.drawn[k] += draws
        self.accepted[k] += 1
        if k in self.checked:
            return
        if candidates < self.min_passages:
            self._warn(k, candidates, f"only {candidates} passages have {k} maskable spans")
        elif self.accepted[k] >= self.check_after:
            estimate = candidates * self.accepted[k] / self.drawn[k]
            if estimate < self.min_passages:
                self._warn(k, round(estimate), f"about {estimate:.0f} distinct passages can be tasks "
                           f"(estimated from {self.drawn[k]} draws, {self.accepted[k]} kept)")
            else:
                self.checked.add(k)

    def _warn(self, k: int, pool: int, what: str) -> None:
        self.checked.add(k)
        warnings.warn(
            f"{self.label} at num_masks={k}: {what}; 100 episodes see about {expected_distinct(pool, 100):.0f} "
            f"or more distinct passages, so passages repeat. Lower num_masks, pass require_evidence='none', or use a "
            f"larger corpus (docs/corpus-and-retrieval.md, 'What the pool supports')",
            SmallPoolWarning,
            stacklevel=5,  # _warn, record, sample_task, reset: the caller of reset
        )

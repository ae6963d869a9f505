"""The task pool: which passages of a corpus RAMP tasks are drawn from.

``task_pool=None`` (the env's default) draws from every passage, with salient
spans extracted eagerly for the whole corpus. ``task_pool=N`` (an int) or
``task_pool=f`` (a float in (0, 1]) fixes a subset of N passages, or a fraction
f of the corpus, drawn once with a fixed seed (:data:`TASK_POOL_SEED`), so every
env, process and run over the same corpus shares the same pool; their spans are
extracted lazily, when a passage is first drawn
(:class:`~ramp_env.corpus.lazy_spans.LazySpanTable`). Search always covers the
whole corpus.
"""

from __future__ import annotations

import numbers

import numpy as np

from ramp_env.errors import InvalidOptionError

# the pool depends on the corpus and the task_pool value only, never on env seeds
TASK_POOL_SEED = 20250526


def pool_size(spec: float, corpus_size: int) -> int:
    """Passages in the pool for ``spec`` over a corpus of ``corpus_size`` (clear errors on bad specs)."""
    if isinstance(spec, bool) or not isinstance(spec, numbers.Real):
        raise TypeError(f"task_pool must be an int (passages) or a float in (0, 1] (fraction), got {spec!r}")
    if isinstance(spec, numbers.Integral):
        if spec < 1:
            raise InvalidOptionError(f"task_pool as a passage count must be >= 1, got {spec}")
        return min(int(spec), corpus_size)
    if not 0.0 < float(spec) <= 1.0:
        raise InvalidOptionError(f"task_pool as a fraction must be in (0, 1], got {spec}")
    return max(1, round(float(spec) * corpus_size))


def parse_task_pool(text: str) -> int | float:
    """A ``task_pool`` spelled on a command line, with the env's meaning: digits only are a
    passage count (``"1"`` is one passage, as ``task_pool=1``), anything else a fraction
    (``"1.0"`` is the whole corpus, as ``task_pool=1.0``). Bad values raise ``ValueError``."""
    text = text.strip()
    if text.lstrip("+-").isdigit():
        spec: int | float = int(text)
    else:
        try:
            spec = float(text)
        except ValueError:
            raise InvalidOptionError(f"task_pool must be a passage count (1, 500) or a fraction (0.1, 1.0), got {text!r}") from None
    pool_size(spec, 1)  # range checks, with the env's messages
    return spec


class TaskPool:
    """A fixed, seeded subset of a corpus's rows (1-based) that tasks are drawn from.

    A pool of the whole corpus keeps no array (21M rows would be 168 MB); a
    smaller one keeps its sorted rows.
    """

    def __init__(self, spec: float, corpus_size: int, seed: int = TASK_POOL_SEED) -> None:
        if corpus_size < 1:
            raise InvalidOptionError("cannot draw a task pool from an empty corpus")
        self.spec = spec
        self.corpus_size = corpus_size
        self.size = pool_size(spec, corpus_size)
        self.rows: np.ndarray | None = None
        if self.size < corpus_size:
            rng = np.random.default_rng(seed)
            self.rows = np.sort(rng.choice(corpus_size, size=self.size, replace=False)).astype(np.int64) + 1

    def draw(self, rng: np.random.Generator) -> int:
        """One row of the pool, uniformly, with ``rng``."""
        i = int(rng.integers(self.size))
        return i + 1 if self.rows is None else int(self.rows[i])

    def __len__(self) -> int:
        return self.size

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, numbers.Integral):
            return False
        if self.rows is None:
            return 1 <= int(row) <= self.corpus_size
        i = int(np.searchsorted(self.rows, int(row)))
        return i < self.size and int(self.rows[i]) == int(row)


__all__ = ["TASK_POOL_SEED", "TaskPool", "parse_task_pool", "pool_size"]

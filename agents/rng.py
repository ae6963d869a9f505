"""Seeding without touching the caller's random state.

Sampling seeds torch's global generator (``transformers``' ``generate`` and
``torch.multinomial`` draw from it), and ``transformers``' ``Trainer`` calls
``set_seed``, which reseeds Python's, NumPy's and torch's global generators. Library
code must not change process-wide state, so both run inside :func:`restored_global_rngs`,
which puts every global generator back as it was when the block ends.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def restored_global_rngs() -> Iterator[None]:
    """Run a block that may reseed global generators; restore Python's, NumPy's and torch's (CPU, CUDA) after."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    # only initialised CUDA devices have a generator to restore; forking an uninitialised one would initialise it
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=cuda):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Seed torch's global generators for one block (repeatable sampling) and restore them afterwards."""
    with restored_global_rngs():
        torch.manual_seed(seed)
        yield

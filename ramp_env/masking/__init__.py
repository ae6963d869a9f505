"""Everything that turns a passage into a RAMP task.

* :mod:`~ramp_env.masking.task`: :class:`MaskedTask`, rendering masks, which spans may be masked.
* :mod:`~ramp_env.masking.strategies`: the :class:`MaskStrategy` protocol, random masking, the registry.
* :mod:`~ramp_env.masking.perplexity`: perplexity-based masking (``mask_strategy="ppl"``; needs torch).
"""

from ramp_env.masking.strategies import (
    MASK_STRATEGIES,
    MaskStrategy,
    RandomMaskStrategy,
    make_mask_strategy,
    register_mask_strategy,
)
from ramp_env.masking.task import MaskedTask, mask_passage, mask_token, maskable_spans

__all__ = [
    "MASK_STRATEGIES",
    "MaskStrategy",
    "MaskedTask",
    "RandomMaskStrategy",
    "make_mask_strategy",
    "mask_passage",
    "mask_token",
    "maskable_spans",
    "register_mask_strategy",
]

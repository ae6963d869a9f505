"""Everything that turns a passage into a RAMP task.

* :mod:`~ramp_env.masking.task`: :class:`MaskedTask`, rendering masks, which spans may be masked.
* :mod:`~ramp_env.masking.strategies`: the :class:`MaskStrategy` protocol, random masking, the registry.
* :mod:`~ramp_env.masking.perplexity`: perplexity-based masking (``mask_strategy="ppl"``; needs torch).
* :mod:`~ramp_env.masking.near_duplicates`: near copies of a passage, and finding them through search.
* :mod:`~ramp_env.masking.evidence`: which spans another passage states (``require_evidence``), through search.
* :mod:`~ramp_env.masking.llm_verifier`: a served model that must also accept each evidence pair (``"llm:URL|MODEL"``).
* :mod:`~ramp_env.masking.verify`: the audit surface, :func:`verify_evidence` and :func:`ranked_evidence`
  (why a mask counts as answerable; ``ramp-env evidence`` prints it).
"""

from ramp_env.masking.near_duplicates import (
    NearDuplicateFinder,
    is_near_duplicate,
    near_duplicate_ids,
    near_duplicate_similarity,
)
from ramp_env.masking.pool_monitor import SmallPoolWarning
from ramp_env.masking.strategies import (
    DEFAULT_MASK_STRATEGY,
    MASK_STRATEGIES,
    MaskStrategy,
    RandomMaskStrategy,
    TypeBalancedMaskStrategy,
    make_mask_strategy,
    register_mask_strategy,
)
from ramp_env.masking.task import MaskedTask, mask_passage, mask_token, maskable_spans

# the audit surface, loaded on first use: it pulls in the fact check's signals, which
# code that only masks passages never needs
_AUDIT = ("EvidenceVerdict", "ranked_evidence", "verify_evidence")


def __getattr__(name: str) -> object:
    if name in _AUDIT:
        from ramp_env.masking import verify

        return getattr(verify, name)
    raise AttributeError(f"module 'ramp_env.masking' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MASK_STRATEGY",
    "MASK_STRATEGIES",
    "EvidenceVerdict",
    "MaskStrategy",
    "MaskedTask",
    "NearDuplicateFinder",
    "RandomMaskStrategy",
    "SmallPoolWarning",
    "TypeBalancedMaskStrategy",
    "is_near_duplicate",
    "make_mask_strategy",
    "mask_passage",
    "mask_token",
    "maskable_spans",
    "near_duplicate_ids",
    "near_duplicate_similarity",
    "ranked_evidence",
    "register_mask_strategy",
    "verify_evidence",
]

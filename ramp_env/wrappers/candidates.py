"""Deprecated: the reading library moved to :mod:`ramp_env.reading` (and the action writer
``format_answer`` to :mod:`ramp_env.actions`, the stop terms to :mod:`ramp_env.text.stop_terms`)."""

from __future__ import annotations

import warnings

from ramp_env.actions import format_answer  # noqa: F401  (the names this module had)
from ramp_env.reading import (  # noqa: F401
    KIND_OF,
    KINDS,
    MASK_PATTERN,
    N_CANDIDATE_FEATURES,
    NEAR_WORDS,
    QUERY_TEMPLATES,
    SCORER_BIAS,
    SCORER_WEIGHTS,
    CandidatePool,
    CandidateScore,
    MaskContext,
    build_query,
    guess_mask_kind,
    kind_of,
    mask_contexts,
    parse_results,
    proximity_weights,
)
from ramp_env.text.stop_terms import content_terms, stop_terms  # noqa: F401

warnings.warn(
    "ramp_env.wrappers.candidates is deprecated: import from ramp_env.reading "
    "(format_answer from ramp_env.actions, stop_terms and content_terms from ramp_env.text.stop_terms)",
    DeprecationWarning,
    stacklevel=2,
)

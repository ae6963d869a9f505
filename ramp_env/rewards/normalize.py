"""Deprecated: answer normalisation moved to :mod:`ramp_env.text.normalize`."""

from __future__ import annotations

import warnings

from ramp_env.text.normalize import (  # noqa: F401  (the names this module had)
    MONTHS,
    SCALES,
    SMALL_NUMBERS,
    TENS,
    UNIT_WORDS,
    answer_tokens,
    canonical_tokens,
    normalize_answer,
    strip_accents,
)

warnings.warn(
    "ramp_env.rewards.normalize is deprecated: import from ramp_env.text.normalize",
    DeprecationWarning,
    stacklevel=2,
)

"""What one ``/retrieve`` request may ask for (no web-framework imports: the CLI reads the defaults)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ramp_env.errors import InvalidOptionError


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for (see the module docs)."""

    max_queries: int = 4096  # Search-R1 sends a whole training batch (512 in its scripts) at once
    max_topk: int = 100
    default_topk: int = 3  # for "topk": null or missing; 3 is Search-R1's and GEM's client default
    max_body_bytes: int = 1 << 20
    max_query_chars: int = 4096
    max_exclude_ids: int = 1024  # per query: each one is a clause of the search query
    # queries x topk: the reply's size (a passage is ~1 KB of JSON); 4,096 queries at topk 8
    max_results: int = 32768
    max_request_cpu_seconds: float = 30.0  # CPU time of one request's searches
    read_timeout: float = 30.0  # seconds to receive a request's body

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            seconds = name in ("max_request_cpu_seconds", "read_timeout")
            kinds = (int, float) if seconds else (int,)
            if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or value <= 0:
                what = "number of seconds" if seconds else "integer"
                raise InvalidOptionError(f"{name} must be a positive {what}, got {value!r}")
        if self.default_topk > self.max_topk:
            raise InvalidOptionError(f"default_topk ({self.default_topk}) must not exceed max_topk ({self.max_topk})")

"""Serving a prepared corpus's search index over HTTP (``ramp-env serve``; extra ``serve``).

:class:`ServeLimits` imports nothing from the extra; the app (``create_app``) needs it.
"""

from __future__ import annotations

from typing import Any

from ramp_env.serving.limits import ServeLimits

__all__ = ["ServeLimits", "create_app", "format_contents"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "format_contents"):  # FastAPI loads only when the app is wanted
        from ramp_env.serving import retrieval

        return getattr(retrieval, name)
    raise AttributeError(f"module 'ramp_env.serving' has no attribute {name!r}")

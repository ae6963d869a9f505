"""Serving a prepared corpus's search index over HTTP (``ramp-env serve``; extra ``serve``)."""

from ramp_env.serving.retrieval import ServeLimits, create_app, format_contents

__all__ = ["ServeLimits", "create_app", "format_contents"]

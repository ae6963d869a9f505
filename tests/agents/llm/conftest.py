"""Fixtures for the language-model tests (the tokenizer and tiny models live in tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # tiny matrices: intra-op threads only add synchronisation, badly so on a busy CPU
    from ramp_env.models import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture()
def small_env(make_env: Callable[..., Any]) -> Callable[..., Any]:
    """Envs with short observations (one search, one short hit) so sequences stay small."""

    def factory(**kwargs: Any) -> Any:
        kwargs.setdefault("retriever", "rank_bm25")
        kwargs.setdefault("max_searches", 1)
        kwargs.setdefault("top_k", 1)
        kwargs.setdefault("max_hit_chars", 200)
        kwargs.setdefault("max_passage_chars", 700)
        return make_env(**kwargs)

    return factory

"""Fixtures for the reward tests: the shared embedding judge and a tiny random LLM judge."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedding_judge():
    """The process-wide MiniLM judge that ``reward="judge"`` uses (loaded once)."""
    from ramp_env.rewards.base import shared_judge

    return shared_judge("embedding")


@pytest.fixture()
def tiny_lm(tiny_model, smollm2_tokenizer):
    """A randomly initialised 2-layer Llama over SmolLM2's vocabulary: fast, real shapes, real tokenizer."""
    return tiny_model(), smollm2_tokenizer

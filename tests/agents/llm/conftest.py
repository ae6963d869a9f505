"""Fixtures for the language-model tests: the real SmolLM2 tokenizer and tiny random models.

A randomly initialised 2-layer Llama with a 32-wide hidden state and SmolLM2's
vocabulary runs the same code paths as the real model in milliseconds; one
slow test per feature uses SmolLM2-135M itself.
"""

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


@pytest.fixture(scope="session")
def smollm2_tokenizer() -> Any:
    """SmolLM2-135M-Instruct's tokenizer (ChatML template, 49,152 tokens)."""
    from ramp_env.models import load_tokenizer

    tokenizer = load_tokenizer()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@pytest.fixture()
def tiny_model(smollm2_tokenizer: Any) -> Callable[..., Any]:
    """Factory of a seeded, randomly initialised tiny Llama over SmolLM2's vocabulary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    def factory(seed: int = 0) -> Any:
        torch.manual_seed(seed)
        config = LlamaConfig(
            vocab_size=len(smollm2_tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            tie_word_embeddings=True,
            bos_token_id=smollm2_tokenizer.bos_token_id,
            eos_token_id=smollm2_tokenizer.eos_token_id,
            pad_token_id=smollm2_tokenizer.pad_token_id,
        )
        return LlamaForCausalLM(config).eval()

    return factory


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

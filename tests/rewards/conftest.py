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


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    """The real SmolLM2 tokenizer (from the cached safetensors export of the GGUF file)."""
    from ramp_env.models import load_tokenizer

    return load_tokenizer()


@pytest.fixture()
def tiny_lm(smollm2_tokenizer):
    """A randomly initialised 2-layer Llama over SmolLM2's vocabulary: fast, real shapes, real tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(smollm2_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).eval()
    return model, smollm2_tokenizer

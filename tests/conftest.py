"""Shared fixtures. Tests use small corpora and a per-session cache directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"
WIKI_SAMPLE = FIXTURES / "wiki_sample.jsonl"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root shared by the session's tests (prepared corpora are reused)."""
    return tmp_path_factory.mktemp("ramp-cache")


@pytest.fixture(scope="session")
def wiki_sample() -> Path:
    """969 real Wikipedia passages (CC BY-SA 4.0) from the default corpus."""
    return WIKI_SAMPLE


@pytest.fixture()
def make_env(cache_dir: Path, wiki_sample: Path):
    """Factory for a RAMPEnv over the wiki sample with rule-based spans (no model load)."""
    from ramp_env.envs.ramp import RAMPEnv

    def factory(**kwargs: object) -> RAMPEnv:
        kwargs.setdefault("corpus", str(wiki_sample))
        kwargs.setdefault("cache_dir", str(cache_dir))
        kwargs.setdefault("span_extractor", "rules")
        kwargs.setdefault("progress", False)
        return RAMPEnv(**kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture(scope="session")
def smollm2_tokenizer() -> Any:
    """SmolLM2-135M-Instruct's real tokenizer (ChatML template, 49,152 tokens), from the offline package."""
    from ramp_env.models import load_tokenizer

    tokenizer = load_tokenizer()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


@pytest.fixture()
def tiny_model(smollm2_tokenizer: Any) -> Callable[..., Any]:
    """Factory of a seeded, randomly initialised 2-layer Llama over SmolLM2's vocabulary.

    It runs the same code paths as the real model in milliseconds; one slow test
    per feature uses SmolLM2-135M itself.
    """
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

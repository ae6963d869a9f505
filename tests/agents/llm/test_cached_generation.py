"""agents.llm.cached_generation: prefix KV reuse gives the tokens and log-probs of a fresh forward."""

from __future__ import annotations

import pytest
import torch

from agents.llm.cached_generation import PrefixKVCache, generate_cached
from agents.llm.chat import encode
from agents.llm.generation import generate_batch


def contexts(tokenizer) -> list[list[int]]:
    return [
        encode(tokenizer, "The capital of France is Paris and the capital of Spain is"),
        encode(tokenizer, "Hi"),
        encode(tokenizer, "One two three four"),
    ]


def test_cached_greedy_turns_match_uncached_generation(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model(seed=3)
    tok = smollm2_tokenizer
    cache = PrefixKVCache()
    turn = contexts(tok)
    for _ in range(3):  # each turn continues the last one with new "environment" tokens
        expected = generate_batch(model, tok, turn, max_new_tokens=5, stop_strings=())
        got = generate_cached(model, tok, turn, cache, max_new_tokens=5, stop_strings=())
        assert [g.token_ids for g in got] == [g.token_ids for g in expected]
        turn = [c + g.token_ids + encode(tok, " and then, said the tool,") for c, g in zip(turn, got)]
    # later turns prefilled only their new tokens
    assert cache.hits == 6 and cache.reused_tokens > cache.prefilled_tokens / 3


def test_cached_sampling_logprobs_match_a_fresh_forward(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model(seed=4)
    tok = smollm2_tokenizer
    cache = PrefixKVCache()
    first = contexts(tok)
    generate_cached(model, tok, first, cache, max_new_tokens=4, temperature=1.0, stop_strings=())
    # a second turn whose rows have different cached and new lengths (one row is new to the cache)
    second = [first[0] + encode(tok, " Madrid."), encode(tok, "A brand new context"), first[2] + [7, 8, 9]]
    torch.manual_seed(0)
    out = generate_cached(model, tok, second, cache, max_new_tokens=6, temperature=0.7, stop_strings=(),
                          return_logprobs=True)
    for context, generation in zip(second, out):
        ids = torch.tensor([context + generation.token_ids])
        logits = model(input_ids=ids).logits[0].float() / 0.7
        expected = torch.log_softmax(logits, dim=-1)[len(context) - 1 : -1].gather(
            -1, torch.tensor(generation.token_ids)[:, None]
        ).squeeze(-1)
        assert generation.logprobs == pytest.approx(expected.tolist(), abs=1e-4)


def test_cached_generation_rejects_bad_arguments(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate_cached(model, smollm2_tokenizer, [[1, 2]], PrefixKVCache(), max_new_tokens=0)
    with pytest.raises(ValueError, match="empty context"):
        generate_cached(model, smollm2_tokenizer, [[]], PrefixKVCache())


def test_kept_keys_are_dropped_when_the_weights_change(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model(seed=6)
    tok = smollm2_tokenizer
    cache = PrefixKVCache()
    first = contexts(tok)
    out = generate_cached(model, tok, first, cache, max_new_tokens=3, stop_strings=())
    assert len(cache) == 3
    with torch.no_grad():  # an optimiser step changes the weights in place
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    second = [c + g.token_ids + encode(tok, " next") for c, g in zip(first, out)]
    hits = cache.hits
    got = generate_cached(model, tok, second, cache, max_new_tokens=4, stop_strings=())
    assert cache.hits == hits  # nothing reused from the old weights
    expected = generate_batch(model, tok, second, max_new_tokens=4, stop_strings=())
    assert [g.token_ids for g in got] == [g.token_ids for g in expected]

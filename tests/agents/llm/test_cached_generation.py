"""agents.llm.cached_generation: prefix KV reuse gives the tokens and log-probs of a fresh forward."""

from __future__ import annotations

from collections.abc import Callable

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


def record_cache_updates(patch: pytest.MonkeyPatch, seen: Callable[[object, torch.Tensor, torch.Tensor], None]) -> None:
    """Call ``seen(layer, keys, values)`` with what every batch-cache layer update returns."""
    import agents.llm.cached_generation as cached

    real_update = cached._PreallocatedLayer.update

    def recording(self, key_states, value_states, *args, **kwargs):
        keys, values = real_update(self, key_states, value_states, *args, **kwargs)
        seen(self, keys, values)
        return keys, values

    patch.setattr(cached._PreallocatedLayer, "update", recording)


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


def test_keys_made_under_autocast_are_not_reused_in_float32(tiny_model, smollm2_tokenizer) -> None:
    # mixed-precision rollouts (DAPO on a bf16-loaded model) then a float32 evaluation with one agent
    model = tiny_model(seed=7)
    tok = smollm2_tokenizer
    cache = PrefixKVCache()
    first = contexts(tok)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = generate_cached(model, tok, first, cache, max_new_tokens=3, stop_strings=())
    assert cache.hits == 0 and len(cache) == 3
    second = [c + g.token_ids + encode(tok, " next") for c, g in zip(first, out)]
    got = generate_cached(model, tok, second, cache, max_new_tokens=4, stop_strings=())
    assert cache.hits == 0  # bf16 keys are not what a float32 pass computes
    expected = generate_batch(model, tok, second, max_new_tokens=4, stop_strings=())
    assert [g.token_ids for g in got] == [g.token_ids for g in expected]
    # under the same autocast as when they were made, kept keys are reused
    third = [c + g.token_ids + encode(tok, " again") for c, g in zip(second, got)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = generate_cached(model, tok, third, cache, max_new_tokens=2, stop_strings=())
        fourth = [c + g.token_ids + [5, 6] for c, g in zip(third, out)]
        generate_cached(model, tok, fourth, cache, max_new_tokens=2, stop_strings=())
    assert cache.hits == 3


def test_sliding_window_models_generate_correctly_without_reuse(smollm2_tokenizer) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = smollm2_tokenizer
    torch.manual_seed(7)
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, use_sliding_window=True, sliding_window=4, max_window_layers=0,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
    )).eval()
    cache = PrefixKVCache()
    turn = contexts(tok)
    for _ in range(2):
        expected = generate_batch(model, tok, turn, max_new_tokens=5, stop_strings=())
        got = generate_cached(model, tok, turn, cache, max_new_tokens=5, stop_strings=())
        assert [g.token_ids for g in got] == [g.token_ids for g in expected]
        turn = [c + g.token_ids + encode(tok, " next") for c, g in zip(turn, got)]
    assert cache.hits == 0 and len(cache) == 0  # windowed keys are never kept


def test_decoding_writes_keys_in_place(monkeypatch, tiny_model, smollm2_tokenizer) -> None:
    """The batch cache is allocated once per call: decoding never concatenates the whole cache."""
    import agents.llm.cached_generation as cached

    model = tiny_model(seed=8)
    allocations = []
    original = cached._PreallocatedLayer.allocate

    def counting(self, keys_like, values_like):
        allocations.append(self)
        return original(self, keys_like, values_like)

    monkeypatch.setattr(cached._PreallocatedLayer, "allocate", counting)
    buffers: dict[int, set[int]] = {}
    record_cache_updates(monkeypatch, lambda layer, keys, _: buffers.setdefault(id(layer), set()).add(keys.data_ptr()))
    out = generate_cached(model, smollm2_tokenizer, contexts(smollm2_tokenizer), PrefixKVCache(), max_new_tokens=12,
                          stop_strings=())
    assert len(allocations) == model.config.num_hidden_layers  # once per layer, not per step
    # every decoding step of a layer returned a view of that layer's one buffer
    assert len(buffers) == model.config.num_hidden_layers and all(len(ptrs) == 1 for ptrs in buffers.values())
    assert all(len(g.token_ids) == 12 for g in out)


def test_rows_with_very_different_new_lengths_match_fresh_forwards(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model(seed=9)
    tok = smollm2_tokenizer
    cache = PrefixKVCache()
    first = contexts(tok)
    out = generate_cached(model, tok, first, cache, max_new_tokens=3, stop_strings=())
    # row 0 adds a long block, row 1 a single token, row 2 is a cache miss of its own
    second = [
        first[0] + out[0].token_ids + encode(tok, " and a long tool reply " * 12),
        first[1] + out[1].token_ids + [11],
        encode(tok, "Something never seen before, longer than the rest of the rows here"),
    ]
    expected = generate_batch(model, tok, second, max_new_tokens=6, stop_strings=())
    got = generate_cached(model, tok, second, cache, max_new_tokens=6, stop_strings=())
    assert [g.token_ids for g in got] == [g.token_ids for g in expected]
    assert cache.hits == 2


def test_prefill_and_decoding_time_are_counted_apart(tiny_model, smollm2_tokenizer) -> None:
    """benchmarks/llm_rollout.py splits the cached path's CPU time with these counters."""
    cache = PrefixKVCache()
    generate_cached(tiny_model(seed=10), smollm2_tokenizer, contexts(smollm2_tokenizer), cache, max_new_tokens=6,
                    stop_strings=())
    assert cache.prefill_cpu_seconds > 0 and cache.decode_cpu_seconds > 0
    first = (cache.prefill_cpu_seconds, cache.decode_cpu_seconds)
    generate_cached(tiny_model(seed=10), smollm2_tokenizer, contexts(smollm2_tokenizer), cache, max_new_tokens=1,
                    stop_strings=())
    assert cache.prefill_cpu_seconds > first[0] and cache.decode_cpu_seconds >= first[1]  # counters accumulate


def test_sampler_draws_each_token_with_its_softmax_probability() -> None:
    from scipy.stats import chisquare

    from agents.llm.cached_generation import sample_from

    # zero-probability tokens first, in the middle and last (what top-p masking leaves)
    probs = torch.tensor([0.0, 0.1, 0.0, 0.25, 0.6, 0.05, 0.0])
    scores = torch.log(probs).expand(4, -1).contiguous()
    torch.manual_seed(0)
    draws = torch.cat([sample_from(scores) for _ in range(5000)])
    counts = torch.bincount(draws, minlength=len(probs))
    assert counts[probs == 0].sum() == 0
    expected = probs[probs > 0] * len(draws)
    assert chisquare(counts[probs > 0].numpy(), expected.numpy()).pvalue > 0.001
    torch.manual_seed(0)
    again = torch.cat([sample_from(scores) for _ in range(5000)])
    assert torch.equal(draws, again)  # torch's global generator: seeded runs repeat
    with pytest.raises(ValueError, match="NaN"):
        sample_from(torch.tensor([[0.0, float("nan"), 1.0]]))


def test_keys_kept_in_autocast_precision_give_the_numbers_of_an_uncached_pass(tiny_model, smollm2_tokenizer) -> None:
    """Under bf16 autocast the cache stores bf16 keys (what attention reads) and tokens stay those of generate."""
    model = tiny_model(seed=11)
    tok = smollm2_tokenizer
    dtypes: set[torch.dtype] = set()

    def seen(layer: object, keys: torch.Tensor, values: torch.Tensor) -> None:
        dtypes.update((keys.dtype, values.dtype))

    cache = PrefixKVCache()
    turn = contexts(tok)
    with pytest.MonkeyPatch.context() as patch, torch.autocast("cpu", dtype=torch.bfloat16):
        record_cache_updates(patch, seen)
        for _ in range(3):
            expected = generate_batch(model, tok, turn, max_new_tokens=6, stop_strings=())
            got = generate_cached(model, tok, turn, cache, max_new_tokens=6, stop_strings=())
            assert [g.token_ids for g in got] == [g.token_ids for g in expected]
            turn = [c + g.token_ids + encode(tok, " the tool said") for c, g in zip(turn, got)]
    assert dtypes == {torch.bfloat16} and cache.hits == 6
    dtypes.clear()
    with pytest.MonkeyPatch.context() as patch:
        record_cache_updates(patch, seen)
        generate_cached(model, tok, contexts(tok), PrefixKVCache(), max_new_tokens=2, stop_strings=())
    assert dtypes == {torch.float32}  # without autocast keys keep the model's precision


def test_rows_that_finish_early_leave_the_batch_and_keep_their_keys(tiny_model, smollm2_tokenizer) -> None:
    """Finished rows are dropped from the decoding batch (with the padding no row needs any more):
    tokens, log-probs and the keys kept for the next turn are those of a fresh forward."""
    import agents.llm.cached_generation as cached

    model = tiny_model(seed=12)
    tok = smollm2_tokenizer
    turn = contexts(tok) + [encode(tok, "A much longer context than the others, so the batch has padding on the left")]
    probe = generate_batch(model, tok, turn, max_new_tokens=12, stop_strings=())
    # an end-of-turn id the longest row produces early (so the left padding can go too), others late or never
    model.generation_config.eos_token_id = probe[3].token_ids[1]
    selections: list[tuple[int, int]] = []
    real_select = cached._PreallocatedLayer.select

    def counting(self, rows, drop_columns):
        selections.append((len(rows), drop_columns))
        return real_select(self, rows, drop_columns)

    cache = PrefixKVCache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cached._PreallocatedLayer, "select", counting)
        for _ in range(2):
            expected = generate_batch(model, tok, turn, max_new_tokens=12, stop_strings=())
            got = generate_cached(model, tok, turn, cache, max_new_tokens=12, stop_strings=())
            assert [g.token_ids for g in got] == [g.token_ids for g in expected]
            turn = [c + g.token_ids + encode(tok, " the tool said") for c, g in zip(turn, got)]
        # rows left early, the padding went with the longest row, and the kept keys were reused
        assert selections and max(drop for _, drop in selections) > 0 and cache.hits == len(turn)
        torch.manual_seed(0)
        # sampling: an end id the second row draws third, so that it leaves the batch early again
        torch.manual_seed(0)
        probe = generate_cached(model, tok, turn, PrefixKVCache(), max_new_tokens=12, temperature=0.7,
                                stop_strings=())
        model.generation_config.eos_token_id = probe[1].token_ids[2]
        selections.clear()
        torch.manual_seed(0)
        sampled = generate_cached(model, tok, turn, cache, max_new_tokens=12, temperature=0.7, stop_strings=(),
                                  return_logprobs=True)
    assert selections and len(sampled[1].token_ids) == 3
    for context, generation in zip(turn, sampled):
        ids = torch.tensor([context + generation.token_ids])
        logits = model(input_ids=ids).logits[0].float() / 0.7
        expected_lp = torch.log_softmax(logits, dim=-1)[len(context) - 1 : -1].gather(
            -1, torch.tensor(generation.token_ids)[:, None]).squeeze(-1)
        assert generation.logprobs == pytest.approx(expected_lp.tolist(), abs=1e-4)

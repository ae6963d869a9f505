"""agents.llm.generation: batched generation cut where each row really ended."""

from __future__ import annotations

import pytest

from agents.llm.chat import encode
from agents.llm.generation import generate_batch, trim_generation


def test_trim_keeps_tokens_up_to_the_stop_string_not_the_padding(smollm2_tokenizer) -> None:
    tok = smollm2_tokenizer
    eos = tok.eos_token_id
    search = encode(tok, "<search>capital of France</search>")
    # a row that stopped on the stop string, then got pad tokens (= EOS for SmolLM2) from the batch
    row = search + [eos, eos, eos]
    g = trim_generation(tok, row, {eos}, ("</search>", "</answer>"), max_new_tokens=64)
    assert (g.token_ids, g.text, g.finish_reason) == (search, "<search>capital of France</search>", "stop")
    # trailing text after the tag in the same generation is cut at the first stop
    g = trim_generation(tok, search + encode(tok, " and more words"), {eos}, ("</search>",), 64)
    assert g.token_ids == search
    # the model ended its turn itself: the EOS is kept (it is the policy's action)
    words = encode(tok, "I do not know")
    g = trim_generation(tok, words + [eos, eos], {eos}, ("</search>",), 64)
    assert (g.token_ids, g.text, g.finish_reason) == (words + [eos], "I do not know", "eos")
    g = trim_generation(tok, words, {eos}, ("</search>",), len(words))
    assert g.finish_reason == "length" and g.token_ids == words


def test_generate_batch_shapes_budget_and_greedy_determinism(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model()
    contexts = [encode(smollm2_tokenizer, "Hello there, how are you?"), encode(smollm2_tokenizer, "Hi")]
    first = generate_batch(model, smollm2_tokenizer, contexts, max_new_tokens=6, batch_size=2)
    again = generate_batch(model, smollm2_tokenizer, contexts, max_new_tokens=6, batch_size=1)
    assert len(first) == 2
    assert all(1 <= len(g.token_ids) <= 6 for g in first)
    assert [g.token_ids for g in first] == [g.token_ids for g in again]  # greedy, padding does not matter
    assert not model.training


def test_generate_batch_rejects_bad_arguments(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate_batch(model, smollm2_tokenizer, [[1, 2]], max_new_tokens=0)
    with pytest.raises(ValueError, match="empty context"):
        generate_batch(model, smollm2_tokenizer, [[]], max_new_tokens=2)


def test_sampler_and_trainer_logprobs_agree_whatever_the_models_generation_config(
    tiny_model, smollm2_tokenizer
) -> None:
    import torch

    from agents.llm.agent import TokenSegment
    from agents.training.dapo import sequence_logprobs

    tok = smollm2_tokenizer
    model = tiny_model(seed=1)
    # options a checkpoint may carry that reshape the logits the trainer never sees
    model.generation_config.repetition_penalty = 1.3
    model.generation_config.no_repeat_ngram_size = 2
    model.generation_config.top_k = 5
    contexts = [encode(tok, "the cat sat on the mat, the cat sat on the"), encode(tok, "one one one two two")]
    for temperature in (1.0, 0.7):
        torch.manual_seed(0)
        generations = generate_batch(
            model, tok, contexts, max_new_tokens=12, temperature=temperature, stop_strings=(), return_logprobs=True
        )
        segments = [
            TokenSegment(c + g.token_ids, [0] * len(c) + [1] * len(g.token_ids)) for c, g in zip(contexts, generations)
        ]
        trainer, _ = sequence_logprobs(model, segments, pad_id=tok.pad_token_id, temperature=temperature)
        for row, (context, generation) in enumerate(zip(contexts, generations)):
            assert len(generation.token_ids) == 12
            scored = trainer[row, len(context) : len(context) + 12].tolist()
            assert generation.logprobs == pytest.approx(scored, abs=1e-4)
    # greedy decoding takes the argmax of the plain logits, so it may repeat n-grams
    greedy = generate_batch(model, tok, contexts, max_new_tokens=8, stop_strings=())
    for context, generation in zip(contexts, greedy):
        ids = torch.tensor([context + generation.token_ids])
        argmax = model(input_ids=ids).logits[0, len(context) - 1 : -1].argmax(-1).tolist()
        assert generation.token_ids == argmax
    # the model's own settings are back after the call
    assert model.generation_config.repetition_penalty == 1.3 and model.generation_config.no_repeat_ngram_size == 2

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

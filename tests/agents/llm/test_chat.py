"""agents.llm.chat: rendering chats and the mask of tokens a trainer learns from."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agents.llm.chat import render, resolve_tool_role, template_messages, tokenize_conversation

PASSAGE = "Title: Paris\nPassage: Paris is the capital of [mask_1].\nMasks to fill: 1"
RESULTS = "Search 1/2: 1 passage(s).\n[1] France\nFrance's capital city is Paris, on the Seine.\n(searches left: 1)"
CHAT = [
    {"role": "system", "content": "Fill in every mask."},
    {"role": "user", "content": PASSAGE},
    {"role": "assistant", "content": "<search>capital of France</search>"},
    {"role": "tool", "content": RESULTS},
    {"role": "assistant", "content": "<answer>\n[mask_1]: France\n</answer>"},
]


def trained_text(tokenizer: Any, chat: list[dict[str, Any]]) -> str:
    tokens = tokenize_conversation(tokenizer, chat)
    return tokenizer.decode([t for t, m in zip(tokens.input_ids, tokens.train_mask) if m])


def test_only_assistant_turns_and_their_end_of_turn_train(smollm2_tokenizer) -> None:
    tokens = tokenize_conversation(smollm2_tokenizer, CHAT)
    assert len(tokens.input_ids) == len(tokens.train_mask)
    # the ids are exactly the rendered chat
    rendered = render(smollm2_tokenizer, template_messages(CHAT, "tool"))
    assert smollm2_tokenizer.decode(tokens.input_ids) == rendered
    # the trained ids are the two assistant contents, each closed by <|im_end|>\n, nothing else
    assert trained_text(smollm2_tokenizer, CHAT) == (
        "<search>capital of France</search><|im_end|>\n<answer>\n[mask_1]: France\n</answer><|im_end|>\n"
    )
    # no token of the retrieved passage, the prompt or a turn header is trained
    untrained = smollm2_tokenizer.decode([t for t, m in zip(tokens.input_ids, tokens.train_mask) if not m])
    assert "Seine" in untrained and "[mask_1]." in untrained and "<|im_start|>assistant" in untrained
    assert tokens.labels.count(-100) == tokens.train_mask.count(0)


def test_train_flag_overrides_the_role_rule(smollm2_tokenizer) -> None:
    chat = copy.deepcopy(CHAT)
    chat[2]["train"] = False  # keep the search as context only
    assert trained_text(smollm2_tokenizer, chat) == "<answer>\n[mask_1]: France\n</answer><|im_end|>\n"
    chat[3]["train"] = True
    assert "Seine" in trained_text(smollm2_tokenizer, chat)


def test_generation_prompt_ends_with_an_untrained_assistant_header(smollm2_tokenizer) -> None:
    tokens = tokenize_conversation(smollm2_tokenizer, CHAT[:4], add_generation_prompt=True)
    text = smollm2_tokenizer.decode(tokens.input_ids)
    assert text == render(smollm2_tokenizer, template_messages(CHAT[:4], "tool"), add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n") and tokens.train_mask[-3:] == [0, 0, 0]


def test_tool_role_falls_back_to_user_for_templates_without_it(smollm2_tokenizer) -> None:
    assert resolve_tool_role(smollm2_tokenizer) == "tool"
    strict = copy.deepcopy(smollm2_tokenizer)
    strict.chat_template = (
        "{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
        "{{ raise_exception('unknown role') }}{% endif %}"
        "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    )
    assert resolve_tool_role(strict) == "user"
    text = strict.decode(tokenize_conversation(strict, CHAT).input_ids)
    assert "<|im_start|>user\nSearch 1/2" in text
    with pytest.raises(ValueError, match="tool_role"):
        resolve_tool_role(strict, "ipython")


def test_templates_that_rewrite_history_are_refused(smollm2_tokenizer) -> None:
    rewriting = copy.deepcopy(smollm2_tokenizer)
    # marks the last message only: every earlier rendering stops being a prefix
    rewriting.chat_template = (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] }}"
        "{% if loop.last %}{{ ' (latest)' }}{% endif %}{{ '<|im_end|>\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    )
    with pytest.raises(ValueError, match="growing prefix"):
        tokenize_conversation(rewriting, CHAT)

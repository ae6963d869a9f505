"""Language-model agents: a ``transformers`` causal LM playing RAMP through its chat template
(:class:`LLMAgent`), and any OpenAI-compatible chat endpoint (:class:`OpenAIAgent`).

Names are imported on first use: ``LLMAgent`` pulls in torch and transformers, which
the endpoint agent (and ``agents.llm.chat``'s message helpers) never need.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Generation": "agents.llm.generation",
    "LLMAgent": "agents.llm.agent",
    "LLMAgentConfig": "agents.llm.agent",
    "OpenAIAgent": "agents.llm.openai_agent",
    "PrefixKVCache": "agents.llm.cached_generation",
    "TokenSegment": "agents.llm.agent",
    "TokenizedConversation": "agents.llm.chat",
    "generate_batch": "agents.llm.generation",
    "generate_cached": "agents.llm.cached_generation",
    "resolve_tool_role": "agents.llm.chat",
    "tokenize_conversation": "agents.llm.chat",
}

__all__ = [
    "Generation",
    "LLMAgent",
    "LLMAgentConfig",
    "OpenAIAgent",
    "TokenSegment",
    "TokenizedConversation",
    "generate_batch",
    "resolve_tool_role",
    "tokenize_conversation",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agents.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

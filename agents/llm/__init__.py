"""Language-model agents: a ``transformers`` causal LM playing RAMP through its chat template."""

from agents.llm.agent import LLMAgent, LLMAgentConfig, TokenSegment
from agents.llm.chat import TokenizedConversation, resolve_tool_role, tokenize_conversation
from agents.llm.generation import Generation, generate_batch

__all__ = [
    "Generation",
    "LLMAgent",
    "LLMAgentConfig",
    "TokenSegment",
    "TokenizedConversation",
    "generate_batch",
    "resolve_tool_role",
    "tokenize_conversation",
]

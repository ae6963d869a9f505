"""The language-model fixtures (tokenizer, tiny models, small envs) are shared with tests/agents/llm."""

from tests.agents.llm.conftest import _one_torch_thread, small_env  # noqa: F401  (fixtures pytest finds by name)

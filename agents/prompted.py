"""The paper's prompted baselines (MaskSearch, Table 2): RAG-PE and Agent-PE, on RAMP-v0 and MultiHopQA-v0.

* :class:`RAGPEAgent` (``--agent rag_pe``): one retrieval, then one answer. It searches
  once with the question (``MultiHopQA-v0``) or the masked passage with its mask tokens
  removed (``RAMP-v0``), then asks an LLM to fill every mask from the hits, and answers.
* :func:`agent_pe` (``--agent agent_pe``): the prompted multi-turn search agent without
  any RAMP training: :class:`~agents.llm.LLMAgent` (a local ``transformers`` model) or,
  with ``base_url``, :class:`~agents.llm.openai_agent.OpenAIAgent` (an OpenAI-compatible
  server), both with :data:`AGENT_PE_PROMPT`, which adds a worked example and a
  decompose-search-reflect recipe to the task instructions.

Both take any LLM the synthesis pipeline takes (:func:`agents.synthesis.backends.make_backend`
for RAG-PE); the offline SmolLM2-135M-Instruct is the default, a served 7B-72B model is
what reproduces the paper's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ramp_env.actions import format_answer, format_search
from ramp_env.errors import InvalidOptionError
from ramp_env.prompts import INSTRUCTIONS, task_text
from ramp_env.reading import MASK_PATTERN

RAG_PE_PROMPT = (
    "Fill in every [mask_i] in the passage, using the retrieved passages below as evidence. "
    "Answer with the shortest span that fills each mask, one line per mask:\n"
    "<answer>\n[mask_1]: ...\n[mask_2]: ...\n</answer>"
)

AGENT_PE_PROMPT = INSTRUCTIONS + (
    "\n\nWork step by step. Decide what each mask needs, search for one missing fact at a time "
    "with a short query (names, dates and key words from the passage), read the results, and "
    "search again with a better query if they do not say it. Answer as soon as you know every "
    "mask; give your best guess for a mask you could not find.\n\n"
    "Example.\nPassage: [mask_1] was a Greek philosopher, a student of Plato and the teacher of "
    "Alexander the Great.\nMasks to fill: 1\n"
    "You: <search>student of Plato teacher of Alexander the Great</search>\n"
    "Results: [1] Aristotle\nAristotle was an Ancient Greek philosopher ... a student of Plato ...\n"
    "You: <answer>\n[mask_1]: Aristotle\n</answer>"
)

_ANSWER_BLOCK = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_LABELED = re.compile(r"^\s*\[?mask_(\d+)\]?\s*[:\-]\s*(.*)$", re.IGNORECASE)


def retrieval_query(observation: Mapping[str, Any], max_chars: int = 300) -> str:
    """RAG-PE's one query: the question when there is one, else the passage without its mask tokens."""
    text = str(observation.get("question") or "") or MASK_PATTERN.sub(" ", str(observation["passage"]))
    title = str(observation.get("title") or "")
    if title and not observation.get("question"):
        text = f"{title} {text}"
    text = " ".join(text.replace("<", " ").replace(">", " ").split())  # no tags inside <search>
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
    return text or "?"


def answer_action(reply: str, num_masks: int) -> str:
    """A well-formed ``<answer>`` for ``num_masks`` masks from a model's free-text reply.

    Labelled lines (``[mask_2]: x``) go to their mask; otherwise the reply's non-empty lines
    fill the masks in order. A mask the reply says nothing about gets an empty line.
    """
    block = _ANSWER_BLOCK.search(reply)
    body = block.group(1) if block else reply
    lines = [line.strip() for line in body.replace("</answer>", "").splitlines() if line.strip()]
    answers: dict[int, str] = {}
    unlabeled: list[str] = []
    for line in lines:
        match = _LABELED.match(line)
        if match and 1 <= int(match.group(1)) <= num_masks:
            answers.setdefault(int(match.group(1)), match.group(2).strip())
        elif not match:
            unlabeled.append(line)
    for i in range(1, num_masks + 1):
        if i not in answers and unlabeled:
            answers[i] = unlabeled.pop(0)
    cleaned = {i: " ".join(MASK_PATTERN.sub(" ", a).replace("<", " ").replace(">", " ").split())[:200]
               for i, a in answers.items()}
    return format_answer({i: cleaned.get(i, "") for i in range(1, num_masks + 1)})


class RAGPEAgent:
    """
    RAG-PE: one retrieval with the question or masked passage, then an answer from the hits.

    Step 1 sends ``<search>`` with :func:`retrieval_query`; step 2 shows the LLM the task
    and the hits (:data:`RAG_PE_PROMPT`) and answers with its reply (:func:`answer_action`).
    With no search budget it answers from the passage alone.

    ```python
    agent = RAGPEAgent()                                           # offline SmolLM2-135M-Instruct
    agent = RAGPEAgent("http://127.0.0.1:8000/v1|Qwen2.5-7B-Instruct")   # an OpenAI-compatible server
    ```

    Args:
        backend: an LLM backend or spec for :func:`agents.synthesis.backends.make_backend`:
            ``None`` (offline SmolLM2), a model folder / ``.gguf`` / hub id, or ``"URL|MODEL"``.
        device: torch device for a local model.
        max_new_tokens: answer length limit.
        query_chars: the query is cut to this many characters.
        env: accepted (and unused) so evaluation harnesses may pass it.
    """

    def __init__(
        self,
        backend: Any = None,
        device: str = "cpu",
        max_new_tokens: int = 64,
        query_chars: int = 300,
        env: Any = None,
    ) -> None:
        from agents.synthesis.backends import LLMBackend, make_backend

        if max_new_tokens < 1 or query_chars < 1:
            raise InvalidOptionError("max_new_tokens and query_chars must be >= 1")
        if isinstance(backend, LLMBackend) or (isinstance(backend, str) and backend.startswith(("http://", "https://"))):
            self.backend = make_backend(backend)
        else:
            self.backend = make_backend(backend, device=device)
        self.max_new_tokens = max_new_tokens
        self.query_chars = query_chars
        self.reset()

    def reset(self) -> None:
        self._task: Mapping[str, Any] | None = None  # the episode's first observation
        self._searched = False

    def prompt(self, task: Mapping[str, Any], results: str) -> list[dict[str, str]]:
        """The chat the LLM answers: instructions, then the task and the retrieved passages."""
        hits = results.strip() or "(no passage found)"
        return [
            {"role": "system", "content": RAG_PE_PROMPT},
            {"role": "user", "content": f"{task_text(task)}\n\nRetrieved passages:\n{hits}"},
        ]

    def act(self, observation: Mapping[str, Any]) -> str:
        new_episode = self._task is None or str(observation["passage"]) != str(self._task["passage"])
        if new_episode:
            self.reset()
            self._task = dict(observation)
        assert self._task is not None
        if not self._searched and int(observation.get("searches_left", 0)) > 0:
            self._searched = True
            return format_search(retrieval_query(observation, self.query_chars))
        results = str(observation.get("results") or "") if self._searched else ""
        reply = self.backend.complete([self.prompt(self._task, results)], max_new_tokens=self.max_new_tokens)[0]
        return answer_action(reply, int(self._task["num_masks"]))


def agent_pe(
    model: Any = None,
    base_url: str | None = None,
    env: Any = None,
    *,
    system_prompt: str = AGENT_PE_PROMPT,
    tokenizer: Any = None,
    device: str | None = None,
    max_new_tokens: int | None = None,
    max_context_tokens: int | None = None,
    batch_size: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    api_key_env: str | None = None,
    concurrency: int | None = None,
    max_tokens: int | None = None,
    timeout: float | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> Any:
    """Agent-PE: the prompted multi-turn search agent, without RAMP training.

    The arguments are explicit (no ``**kwargs``) so that ``ramp-env evaluate`` hands this
    agent only what it takes.

    Args:
        model: for a local model, anything :class:`~agents.llm.LLMAgent` loads (``None``: the
            offline SmolLM2-135M-Instruct) or a loaded model (with ``tokenizer``); with
            ``base_url``, the served model's name (``None``: the one model served there).
        base_url: an OpenAI-compatible endpoint (``http://127.0.0.1:8000/v1``): the agent is then
            an :class:`~agents.llm.openai_agent.OpenAIAgent`.
        env: accepted (and unused) so evaluation harnesses may pass it.
        system_prompt: the instructions (default :data:`AGENT_PE_PROMPT`).
        tokenizer, device, max_new_tokens, max_context_tokens, batch_size: the local agent's.
        api_key_env, concurrency, max_tokens, timeout, extra_body: the endpoint agent's.
        temperature, seed: either's. ``None`` keeps the agent's own default.
    """
    def given(**kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in kwargs.items() if v is not None}

    common = given(system_prompt=system_prompt, temperature=temperature, seed=seed)
    if base_url is not None:
        from agents.llm.openai_agent import OpenAIAgent

        return OpenAIAgent(base_url, model=model, **common, **given(
            api_key_env=api_key_env, concurrency=concurrency, max_tokens=max_tokens, timeout=timeout,
            extra_body=extra_body))
    from agents.llm import LLMAgent

    return LLMAgent(model, **common, **given(
        tokenizer=tokenizer, device=device, max_new_tokens=max_new_tokens, max_context_tokens=max_context_tokens,
        batch_size=batch_size))

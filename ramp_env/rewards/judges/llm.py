"""A judge that runs a local causal LM with ``transformers`` and reads P(yes) from its logits.

Any causal LM works (:func:`ramp_env.models.load_causal_lm` takes a GGUF file, a
model folder or a hub id); the default is the offline SmolLM2-135M-Instruct.
The conversation (system message, few-shot turns, the question) is rendered with
the tokenizer's chat template, or as plain text for a base model. The model
runs one forward pass per pair and the next-token distribution gives::

    p_yes = P(yes) / (P(yes) + P(no))

where P(yes) sums the single-token spellings ``yes``, ``Yes``, `` yes``... and
likewise for no. Nothing is generated, so the score is a smooth probability and
the same input always gets the same score.

The system message and few-shot turns are the same for every pair, so their
key/value cache is computed once and each pair only runs its own last turn
(about 40 tokens instead of 300); scores are processed one pair at a time, so
no padding can change them.

How good the score is depends on the model: the 135M default is close to chance
at telling right from wrong answers (measured in ``docs/rewards.md``), which is
why ``reward="judge"`` uses the embedding judge. Point this judge at a bigger
instruct model (``LLMJudge("Qwen/Qwen2.5-7B-Instruct", device="cuda")``) or use
:class:`~ramp_env.rewards.judges.http.HTTPJudge` for a served one.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from ramp_env.errors import InvalidOptionError
from ramp_env.rewards.judges.base import Pair
from ramp_env.rewards.judges.prompt import DEFAULT_PROMPT, JudgePrompt
from ramp_env.rewards.judges.yesno import YesNoJudge

YES_SPELLINGS = ("yes", "Yes", "YES", " yes", " Yes", " YES")
NO_SPELLINGS = ("no", "No", "NO", " no", " No", " NO")


def single_token_ids(tokenizer: Any, spellings: tuple[str, ...]) -> list[int]:
    """Ids of the spellings that are one token for ``tokenizer``."""
    ids = set()
    for word in spellings:
        encoded = tokenizer.encode(word, add_special_tokens=False)
        if len(encoded) == 1:
            ids.add(int(encoded[0]))
    return sorted(ids)


class LLMJudge(YesNoJudge):
    """Asks a local causal LM whether the prediction matches the gold.

    Args:
        model: ``None`` (offline SmolLM2-135M-Instruct), a GGUF file, a model folder or
            hub id (loaded on first use), or a loaded ``PreTrainedModel`` (then pass ``tokenizer``).
        tokenizer: the tokenizer of a loaded ``model``.
        device: torch device for a model loaded here.
        num_threads: torch threads while scoring (see :func:`ramp_env.models.torch_threads`).
        prompt, contrastive, cache_size, cache_path: see :class:`~ramp_env.rewards.judges.yesno.YesNoJudge`.
    """

    name = "judge_llm"

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        device: str = "cpu",
        num_threads: int | None = 1,
        prompt: JudgePrompt = DEFAULT_PROMPT,
        contrastive: bool = True,
        cache_size: int = 65536,
        cache_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(prompt=prompt, contrastive=contrastive, cache_size=cache_size, cache_path=cache_path)
        self._loads_model = model is None or isinstance(model, str | os.PathLike)
        if not self._loads_model and tokenizer is None:
            raise InvalidOptionError("pass the tokenizer together with a loaded model")
        self.model_spec = str(model) if isinstance(model, str | os.PathLike) else None
        self.device = device
        self.num_threads = num_threads
        self._model = None if self._loads_model else model
        self._tokenizer = tokenizer
        self._prepared: dict[str, Any] | None = None

    @property
    def model_key(self) -> str:
        if self._loads_model:
            return self.model_spec or "SmolLM2-135M-Instruct-Q4_1"
        from ramp_env.models import model_id

        return f"{model_id(self._model)}:{id(self._model)}"  # a passed-in model may be fine-tuned: never reuse

    def _loaded(self) -> tuple[Any, Any]:
        if self._model is None:
            from ramp_env.models import load_causal_lm

            self._model, tokenizer = load_causal_lm(self.model_spec, device=self.device)
            self._tokenizer = self._tokenizer or tokenizer
        return self._model, self._tokenizer

    # -- prompt -> token ids ------------------------------------------------------------------

    def _control_tokens(self, tokenizer: Any) -> list[str]:
        special = set(getattr(tokenizer, "all_special_tokens", []) or [])
        added = getattr(tokenizer, "get_added_vocab", None)
        if callable(added):
            special |= set(added())
        return sorted(special)

    def _prepare(self) -> dict[str, Any]:
        """Yes/no ids, control tokens and the shared prompt prefix (computed once)."""
        if self._prepared is None:
            _, tok = self._loaded()
            yes, no = single_token_ids(tok, YES_SPELLINGS), single_token_ids(tok, NO_SPELLINGS)
            if not yes or not no:
                raise InvalidOptionError("the judge's tokenizer has no single-token 'yes'/'no'; use another model")
            self._prepared = {
                "yes": yes,
                "no": no,
                "control": self._control_tokens(tok),
                "chat": getattr(tok, "chat_template", None) is not None,
                "prefix_ids": None,
                "prefix_cache": None,
            }
        return self._prepared

    def prompt_text(self, prediction: str, reference: str) -> str:
        """The exact text the model reads for one pair."""
        prep = self._prepare()
        _, tok = self._loaded()
        if prep["chat"]:
            messages = self.prompt.messages(prediction, reference, prep["control"])
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.prompt.plain_text(prediction, reference, prep["control"])

    def _prefix_text(self) -> str:
        prep = self._prepare()
        _, tok = self._loaded()
        if prep["chat"]:
            shared = self.prompt.messages("", "")[:-1]  # system + few-shot turns
            return tok.apply_chat_template(shared, tokenize=False)
        return self.prompt.plain_text("", "").rsplit("Reference answer:", 1)[0]

    def _encode(self, text: str) -> list[int]:
        _, tok = self._loaded()
        return list(tok(text, add_special_tokens=False)["input_ids"])

    # -- scoring ------------------------------------------------------------------------------

    def p_yes(self, pairs: list[Pair]) -> list[float]:
        import torch

        from ramp_env.models import torch_threads

        model, _ = self._loaded()
        prep = self._prepare()
        if prep["prefix_ids"] is None:
            prep["prefix_ids"] = self._encode(self._prefix_text())
        prefix = prep["prefix_ids"]
        yes = torch.tensor(prep["yes"])
        no = torch.tensor(prep["no"])
        device = next(model.parameters()).device
        out = []
        with torch.inference_mode(), torch_threads(self.num_threads):
            for pred, ref in pairs:
                ids = self._encode(self.prompt_text(pred, ref))
                logits = self._next_token_logits(model, ids, prefix, device)
                logp = torch.log_softmax(logits.float().cpu(), dim=-1)
                log_yes, log_no = torch.logsumexp(logp[yes], 0), torch.logsumexp(logp[no], 0)
                out.append(float(torch.sigmoid(log_yes - log_no)))
        return out

    def _next_token_logits(self, model: Any, ids: list[int], prefix: list[int], device: Any) -> Any:
        import torch

        prep = self._prepared
        assert prep is not None
        n = len(prefix)
        if 0 < n < len(ids) and ids[:n] == prefix:
            # transformers 5 renamed the argument past_key_values -> cache; support both
            cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
            if prep["prefix_cache"] is None:
                out = model(input_ids=torch.tensor([prefix], device=device), use_cache=True)
                prep["prefix_cache"] = getattr(out, "cache", None) or out.past_key_values
            cache = prep["prefix_cache"]
            suffix = torch.tensor([ids[n:]], device=device)
            try:
                logits = model(input_ids=suffix, use_cache=True, **{cache_arg: cache}).logits[0, -1]
            finally:
                # back to the shared prefix for the next pair (a negative count removes
                # tokens in both the transformers 4 and 5 APIs)
                cache.crop(-(cache.get_seq_length() - n))
            return logits
        return model(input_ids=torch.tensor([ids], device=device)).logits[0, -1]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_prepared"] = None
        if self._loads_model:
            state["_model"] = state["_tokenizer"] = None
        return state

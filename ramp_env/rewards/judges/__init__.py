"""Model-based judges: does a prediction mean the same as the gold span?

* :class:`EmbeddingJudge`: cosine similarity of MiniLM sentence embeddings,
  calibrated to [0, 1], with a numbers check; cheap and injection-proof (the
  default of ``reward="judge"``).
* :class:`LLMJudge`: a local causal LM's probability of "yes" vs "no", read
  from its logits (default the offline SmolLM2-135M-Instruct).
* :class:`HTTPJudge`: the same question to an OpenAI-compatible endpoint
  serving a large judge (vLLM and the like), with log-probabilities.

Every judge follows the :class:`Judge` protocol, is deterministic and caches
its scores per ``(prediction, gold)``. Models load on first use.
"""

from ramp_env.rewards.judges.base import CachedJudge, Judge
from ramp_env.rewards.judges.embedding import EmbeddingJudge, number_agreement
from ramp_env.rewards.judges.http import (
    HTTPJudge,
    JudgeServerError,
    p_yes_from_response,
)
from ramp_env.rewards.judges.llm import LLMJudge
from ramp_env.rewards.judges.prompt import DEFAULT_PROMPT, JudgePrompt
from ramp_env.rewards.judges.yesno import DECOYS, YesNoJudge, decoy_for

__all__ = [
    "DECOYS",
    "DEFAULT_PROMPT",
    "CachedJudge",
    "EmbeddingJudge",
    "HTTPJudge",
    "Judge",
    "JudgePrompt",
    "JudgeServerError",
    "LLMJudge",
    "YesNoJudge",
    "decoy_for",
    "number_agreement",
    "p_yes_from_response",
]

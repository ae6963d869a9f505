"""Judges that ask a language model "yes or no?" and read the probability of yes.

A subclass supplies :meth:`YesNoJudge.p_yes`: for each ``(prediction, reference)``
the probability the model gives to "yes" over "yes" + "no" for the next token
(read from logits or log-probabilities, never from generated text).

**Contrastive decoy.** An answer that makes the judge say yes whatever the
reference is (a prompt injection that works, or a judge that is biased to
agree) must not earn reward. With ``contrastive=True`` (the default) the judge
also asks about the same prediction against a *decoy* reference that shares no
token with the prediction or the gold, and the score is::

    score = max(0, p_yes(prediction, gold) - p_yes(prediction, decoy))

A sound judge says no to the decoy (``p ≈ 0``), so correct answers keep their
score; a prediction the judge accepts against any reference scores about 0.
The price is a second model call per pair (cached like the first).
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections import OrderedDict

from ramp_env.rewards.judges.base import CachedJudge, Pair
from ramp_env.rewards.judges.prompt import DEFAULT_PROMPT, JudgePrompt
from ramp_env.text.normalize import answer_tokens

# references no RAMP answer should match; the first sharing no token with the pair is used
DECOYS: tuple[str, ...] = (
    "Marie Curie",
    "Lake Baikal",
    "the Ottoman Empire",
    "1642",
    "Kilimanjaro",
    "the Treaty of Westphalia",
)


def decoy_for(prediction: str, gold: str) -> str:
    """A decoy reference sharing no normalised token with ``prediction`` or ``gold``."""
    used = set(answer_tokens(prediction)) | set(answer_tokens(gold))
    for decoy in DECOYS:
        if not used & set(answer_tokens(decoy)):
            return decoy
    return "zzz qqq"  # only reachable if the pair mentions every decoy


class YesNoJudge(CachedJudge):
    """Base of the LLM judges: prompt, contrastive decoy, caching.

    Args:
        prompt: the :class:`~ramp_env.rewards.judges.prompt.JudgePrompt`.
        contrastive: subtract the decoy's yes-probability (see the module docs).
        cache_size, cache_path: see :class:`~ramp_env.rewards.judges.base.CachedJudge`.
    """

    def __init__(
        self,
        prompt: JudgePrompt = DEFAULT_PROMPT,
        contrastive: bool = True,
        cache_size: int = 65536,
        cache_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(cache_size=cache_size, cache_path=cache_path)
        self.prompt = prompt
        self.contrastive = contrastive
        # p_yes of (prediction, decoy) pairs: one prediction graded against many golds reuses it
        self._decoy_p: OrderedDict[Pair, float] = OrderedDict()

    @abstractmethod
    def p_yes(self, pairs: list[Pair]) -> list[float]:
        """P(yes) / (P(yes) + P(no)) for each ``(prediction, reference)``."""

    @property
    @abstractmethod
    def model_key(self) -> str:
        """Names the model (for :attr:`fingerprint`)."""

    @property
    def fingerprint(self) -> str:
        return f"{self.name}|{self.model_key}|{self.prompt.fingerprint}|contrastive={self.contrastive}"

    def _score_pairs(self, pairs: list[Pair]) -> list[float]:
        if not self.contrastive:
            return [min(1.0, max(0.0, p)) for p in self.p_yes(pairs)]
        decoys = [(pred, decoy_for(pred, gold)) for pred, gold in pairs]
        new = list(dict.fromkeys(d for d in decoys if d not in self._decoy_p))
        probs = self.p_yes(list(pairs) + new)
        real = probs[: len(pairs)]
        for pair, p in zip(new, probs[len(pairs) :]):
            self._decoy_p[pair] = p
        fake = [self._decoy_p[d] for d in decoys]
        while len(self._decoy_p) > max(1024, self.cache_size):
            self._decoy_p.popitem(last=False)
        return [min(1.0, max(0.0, p - d)) for p, d in zip(real, fake)]

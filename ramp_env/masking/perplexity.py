"""Perplexity-based mask selection (``mask_strategy="ppl"``).

MaskSearch's random masking makes many easy tasks: a span the surrounding text
already gives away ("born in [mask_1], France" -> Paris) needs no search. The
perplexity strategy asks a causal language model how hard each candidate span
is to fill in from the passage with that span masked, and masks the hardest.

**Score.** For a candidate span, the model reads a *masked-context prompt*: the
passage with the span replaced by ``[MASK]`` (so it sees the left *and* the
right context), then ``\\n[MASK] =``; the score is the mean token negative
log-likelihood (nats) of the span's text as the continuation: one prompt per
candidate. ``context="left"`` scores every span from its left context only
(the passage's own token perplexity), all from one forward pass: about 8x
cheaper, and a weaker signal (see ``docs/multihop-and-synthesis.md``).
Spans are scored one at a time, with the other spans visible: an approximation
of the k-mask task that keeps the cost linear in the number of candidates.

**Selection.** ``temperature=0`` (default) masks the ``k`` highest-scoring
candidates (ties broken with the env's generator); ``temperature>0`` samples
``k`` without replacement with probabilities ``softmax(score / temperature)``,
which keeps some variety when a passage is replayed. When that distribution has
fewer than ``k`` candidates with non-zero probability (a temperature so low that
the softmax underflows, ties at the top, non-finite scores) sampling cannot draw
``k`` distinct spans; selection then falls back to the ``temperature=0`` rule,
deterministic up to the same seeded tie-break, instead of failing ``reset``.

**Cache.** Scores depend only on the passage, the span, the model and the
prompt, so they are stored per prepared corpus in
``<corpus dir>/ppl-<model>-<context>-v<N>.sqlite`` (table ``scores(pid, start, end, nll)``)
and reused by every later env and process. Each passage's scores are written in
one SQLite transaction (atomic: a crash leaves all or none of them) in WAL mode,
so parallel envs may share the file. Scores are computed *lazily*, for the
passages the env actually samples, not for the whole corpus up front: scoring
the default corpus's ~120k candidate spans with SmolLM2-135M on 2 CPU cores
would take hours, and a training run only ever samples a small fraction of a
Wikipedia-sized corpus.

The model defaults to the offline SmolLM2-135M-Instruct
(:func:`ramp_env.models.load_causal_lm`); any causal LM path or hub id works,
e.g. ``PerplexityMaskStrategy(model="Qwen/Qwen2.5-1.5B", device="cuda")``.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ramp_env.corpus.passage import Passage
from ramp_env.corpus.span_cache import SpanValueCache
from ramp_env.errors import InvalidOptionError
from ramp_env.text.spans import SalientSpan

if TYPE_CHECKING:  # pragma: no cover
    from ramp_env.corpus.prepared import PreparedCorpus

SCORE_VERSION = 1  # bump when the prompt or the score changes: old caches are then ignored
MASK_PLACEHOLDER = "[MASK]"
Context = Literal["masked", "left"]
# (passage, spans) -> one score per span; higher = harder to predict
SpanScoreFn = Callable[[Passage, Sequence[SalientSpan]], list[float]]


class LMSpanScorer:
    """Mean token NLL of each span given its (masked) context, from a causal LM, in batches.

    Args:
        model: ``None`` (offline SmolLM2), a model path/hub id for
            :func:`ramp_env.models.load_causal_lm`, or an already loaded
            ``(model, tokenizer)`` pair.
        device: torch device.
        context: ``"masked"`` (left and right context, span replaced by ``[MASK]``) or ``"left"``.
        batch_size: prompts per forward pass.
        window_chars: characters of context kept on each side of the span in masked prompts
            (600, about 150 tokens: most passages fit whole).
        num_threads: torch threads while scoring (``None``: torch's setting). On a CPU shared
            with other jobs, 1 thread scored SmolLM2 prompts 20-40x faster than 2 (thread contention).
    """

    def __init__(
        self,
        model: str | tuple[Any, Any] | None = None,
        device: str = "cpu",
        context: Context = "masked",
        batch_size: int = 8,
        window_chars: int = 600,
        num_threads: int | None = None,
    ) -> None:
        if context not in ("masked", "left"):
            raise InvalidOptionError(f"context must be 'masked' or 'left', got {context!r}")
        if batch_size < 1:
            raise InvalidOptionError(f"batch_size must be >= 1, got {batch_size}")
        self.model_spec = model
        self.device = device
        self.context = context
        self.batch_size = batch_size
        self.window_chars = window_chars
        self.num_threads = num_threads
        self._loaded: tuple[Any, Any] | None = model if isinstance(model, tuple) else None
        self._lock = threading.Lock()

    @property
    def cache_key(self) -> str:
        """Names the scores in caches: model, prompt style and score version."""
        if isinstance(self.model_spec, tuple):
            from ramp_env.models import model_id

            name = model_id(self.model_spec[0])
        else:
            name = "smollm2-135m" if self.model_spec is None else str(self.model_spec)
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", Path(name).name or name).strip("-")[:40]
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        return f"{slug}-{digest}-{self.context}-w{self.window_chars}-v{SCORE_VERSION}"

    def _model(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                from ramp_env.models import load_causal_lm

                spec = self.model_spec if not isinstance(self.model_spec, tuple) else None
                self._loaded = load_causal_lm(spec, device=self.device)
            return self._loaded

    def prompt(self, text: str, span: SalientSpan) -> tuple[str, str]:
        """(prompt, continuation) whose continuation NLL is the span's score."""
        left = text[max(0, span.start - self.window_chars) : span.start]
        target = text[span.start : span.end]
        if self.context == "left":
            return left, target
        right = text[span.end : span.end + self.window_chars]
        return f"{left}{MASK_PLACEHOLDER}{right}\n{MASK_PLACEHOLDER} =", " " + target

    def __call__(self, passage: Passage, spans: Sequence[SalientSpan]) -> list[float]:
        from ramp_env.models import torch_threads

        if not spans:
            return []
        with torch_threads(self.num_threads):
            if self.context == "left":
                return self.left_context_nll(passage.text, spans)
            pairs = [self.prompt(passage.text, s) for s in spans]
            scores: list[float] = []
            for i in range(0, len(pairs), self.batch_size):
                scores.extend(self.continuation_nll(pairs[i : i + self.batch_size]))
            return scores

    def left_context_nll(self, text: str, spans: Sequence[SalientSpan]) -> list[float]:
        """Every span's mean token NLL from one forward pass over the whole passage."""
        import torch

        model, tokenizer = self._model()
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        ids = torch.tensor([[bos, *encoded["input_ids"]]])
        device = next(model.parameters()).device
        with torch.no_grad():
            logits = model(input_ids=ids.to(device)).logits.float()
        # logprob of token t+1 given tokens ..t; passage token j sits at position j+1
        token_lp = torch.log_softmax(logits[0, :-1], dim=-1).gather(-1, ids[0, 1:].to(device).unsqueeze(-1))
        offsets = encoded["offset_mapping"]
        out = []
        for span in spans:
            rows = [j for j, (a, b) in enumerate(offsets) if b > span.start and a < span.end]
            out.append(float(-token_lp[rows].mean()) if rows else 0.0)
        return out

    def continuation_nll(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Mean token NLL (nats) of each continuation after its prompt, one padded batch."""
        import torch

        model, tokenizer = self._model()
        rows: list[list[int]] = []
        starts: list[int] = []
        for prompt, continuation in pairs:
            # tokenised apart so the continuation's tokens are exactly its own
            p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
            c_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
            bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
            if not bos and not p_ids:  # the first token needs something to be predicted from
                bos = [tokenizer.eos_token_id]
            rows.append(bos + p_ids + c_ids)
            starts.append(len(bos) + len(p_ids))
        width = max(len(r) for r in rows)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        device = next(model.parameters()).device
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
        token_lp = logprobs.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
        out = []
        for i, (row, start) in enumerate(zip(rows, starts)):
            # token t is predicted at position t-1
            span_lp = token_lp[i, start - 1 : len(row) - 1]
            out.append(float(-span_lp.mean()) if span_lp.numel() else 0.0)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if not isinstance(self.model_spec, tuple):
            state["_loaded"] = None  # reloaded on demand in the new process
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class SpanScoreCache(SpanValueCache[float]):
    """Span scores of one corpus and scorer in SQLite: ``scores(pid, start, end, nll)``."""

    table, value_column, value_type = "scores", "nll", "REAL"

    def encode(self, value: float) -> float:
        return float(value)

    def decode(self, raw: Any) -> float | None:
        # a damaged row (not a number, NaN, infinite) is recomputed, never ranked
        return float(raw) if isinstance(raw, int | float) and math.isfinite(raw) else None


class PerplexityMaskStrategy:
    """Mask the candidate spans a language model finds hardest to fill in (see module docs).

    Args:
        model: ``None`` (offline SmolLM2-135M-Instruct), a causal LM path or hub id,
            or a loaded ``(model, tokenizer)`` pair.
        device: torch device for the model.
        context: ``"masked"`` (default) or ``"left"``; see :class:`LMSpanScorer`.
        temperature: 0 picks the top ``k``; above 0 samples by ``softmax(score / temperature)``.
        batch_size: prompts per forward pass.
        window_chars: context characters kept on each side of a span (masked prompts).
        max_candidates: score at most this many candidates per passage (a random subset of
            span-rich passages; ``None`` scores all). Bounds the cost of a new passage.
        num_threads: torch threads while scoring (see :class:`LMSpanScorer`).
        scorer: any ``(passage, spans) -> scores`` callable instead of a language model
            (its ``cache_key`` attribute, if any, names its cache file).
        cache: keep scores in SQLite next to the prepared corpus (when the env binds one).
    """

    name = "ppl"

    def __init__(
        self,
        model: str | tuple[Any, Any] | None = None,
        device: str = "cpu",
        context: Context = "masked",
        temperature: float = 0.0,
        batch_size: int = 8,
        window_chars: int = 600,
        max_candidates: int | None = 12,
        num_threads: int | None = None,
        scorer: SpanScoreFn | None = None,
        cache: bool = True,
    ) -> None:
        if temperature < 0 or not math.isfinite(temperature):
            raise InvalidOptionError(f"temperature must be a finite number >= 0, got {temperature}")
        if max_candidates is not None and max_candidates < 1:
            raise InvalidOptionError(f"max_candidates must be >= 1 or None, got {max_candidates}")
        self.max_candidates = max_candidates
        self.scorer: SpanScoreFn = scorer or LMSpanScorer(
            model, device=device, context=context, batch_size=batch_size, window_chars=window_chars,
            num_threads=num_threads,
        )
        self.temperature = float(temperature)
        self.use_cache = cache
        self.cache: SpanScoreCache | None = None
        self._memory: dict[str, dict[tuple[int, int], float]] = {}

    def bind_corpus(self, corpus: PreparedCorpus) -> None:
        """Keep scores in the prepared corpus's directory (the env calls this)."""
        if not self.use_cache:
            return
        key = getattr(self.scorer, "cache_key", None) or f"custom-{type(self.scorer).__name__}"
        cache = SpanScoreCache(Path(corpus.directory) / f"ppl-{key}.sqlite")
        try:
            cache.get("")  # opens (or creates) the file now, so a read-only cache is found early
        except sqlite3.OperationalError as exc:
            warnings.warn(f"perplexity scores will not be cached ({cache.path}: {exc})", stacklevel=2)
            return
        self.cache = cache

    def span_scores(self, passage: Passage, spans: Sequence[SalientSpan]) -> list[float]:
        """Scores of ``spans`` (from the cache, else computed and stored)."""
        known = self.cache.get(passage.id) if self.cache is not None else self._memory.get(passage.id, {})
        missing = [s for s in spans if (s.start, s.end) not in known]
        if missing:
            new = dict(zip(((s.start, s.end) for s in missing), self.scorer(passage, missing)))
            if self.cache is not None:
                self.cache.put(passage.id, new)
            else:
                self._memory.setdefault(passage.id, {}).update(new)
            known = {**known, **new}
        return [known[(s.start, s.end)] for s in spans]

    def choose(
        self, passage: Passage, candidates: Sequence[SalientSpan], k: int, rng: np.random.Generator
    ) -> list[SalientSpan] | None:
        if len(candidates) < k:
            return None
        if self.max_candidates is not None and len(candidates) > max(k, self.max_candidates):
            # bound the scoring cost of span-rich passages: rank a random subset
            keep = rng.choice(len(candidates), size=max(k, self.max_candidates), replace=False)
            candidates = [candidates[int(i)] for i in sorted(keep)]
        scores = np.asarray(self.span_scores(passage, candidates), dtype=np.float64)
        # a scorer may return nan/inf: rank them last/first rather than poison the softmax
        scores = np.nan_to_num(scores, nan=-1e300, posinf=1e300, neginf=-1e300)
        probs = self._sampling_probs(scores, k)
        if probs is None:
            # top k, random tie-break (also the fallback when sampling k distinct spans is impossible)
            order = np.lexsort((rng.random(len(candidates)), -scores))
            picked = order[:k]
        else:
            picked = rng.choice(len(candidates), size=k, replace=False, p=probs)
        return sorted((candidates[int(i)] for i in picked), key=lambda s: s.start)

    def _sampling_probs(self, scores: np.ndarray, k: int) -> np.ndarray | None:
        """``softmax(scores / temperature)``, or ``None`` when k distinct spans cannot be drawn from it."""
        if self.temperature == 0.0:
            return None
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            logits = (scores - scores.max()) / self.temperature
            probs = np.exp(logits)
            total = probs.sum()
            if not np.isfinite(total) or total <= 0:
                return None
            probs = probs / total
        if not np.all(np.isfinite(probs)) or int(np.count_nonzero(probs)) < k:
            return None
        return probs

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_memory"] = {}
        return state

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


__all__ = ["LMSpanScorer", "PerplexityMaskStrategy", "SpanScoreCache"]

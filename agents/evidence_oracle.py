"""The reading ceiling: an agent handed each mask's evidence passages instead of searching."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from agents.reading import answer, new_pool, read
from ramp_env.errors import InvalidOptionError
from ramp_env.reading import CandidatePool
from ramp_env.text.spans import SpanExtractor, make_span_extractor


class EvidenceOracleAgent:
    """
    Never searches: reads the evidence passages of every mask
    (``env.unwrapped.task.evidence_ids``, see :mod:`ramp_env.masking.evidence`)
    and answers with the BM25 heuristic's extraction (:mod:`agents.reading`).

    Each mask's evidence is read as one search's results would be: its first
    ``passages_per_mask`` evidence passages in rank order, cut at the env's
    ``max_hit_chars`` like search hits. The agent therefore scores what perfect
    retrieval plus the heuristic's reading gets; the heuristic's distance to it
    is retrieval skill, its distance to the oracle (1.0) is reading skill. With
    ``require_evidence=False`` the evidence of the task's masks is computed when the
    agent reads it (``env.task_evidence()``); a mask without any gets whatever the
    other masks' evidence offers.

    Args:
        env: the env being played (any wrapper of it); the harness passes it.
        span_extractor: ``"auto"``, ``"spacy"``, ``"rules"`` or an extractor (as the heuristic's).
        passages_per_mask: evidence passages read per mask (``None``: the env's ``top_k``).
    """

    def __init__(
        self, env: gym.Env, span_extractor: str | SpanExtractor = "auto", passages_per_mask: int | None = None
    ) -> None:
        if env is None:
            raise InvalidOptionError("EvidenceOracleAgent needs env= (the env whose task evidence it reads)")
        if passages_per_mask is not None and passages_per_mask < 1:
            raise InvalidOptionError(f"passages_per_mask must be >= 1, got {passages_per_mask}")
        self.env = env
        self.extractor = make_span_extractor(span_extractor)
        self.passages_per_mask = passages_per_mask

    def reset(self) -> None:
        pass

    def act(self, observation: Mapping[str, Any]) -> str:
        base = self.env.unwrapped
        task = getattr(base, "task", None)
        if task is None:
            raise RuntimeError("the env has no current task: reset it before asking the evidence oracle")
        if not hasattr(task, "evidence_ids") or not hasattr(base, "corpus"):
            raise InvalidOptionError(f"{type(base).__name__} tasks carry no evidence_ids; the evidence oracle needs RAMP-v0")
        pool = self.read_evidence(observation)
        return answer(pool, int(observation["num_masks"]))

    def read_evidence(self, observation: Mapping[str, Any]) -> CandidatePool:
        """A candidate pool holding every mask's evidence passages."""
        base = self.env.unwrapped
        store = base.corpus.store
        per_mask = self.passages_per_mask or int(getattr(base, "top_k", 3))
        max_chars = int(getattr(base, "max_hit_chars", 1200))
        pool = new_pool(observation, self.extractor)
        # the task's own evidence, or (require_evidence=False) computed for its masks now
        evidence = base.task_evidence() if callable(getattr(base, "task_evidence", None)) else base.task.evidence_ids
        for ids in evidence:
            hits = []
            for pid in ids[:per_mask]:
                row = store.rowid_of(pid)
                if row is None:
                    continue
                passage = store.get(row)
                text = passage.text if len(passage.text) <= max_chars else passage.text[: max_chars - 1] + "…"
                hits.append((passage.title, text))
            if hits:
                read(pool, hits)
        return pool

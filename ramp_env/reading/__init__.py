"""Reading what an agent sees: candidate answers for the masks, mined from search results.

The shared core of the BM25 heuristic, reading and closed-book agents (``agents/``) and of
:class:`~ramp_env.wrappers.CandidateActionWrapper`. Everything here reads only what an agent
sees (the masked passage, the title and the text of search results), never the task's gold
answers:

* :mod:`ramp_env.reading.masks`: the words around each ``[mask_i]`` (:func:`mask_contexts`),
  search queries for a mask (:func:`build_query`, :data:`QUERY_TEMPLATES`) and the kind of
  span it likely hides (:func:`guess_mask_kind`);
* :mod:`ramp_env.reading.results`: the observation's ``results`` text back into (title, text)
  hits (:func:`parse_results`);
* :mod:`ramp_env.reading.candidates`: :class:`CandidatePool`, typed spans of the hits scored
  against each mask by a fitted logistic scorer (:data:`SCORER_WEIGHTS`).

Terms are compared after the same ``en_stem`` analysis the search index uses
(:func:`ramp_env.text.analysis.analyze`), without spaCy's English stop words
(:func:`ramp_env.text.stop_terms.stop_terms`). Actions are written with
:func:`ramp_env.actions.format_search` and :func:`ramp_env.actions.format_answer`.
"""

from __future__ import annotations

from ramp_env.reading.candidates import (
    N_CANDIDATE_FEATURES,
    SCORER_BIAS,
    SCORER_WEIGHTS,
    CandidatePool,
    CandidateScore,
)
from ramp_env.reading.masks import (
    KIND_OF,
    KINDS,
    MASK_PATTERN,
    NEAR_WORDS,
    QUERY_TEMPLATES,
    MaskContext,
    build_query,
    guess_mask_kind,
    kind_of,
    mask_contexts,
    proximity_weights,
)
from ramp_env.reading.results import parse_results

__all__ = [
    "KINDS",
    "KIND_OF",
    "MASK_PATTERN",
    "NEAR_WORDS",
    "N_CANDIDATE_FEATURES",
    "QUERY_TEMPLATES",
    "SCORER_BIAS",
    "SCORER_WEIGHTS",
    "CandidatePool",
    "CandidateScore",
    "MaskContext",
    "build_query",
    "guess_mask_kind",
    "kind_of",
    "mask_contexts",
    "parse_results",
    "proximity_weights",
]

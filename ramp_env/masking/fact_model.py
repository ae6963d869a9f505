"""The learned half of the ``"fact"`` evidence criterion: a logistic model over its signals.

Hand-set rules over the signals of :mod:`ramp_env.masking.fact_check` stopped at 0.75
precision and 0.22 recall on readers' labels (fact check version 1): each signal alone
separates a parallel frame from a true statement of the fact only weakly, and where the
rules drew their lines was guesswork. Here a logistic regression weighs them instead,
fitted on the 2806 two-reader labelled pairs of ``tests/masking/fixtures/evidence_labels_v2.jsonl``
to ``_v7`` by ``benchmarks/fact_model_fit.py``, which also picks :data:`THRESHOLD` from
cross-validated predictions (grouped by source passage) and writes everything below to
``benchmarks/results/fact_model.json``; a test checks that the two agree. The precision the
model reaches is measured on fresh sets labelled after the fit
(``tests/masking/fixtures/evidence_labels_v8.jsonl`` and ``_v9``, ``benchmarks/results/evidence_v9.json``).

Logistic regression rather than a tree ensemble or a small network: the weights are readable (a
user can see what counts for and against a passage), the model is a dot product that needs
nothing at run time, and its surface screen can spare most hopeless sentences the embeddings.
Gradient-boosted trees over the same signals were tried (``benchmarks/fact_model_families.py``,
``benchmarks/results/fact_model_families.json``): ahead when one training set at a time is left
out, level on the fresh set v9, and a screen fitted for them could spare almost no sentence,
so a first check would cost the embeddings of every candidate sentence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def _share(f: dict[str, Any]) -> float:
    return f["shared_context"] / max(1, f["context_size"])


# name -> how the feature is read from fact_check's feature dict (booleans count 1)
FEATURES: dict[str, Callable[[dict[str, Any]], float]] = {
    "subject_in_sentence": lambda f: f["subject_in_sentence"],
    "subject_in_previous_sentence": lambda f: f["subject_nearby"] and not f["subject_in_sentence"],
    "own_article": lambda f: f["own_article"],
    "subject_in_passage": lambda f: f["subject_in_passage"],
    "competing_subject": lambda f: bool(f["competing_subject"]),
    "pronoun_subject": lambda f: f["pronoun_subject"],
    "in_compound": lambda f: f["in_compound"],
    "other_date": lambda f: f["other_date"],
    "shared_year": lambda f: f["shared_year"],
    "in_list": lambda f: f["in_list"],
    "type_mismatch": lambda f: f["type_mismatch"],
    "same_governor": lambda f: f["same_governor"],
    "governor_in_context": lambda f: f["governor_in_context"],
    "context_share": _share,
    "context_words": lambda f: min(f["shared_context"], 6) / 6,
    "sentence_share": lambda f: f["shared_context"] / max(1, f["sentence_terms"]),
    "value_answer": lambda f: f["type_group"] == "value",
    "person_answer": lambda f: f["type_group"] == "person",
    "named_answer": lambda f: f["type_group"] == "named",
    "shared_names": lambda f: min(f["shared_names"], 3),
    "new_names": lambda f: min(f["new_names"], 4),
    "shared_neighbours": lambda f: f["shared_neighbours"],
    "title_in_source_sentence": lambda f: f["title_in_source_sentence"],
    "answer_sentences": lambda f: math.log1p(f["answer_sentences"]),
    "subject_in_source_sentence": lambda f: f["subject_in_source_sentence"],
    "both_listed": lambda f: f["both_listed"],
    "answer_is_subject": lambda f: f["answer_is_subject"],
    "competing_outsider": lambda f: bool(f["competing_subject"]) and not f["subject_in_source_sentence"],
    "subject_listed_with_answer": lambda f: f["subject_listed_with_answer"],
    "title_listed_with_answer": lambda f: f["title_listed_with_answer"],
    "cos_plain": lambda f: f["cos_plain"],
    "cos_titled": lambda f: f["cos_titled"],
    "cos_subject": lambda f: f["cos_subject"],
    "cos_context": lambda f: f["cos_context"],
    "about_source": lambda f: f["about_source"],
}

# -- fitted by benchmarks/fact_model_fit.py (copied from benchmarks/results/fact_model.json) ---
WEIGHTS: dict[str, float] = {
    "subject_in_sentence": 0.48584,
    "subject_in_previous_sentence": 0.405542,
    "own_article": 0.069331,
    "subject_in_passage": 0.763616,
    "competing_subject": 0.478583,
    "pronoun_subject": -0.328905,
    "in_compound": -0.622187,
    "other_date": -0.821322,
    "shared_year": 1.137934,
    "in_list": -0.951991,
    "type_mismatch": 0.144733,
    "same_governor": 0.299846,
    "governor_in_context": 0.266584,
    "context_share": 0.167244,
    "context_words": 0.040057,
    "sentence_share": -1.247612,
    "value_answer": 0.529041,
    "person_answer": 0.686145,
    "named_answer": -0.209489,
    "shared_names": 0.201641,
    "new_names": -0.233975,
    "shared_neighbours": 0.002911,
    "title_in_source_sentence": 0.686399,
    "answer_sentences": 0.666763,
    "subject_in_source_sentence": -0.404342,
    "both_listed": -0.332204,
    "answer_is_subject": 0.463903,
    "competing_outsider": -0.369332,
    "subject_listed_with_answer": -0.166253,
    "title_listed_with_answer": -1.005043,
    "cos_plain": 0.415712,
    "cos_titled": 3.579687,
    "cos_subject": -0.397711,
    "cos_context": 2.451931,
    "about_source": 0.197317,
}
INTERCEPT = -5.702562
THRESHOLD = 0.7441  # out-of-fold precision 0.861 at 32% recall (see the results file)


# -- the screen: a sentence's surface signals (no parse, no embeddings) decide whether the full
# model is worth computing. Fitted by the same script to pass every labelled sentence the full
# model gives SCREEN_FOR or more (below any threshold the docs recommend), with a margin.
SCREEN_FEATURES = ("subject_in_sentence", "subject_in_previous_sentence", "own_article", "subject_in_passage",
                   "title_in_source_sentence", "context_share", "context_words", "sentence_share", "shared_year",
                   "other_date", "in_compound", "value_answer", "person_answer", "named_answer",
                   "shared_neighbours", "answer_sentences")
SCREEN_FOR = 0.5  # "fact:T" with T below this is refused: the screen was not fitted for it
SCREEN_WEIGHTS: dict[str, float] = {
    "subject_in_sentence": 1.756777,
    "subject_in_previous_sentence": 0.793496,
    "own_article": 0.73888,
    "subject_in_passage": 2.006655,
    "title_in_source_sentence": 2.084967,
    "context_share": 2.673516,
    "context_words": 0.067612,
    "sentence_share": 3.937848,
    "shared_year": 3.197082,
    "other_date": -1.968717,
    "in_compound": -0.604246,
    "value_answer": 1.306058,
    "person_answer": 1.889056,
    "named_answer": -0.577731,
    "shared_neighbours": 0.173407,
    "answer_sentences": 2.094018,
}
SCREEN_INTERCEPT = -7.190059
SCREEN_CUTOFF = -3.533785


def passes_screen(f: dict[str, Any]) -> bool:
    """Whether the full model could accept a sentence with these surface signals."""
    z = SCREEN_INTERCEPT + sum(SCREEN_WEIGHTS[name] * float(FEATURES[name](f)) for name in SCREEN_FEATURES)
    return z >= SCREEN_CUTOFF


def vector(f: dict[str, Any]) -> list[float]:
    """The model's inputs for one evidence sentence, in :data:`FEATURES` order."""
    return [float(read(f)) for read in FEATURES.values()]


def probability(f: dict[str, Any]) -> float:
    """The model's probability that the sentence states the masked fact."""
    # .get: a feature added since the last fit counts nothing until the refit (the fit script
    # computes features through this module); tests/masking/test_fact_model.py keeps the two equal
    z = INTERCEPT + sum(WEIGHTS.get(name, 0.0) * x for name, x in zip(FEATURES, vector(f), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

"""The learned half of the ``"fact"`` evidence criterion: a logistic model over its signals.

Hand-set rules over the signals of :mod:`ramp_env.masking.fact_check` stopped at 0.75
precision and 0.22 recall on readers' labels (fact check version 1): each signal alone
separates a parallel frame from a true statement of the fact only weakly, and where the
rules drew their lines was guesswork. Here a logistic regression weighs them instead,
fitted on the 399 two-reader labelled pairs of ``tests/masking/fixtures/evidence_labels_v2.jsonl``
by ``benchmarks/fact_model_fit.py``, which also picks :data:`THRESHOLD` from
cross-validated predictions (grouped by source passage) and writes everything below to
``benchmarks/results/fact_model.json``; a test checks that the two agree. The precision the
model reaches is measured once, on a fresh set labelled after the fit
(``tests/masking/fixtures/evidence_labels_v3.jsonl``, ``benchmarks/results/evidence_v3.json``).

Logistic regression rather than a tree ensemble or a small network: 399 pairs support few
parameters, the weights are readable (a user can see what counts for and against a passage),
and the model is a dot product that needs nothing at run time.
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
    "subject_in_sentence": 0.504116,
    "subject_in_previous_sentence": 0.273574,
    "own_article": -0.03579,
    "subject_in_passage": 0.766338,
    "competing_subject": 0.0811,
    "pronoun_subject": -0.306254,
    "in_compound": -0.288242,
    "other_date": -0.461548,
    "shared_year": 0.968645,
    "in_list": -0.317093,
    "type_mismatch": -0.067136,
    "same_governor": 0.051537,
    "governor_in_context": 0.2452,
    "context_share": 0.399324,
    "context_words": 0.053731,
    "sentence_share": 0.163977,
    "value_answer": -0.183886,
    "person_answer": 0.300605,
    "named_answer": -0.344137,
    "shared_names": 0.043726,
    "new_names": -0.165251,
    "shared_neighbours": 0.071713,
    "title_in_source_sentence": 0.705909,
    "answer_sentences": 0.664105,
    "subject_in_source_sentence": -0.441295,
    "both_listed": -0.53033,
    "answer_is_subject": 0.357573,
    "competing_outsider": -0.040503,
    "subject_listed_with_answer": -0.645233,
    "title_listed_with_answer": -0.503032,
    "cos_plain": 1.143508,
    "cos_titled": 1.281449,
    "cos_subject": 0.787579,
    "cos_context": 1.631914,
    "about_source": 0.480609,
}
INTERCEPT = -5.041498
THRESHOLD = 0.6493  # out-of-fold precision 0.857 at 35% recall (see the results file)


# -- the screen: a sentence's surface signals (no parse, no embeddings) decide whether the full
# model is worth computing. Fitted by the same script to pass every labelled sentence the full
# model gives SCREEN_FOR or more (below any threshold the docs recommend), with a margin.
SCREEN_FEATURES = ("subject_in_sentence", "subject_in_previous_sentence", "own_article", "subject_in_passage",
                   "title_in_source_sentence", "context_share", "context_words", "sentence_share", "shared_year",
                   "other_date", "in_compound", "value_answer", "person_answer", "named_answer",
                   "shared_neighbours", "answer_sentences")
SCREEN_FOR = 0.5  # "fact:T" with T below this is refused: the screen was not fitted for it
SCREEN_WEIGHTS: dict[str, float] = {
    "subject_in_sentence": 1.663828,
    "subject_in_previous_sentence": 0.762107,
    "own_article": -0.217523,
    "subject_in_passage": 2.355971,
    "title_in_source_sentence": 2.350935,
    "context_share": 2.756007,
    "context_words": 1.271129,
    "sentence_share": 2.371002,
    "shared_year": 2.64819,
    "other_date": -1.186233,
    "in_compound": -0.384489,
    "value_answer": 0.221085,
    "person_answer": 0.852145,
    "named_answer": -0.521598,
    "shared_neighbours": 0.301624,
    "answer_sentences": 2.126656,
}
SCREEN_INTERCEPT = -7.682569
SCREEN_CUTOFF = -3.361026


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

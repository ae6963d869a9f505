"""Per-mask scores in [0, 1] comparing one prediction with one gold span."""

from __future__ import annotations

from collections import Counter

from ramp_env.text.normalize import answer_tokens, normalize_answer


def token_recall(prediction: str, gold: str) -> float:
    """Share of gold tokens (with multiplicity) found in the prediction: MaskSearch's default reward."""
    gold_toks = answer_tokens(gold)
    if not gold_toks:
        return float(not answer_tokens(prediction))
    common = Counter(gold_toks) & Counter(answer_tokens(prediction))
    return sum(common.values()) / len(gold_toks)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1."""
    pred_toks, gold_toks = answer_tokens(prediction), answer_tokens(gold)
    if not pred_toks or not gold_toks:
        return float(pred_toks == gold_toks)
    common = sum((Counter(pred_toks) & Counter(gold_toks)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_toks), common / len(gold_toks)
    return 2 * precision * recall / (precision + recall)

"""Exercise 2, a solution: SQuAD token F1 (precision punishes every extra token)."""

from __future__ import annotations

from collections import Counter

from ramp_env.rewards import normalize_answer


def mask_reward(prediction: str, gold: str) -> float:
    predicted = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = sum((Counter(predicted) & Counter(gold_tokens)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)

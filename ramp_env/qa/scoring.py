"""Scoring a final answer against a question's gold answers.

Multi-hop QA benchmarks accept any of several aliases, so every metric takes the
best score over ``example.answers`` (as the HotpotQA and MuSiQue scripts do).
``parts`` is FanoutQA's loose accuracy: the share of the answer's atomic strings
(list items, table keys and values) that occur as whole words in the prediction.
"""

from __future__ import annotations

import re

from ramp_env.qa.example import QAExample
from ramp_env.rewards import EpisodeReward, exact_match, normalize_answer, token_f1, token_recall


def best_over_aliases(reward: EpisodeReward, prediction: str | None, example: QAExample) -> float:
    """``reward`` of ``prediction`` against the best-matching gold alias."""
    return max(reward([prediction], [gold]).reward for gold in example.answers)


def parts_found(prediction: str, parts: tuple[str, ...]) -> float:
    """Share of ``parts`` present in ``prediction`` as whole words after normalisation."""
    if not parts:
        return 0.0
    text = f" {normalize_answer(prediction)} "
    found = 0
    for part in parts:
        norm = normalize_answer(part)
        if norm and re.search(rf"(?<!\w){re.escape(norm)}(?!\w)", text):
            found += 1
    return found / len(parts)


def answer_metrics(prediction: str | None, example: QAExample) -> dict[str, float]:
    """``em``, ``f1`` and ``recall`` (best over aliases), plus ``parts`` when the answer has parts."""
    pred = prediction or ""
    metrics = {
        name: max(fn(pred, gold) for gold in example.answers) if prediction is not None else 0.0
        for name, fn in (("em", exact_match), ("f1", token_f1), ("recall", token_recall))
    }
    if example.answer_parts:
        metrics["parts"] = parts_found(pred, example.answer_parts)
    return metrics

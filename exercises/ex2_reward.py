"""Exercise 2: a reward an agent cannot hack by enumerating.

RAMP's paper reward is token recall: the share of the gold answer's tokens found
in the prediction. It is easy to hack: answer every mask with a list of every
name you read, or with a whole passage, and recall is 1. An RL agent finds
this in a few thousand steps (the tutorial shows it happening).

Write ``mask_reward(prediction, gold) -> float`` in [0, 1] that

* gives 1.0 to a correct answer (after normalisation: case, punctuation, articles),
* gives partial credit (at least 0.4) to a prediction with part of a multi-word
  gold ("Obama" for "Barack Obama") and nothing else,
* gives at most 0.35 to a list of 5 or more candidates that includes the gold,
  and at most 0.1 to a long text (30+ words) that contains it,
* makes an enumerating agent score below an honest one on RAMP-Lite-v0.

    pytest exercises/test_ex2_reward.py

The starter is plain token recall, so it fails the hacking checks.
``ramp_env.rewards.normalize_answer`` normalises text the way every built-in
reward does.
"""

from __future__ import annotations

from ramp_env.rewards import normalize_answer


def mask_reward(prediction: str, gold: str) -> float:
    """Score one mask's prediction against its gold answer, in [0, 1]."""
    gold_tokens = normalize_answer(gold).split()
    predicted = set(normalize_answer(prediction).split())
    if not gold_tokens:
        return 0.0
    return sum(token in predicted for token in gold_tokens) / len(gold_tokens)

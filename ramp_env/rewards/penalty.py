"""The anti-hacking penalty: long answers and enumerations of candidates cost reward.

MaskSearch (arXiv 2505.20285) reports that token recall alone is hacked during
RL: recall only counts gold tokens found in the prediction, so answers grow
longer and list candidates ("Malia, Sasha, and possibly others"). The penalty
here removes both incentives and leaves ordinary answers alone.

**Length.** With ``g`` gold tokens and ``p`` predicted tokens (after
:func:`~ramp_env.text.normalize.normalize_answer`), the prediction may use
``allowed = g + max(slack_tokens, g)`` tokens for free, i.e. at least 3 extra
tokens and at least twice the gold length. A title, a first name, a unit or a
qualifier ("President", "km", "about") fits in that slack; a pasted sentence
does not. Past the allowance the penalty grows linearly and reaches 1 at twice
the allowance::

    length = min(1, max(0, p - allowed) / allowed)

A 200-token dump therefore always scores 0, whatever it contains.

**Enumeration.** The prediction is split into alternatives at commas and
semicolons followed by a space, slashes, ``|``, and the words ``or``,
``and``, ``and/or``, ``possibly``, ``perhaps``, ``maybe``, ``probably``,
``either``, ``versus``/``vs``, ``etc``. An alternative counts as a *candidate*
when it holds a token that is not in the gold span; alternatives made only of
gold tokens are the gold answer written with punctuation ("July 4, 1776" for
"4 July 1776", "Romeo and Juliet") and never count. With ``m = 1 + extra
candidates``::

    enumeration = 1 - 1 / m

Listing ``m`` candidates is thereby worth at most ``1/m``, the expected score
of naming one of them at random: enumerating never beats guessing. Two
candidates keep half the credit, five keep a fifth.

**Total.** ``penalty = min(1, length + enumeration)`` and a penalised score is
``max(0, score - penalty)``, so it stays in [0, 1]. Both parts are 0 for a
prediction with at most ``allowed`` tokens and no extra candidate, so an exact
or slightly longer correct answer is never penalised.

**Acronym expansions.** When the gold is an acronym of three or more letters and the
prediction spells it out (``is_acronym_of``: every content word gives the next
letters, in order, at most four words per letter), the prediction is the gold
written in full, not a long answer or a list: "National Aeronautics and Space
Administration" for "NASA", "lesbian, gay, bisexual and transgender" for "LGBT"
get no penalty (``credit_expansions``). The price: a list whose initials spell the
gold ("Uruguay, Spain, Argentina" for "USA") is read as an expansion too; writing
one needs the gold's letters, so it never earns more than answering the gold.

Known limit: a few wrong tokens added without a separator ("Malia Sasha") stay
within the slack and are not penalised; the slack bounds what that can gain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ramp_env.errors import InvalidOptionError
from ramp_env.rewards.equivalence import acronym_letters, is_acronym_of
from ramp_env.rewards.metrics import token_recall
from ramp_env.text.normalize import answer_tokens

# what separates the alternatives of a listed answer (the module docs); also read by
# ramp_env.rewards.aliases, which rewrites one alternative and rebuilds the list around it
ALTERNATIVE_SEPARATOR = r"[,;]\s|[/|]|\b(?:and/or|and|or|either|possibly|perhaps|maybe|probably|versus|vs|etc)\b"
_SEPARATORS = re.compile(ALTERNATIVE_SEPARATOR, re.IGNORECASE)


def split_alternatives(prediction: str) -> list[str]:
    """The alternatives a prediction lists, normalised; empty pieces are dropped."""
    parts = (" ".join(answer_tokens(piece)) for piece in _SEPARATORS.split(prediction))
    return [part for part in parts if part]


@dataclass(frozen=True)
class PenaltyParts:
    """The two parts of the penalty for one prediction, and their capped sum."""

    length: float
    enumeration: float

    @property
    def total(self) -> float:
        return min(1.0, self.length + self.enumeration)


@dataclass(frozen=True)
class HackPenalty:
    """Length and enumeration penalty (see the module docs for the formula and the reasons).

    Args:
        slack_tokens: extra tokens a prediction may always use for free (3).
        length_rate: penalty per allowance of excess length; 1 reaches the full
            penalty at twice the allowance. 0 disables the length part.
        enumeration: whether listing several candidates is penalised.
        credit_expansions: no penalty for spelling out a gold acronym of 3+ letters.
    """

    slack_tokens: int = 3
    length_rate: float = 1.0
    enumeration: bool = True
    credit_expansions: bool = True

    def __post_init__(self) -> None:
        if self.slack_tokens < 0 or self.length_rate < 0:
            raise InvalidOptionError("slack_tokens and length_rate must be >= 0")

    def allowed_tokens(self, gold: str) -> int:
        g = len(answer_tokens(gold))
        return g + max(self.slack_tokens, g)

    def parts(self, prediction: str, gold: str) -> PenaltyParts:
        if self.credit_expansions and acronym_letters(gold) >= 3 and is_acronym_of(gold, prediction):
            return PenaltyParts(0.0, 0.0)
        allowed = max(1, self.allowed_tokens(gold))
        excess = max(0, len(answer_tokens(prediction)) - allowed)
        length = min(1.0, self.length_rate * excess / allowed)
        enumeration = 0.0
        if self.enumeration:
            gold_vocab = set(answer_tokens(gold))
            alternatives = split_alternatives(prediction)
            candidates = sum(1 for alt in alternatives if not set(alt.split()) <= gold_vocab)
            # alternatives made of gold tokens only are (part of) the gold answer: one more option
            options = candidates + (candidates < len(alternatives))
            enumeration = 1.0 - 1.0 / max(1, options)
        return PenaltyParts(length, enumeration)

    def __call__(self, prediction: str, gold: str) -> float:
        """The total penalty in [0, 1]."""
        return self.parts(prediction, gold).total


DEFAULT_PENALTY = HackPenalty()


def penalized_recall(prediction: str, gold: str) -> float:
    """Token recall minus the default :class:`HackPenalty`, floored at 0."""
    return max(0.0, token_recall(prediction, gold) - DEFAULT_PENALTY(prediction, gold))

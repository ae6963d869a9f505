"""Is a question's evidence in the corpus? Matching supporting titles to corpus titles.

A question can only be answered from a corpus that holds its evidence. QA
datasets name the Wikipedia article behind each hop; a hop is *covered* when an
article of that title is in the corpus. Titles match after Unicode NFKC, case
folding and ``_`` to space, so ``J._D._Drew`` and ``J. D. Drew`` meet. Coverage
by title is necessary, not sufficient: a corpus of lead sections may hold the
article but not the paragraph with the fact.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ramp_env.corpus.store import PassageStore
from ramp_env.errors import InvalidOptionError
from ramp_env.qa.example import QAExample

EvidenceRequirement = Literal["none", "any", "all"]
EVIDENCE_REQUIREMENTS = ("none", "any", "all")


def normalize_title(title: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", title).replace("_", " ").casefold().split())


def corpus_titles(store: PassageStore) -> frozenset[str]:
    """Normalised titles of every passage of a store (one pass over it)."""
    return frozenset(normalize_title(p.title) for p in store if p.title)


def covered_fraction(example: QAExample, titles: frozenset[str]) -> float | None:
    """Share of the example's supporting titles found in ``titles`` (``None`` if it names none)."""
    if not example.supporting_titles:
        return None
    hits = sum(normalize_title(t) in titles for t in example.supporting_titles)
    return hits / len(example.supporting_titles)


def meets(example: QAExample, titles: frozenset[str], require: EvidenceRequirement) -> bool:
    """Whether the example's evidence is in the corpus to the degree ``require`` asks."""
    if require == "none":
        return True
    fraction = covered_fraction(example, titles)
    if fraction is None:
        return False
    return fraction > 0 if require == "any" else fraction == 1.0


@dataclass(frozen=True)
class CoverageReport:
    """How much of a dataset's evidence a corpus holds."""

    questions: int
    with_titles: int  # questions that name any supporting title
    all_covered: int  # every supporting title is in the corpus
    any_covered: int  # at least one is
    mean_fraction: float  # mean share of covered titles over questions with titles
    titles: int  # distinct supporting titles
    titles_covered: int

    def to_json(self) -> dict[str, float | int]:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (
            f"{self.all_covered}/{self.questions} questions have all their evidence in the corpus, "
            f"{self.any_covered} some of it (mean share {self.mean_fraction:.3f}); "
            f"{self.titles_covered}/{self.titles} distinct evidence titles are in the corpus"
        )


def evidence_coverage(examples: Sequence[QAExample], titles: frozenset[str]) -> CoverageReport:
    fractions = [f for f in (covered_fraction(e, titles) for e in examples) if f is not None]
    distinct = {normalize_title(t) for e in examples for t in e.supporting_titles}
    return CoverageReport(
        questions=len(examples),
        with_titles=len(fractions),
        all_covered=sum(f == 1.0 for f in fractions),
        any_covered=sum(f > 0 for f in fractions),
        mean_fraction=sum(fractions) / len(fractions) if fractions else 0.0,
        titles=len(distinct),
        titles_covered=len(distinct & titles),
    )


def filter_by_evidence(
    examples: Iterable[QAExample], titles: frozenset[str], require: EvidenceRequirement
) -> list[QAExample]:
    if require not in EVIDENCE_REQUIREMENTS:
        raise InvalidOptionError(f"require_evidence must be one of {EVIDENCE_REQUIREMENTS}, got {require!r}")
    return [e for e in examples if meets(e, titles, require)]

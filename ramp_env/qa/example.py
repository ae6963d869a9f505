"""One multi-hop question in a dataset-independent form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QAExample:
    """A question, its acceptable answers, and the Wikipedia titles of its evidence.

    * ``answers``: every acceptable answer string (the gold answer first, then
      aliases); a prediction is scored against the best-matching one.
    * ``supporting_titles``: titles of the articles the annotators used, in the
      dataset's order without repeats (empty when the dataset has none, e.g. Bamboogle).
    * ``answer_parts``: for list- or table-valued answers (FanoutQA), the atomic
      strings a complete answer names; ``answers[0]`` is then their rendering as text.
    * ``dataset``: the loader that produced it (``"hotpotqa"``, ``"musique"``, ...).
    """

    id: str
    question: str
    answers: tuple[str, ...]
    supporting_titles: tuple[str, ...] = ()
    dataset: str = ""
    answer_parts: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.question.strip():
            raise ValueError(f"question {self.id!r} is empty")
        if not self.answers or not any(a.strip() for a in self.answers):
            raise ValueError(f"question {self.id!r} has no gold answer")

    @property
    def answer(self) -> str:
        """The main gold answer."""
        return self.answers[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "supporting_titles": list(self.supporting_titles),
            "dataset": self.dataset,
            "answer_parts": list(self.answer_parts),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> QAExample:
        return cls(
            id=str(obj["id"]),
            question=str(obj["question"]),
            answers=tuple(str(a) for a in obj["answers"]),
            supporting_titles=tuple(str(t) for t in obj.get("supporting_titles", ())),
            dataset=str(obj.get("dataset", "")),
            answer_parts=tuple(str(p) for p in obj.get("answer_parts", ())),
        )

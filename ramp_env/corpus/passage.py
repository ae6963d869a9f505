"""The unit of retrieval: one passage of a corpus."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage: a stable ``id``, the ``title`` of its article and its ``text``."""

    id: str
    title: str
    text: str

    @property
    def contents(self) -> str:
        """Title and text joined the way pyserini's ``contents`` field is."""
        return f"{self.title}\n{self.text}" if self.title else self.text

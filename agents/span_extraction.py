"""Salient spans chosen by a language model, as in MaskSearch (``span_extractor="llm"``).

MaskSearch has an LLM pick the spans worth masking: named entities, dates,
numbers *and* ontological/concept terms ("photosynthesis", "constitutional
monarchy") that the surrounding context cannot give away. spaCy NER finds no
concepts; this extractor asks any chat backend the synthesis pipeline accepts
(:func:`agents.synthesis.backends.make_backend`: the offline SmolLM2, a local
model folder, an OpenAI-compatible endpoint ``"http://host/v1|model"``, or a
:class:`~agents.synthesis.backends.ScriptedBackend`) for a JSON list of spans.

**Validation.** A model's answer is never trusted as offsets. Every proposed
span must occur verbatim in the passage as whole words (case-sensitive first;
otherwise case-insensitive, and the passage's own text is then used); its position is the first occurrence that does not overlap a span
already kept; anything not found (a hallucination or a paraphrase), too short,
or of an unknown type is dropped and counted in :attr:`LLMSpanExtractor.stats`.
Offsets are therefore always exact and ``text[start:end]`` is the passage's own
text.

**Cost and caching.** One generation per passage. The extractor implements the
:class:`ramp_env.text.spans.SpanExtractor` protocol, so a prepared corpus
caches its spans on disk under :attr:`cache_key` (which names the backend, the
prompt and validation versions and a hash of every other setting) like spaCy's, and lazy preparation (``task_pool``) calls it
only for the passages an env draws.

ramp_env finds this class through the ``ramp_env.span_extractors`` entry-point
group (it never imports ``agents``): ``span_extractor="llm"`` uses the offline
SmolLM2, ``span_extractor="llm:http://127.0.0.1:8080/v1|qwen"`` an endpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.synthesis.backends import LLMBackend, make_backend
from ramp_env.text.spans import SPACY_LABELS, SalientSpan, SpanType

PROMPT_VERSION = 1
VALIDATION_VERSION = 2  # 2: spans inside words are rejected

SYSTEM_PROMPT = (
    "You select salient spans of a Wikipedia passage for a fill-in-the-blank search task. "
    "A salient span is a named entity (person, organisation, place), a date, a number or quantity, "
    "or a concept term (a technical or ontological term such as a field, theory, process or category). "
    "Pick spans that a reader could NOT guess from the rest of the passage. Copy each span exactly as "
    'written in the passage. Answer with JSON only: a list of objects {"text": ..., "type": ...} where '
    "type is one of PERSON, ORG, PLACE, DATE, NUMBER, NORP, EVENT, WORK, CONCEPT."
)

# model labels -> span types: the paper's types, spaCy's labels (ramp_env's own mapping, which models
# like to use too) and a few more spellings
TYPE_NAMES: dict[str, SpanType] = {
    **SPACY_LABELS,
    **{t.value: t for t in SpanType},
    "ORGANIZATION": SpanType.ORG,
    "ORGANISATION": SpanType.ORG,
    "LOCATION": SpanType.PLACE,
    "ENTITY": SpanType.NAME,
    "TERM": SpanType.CONCEPT,
    "ONTOLOGY": SpanType.CONCEPT,
}

_JSON_LIST = re.compile(r"\[.*\]", re.DOTALL)
_LINE_SPAN = re.compile(r"^\s*(?:[-*\d.)]+\s*)?([A-Za-z_]+)\s*[:|-]\s*(.+?)\s*$")
MAX_SPAN_CHARS = 80


@dataclass
class ExtractionStats:
    """What the validation kept and dropped, summed over all passages seen."""

    passages: int = 0
    proposed: int = 0
    kept: int = 0
    not_in_passage: int = 0
    unknown_type: int = 0
    overlapping_or_short: int = 0
    unparsable_replies: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def parse_reply(reply: str) -> list[tuple[str, str]] | None:
    """``(text, type)`` pairs from a model reply: a JSON list of objects (or of
    ``[text, type]`` pairs), else ``TYPE: text`` lines. ``None`` if nothing parses."""
    match = _JSON_LIST.search(reply)
    if match:
        try:
            items = json.loads(match.group(0))
        except (json.JSONDecodeError, RecursionError):
            items = None
        if isinstance(items, list):
            pairs = []
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("text"), str):
                    pairs.append((item["text"], str(item.get("type", ""))))
                elif isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, str) for x in item):
                    pairs.append((item[0], item[1]))
            return pairs
    pairs = [(m.group(2), m.group(1)) for m in map(_LINE_SPAN.match, reply.splitlines()) if m]
    return pairs or None


def locate(text: str, surface: str, taken: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    """Offsets of ``surface`` in ``text`` on word boundaries: an exact occurrence first, else a
    case-insensitive one; the first that overlaps nothing in ``taken``."""
    surface = surface.strip().strip("\"'")
    if not surface:
        return None
    # whole words only, in both passes: "Ant" is not a span of "Antarctica"
    pattern = r"(?<!\w)" + re.escape(surface) + r"(?!\w)"
    for flags in (0, re.IGNORECASE):
        for m in re.finditer(pattern, text, flags):
            if all(m.end() <= a or m.start() >= b for a, b in taken):
                return m.start(), m.end()
    return None


class LLMSpanExtractor:
    """Salient spans proposed by an LLM and validated against the passage (see module docs).

    Args:
        backend: anything :func:`~agents.synthesis.backends.make_backend` accepts: ``None``
            (the offline SmolLM2-135M-Instruct), a model path or hub id, ``"URL|MODEL"`` for an
            OpenAI-compatible server, or an :class:`~agents.synthesis.backends.LLMBackend`.
        max_new_tokens: generation budget per passage.
        max_passage_chars: longer passages are cut before prompting (spans are still
            located in the whole passage).
        batch_size: passages per backend call.
        backend_kwargs: passed to ``make_backend`` (``device``, ``temperature`` ...).
    """

    def __init__(
        self,
        backend: str | LLMBackend | None = None,
        max_new_tokens: int = 256,
        max_passage_chars: int = 3000,
        batch_size: int = 4,
        **backend_kwargs: Any,
    ) -> None:
        self._backend_spec = backend
        self._backend_kwargs = backend_kwargs
        self._backend: LLMBackend | None = backend if isinstance(backend, LLMBackend) else None
        self.max_new_tokens = max_new_tokens
        self.max_passage_chars = max_passage_chars
        self.batch_size = max(1, int(batch_size))
        self.stats = ExtractionStats()
        # names the cached span table: backend, prompt and validation version
        backend_name = self._backend.name if self._backend else str(backend or "smollm2")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", backend_name)[-60:]
        # every setting that changes which spans come out is in the key, hashed to keep file names short
        settings = json.dumps(
            [max_new_tokens, max_passage_chars, sorted((k, repr(v)) for k, v in backend_kwargs.items())]
        )
        digest = hashlib.sha256(settings.encode()).hexdigest()[:10]
        self.cache_key = f"llm-{safe}-p{PROMPT_VERSION}v{VALIDATION_VERSION}-{digest}"

    @classmethod
    def from_spec(cls, spec: str = "", **kwargs: Any) -> LLMSpanExtractor:
        """``span_extractor="llm"`` or ``"llm:<backend spec>"``: what ``ramp_env`` calls."""
        return cls(backend=spec or None, **kwargs)

    @property
    def backend(self) -> LLMBackend:
        if self._backend is None:  # loaded on first use: a cached span table needs no model
            self._backend = make_backend(self._backend_spec, **self._backend_kwargs)
        return self._backend

    def messages(self, text: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": "Passage:\n" + text[: self.max_passage_chars] + "\n\nJSON:"},
        ]

    def validate(self, text: str, reply: str) -> list[SalientSpan]:
        """The spans of ``reply`` that occur in ``text``, with exact offsets."""
        self.stats.passages += 1
        pairs = parse_reply(reply)
        if pairs is None:
            self.stats.unparsable_replies += 1
            return []
        kept: list[SalientSpan] = []
        for surface, type_name in pairs:
            self.stats.proposed += 1
            label = TYPE_NAMES.get(type_name.strip().upper().replace(" ", "_"))
            if label is None:
                self.stats.unknown_type += 1
                continue
            if not 2 <= len(surface.strip()) <= MAX_SPAN_CHARS:
                self.stats.overlapping_or_short += 1
                continue
            where = locate(text, surface, [(s.start, s.end) for s in kept])
            if where is None:
                # not in the passage, or every occurrence overlaps a kept span
                if locate(text, surface, []) is None:
                    self.stats.not_in_passage += 1
                else:
                    self.stats.overlapping_or_short += 1
                continue
            kept.append(SalientSpan(where[0], where[1], label))
            self.stats.kept += 1
            self.stats.by_type[label.value] = self.stats.by_type.get(label.value, 0) + 1
        return sorted(kept, key=lambda s: s.start)

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) == self.batch_size:
                yield from self._run(batch)
                batch = []
        if batch:
            yield from self._run(batch)

    def _run(self, texts: list[str]) -> Iterator[list[SalientSpan]]:
        replies = self.backend.complete([self.messages(t) for t in texts], max_new_tokens=self.max_new_tokens)
        for text, reply in zip(texts, replies, strict=True):
            yield self.validate(text, reply)

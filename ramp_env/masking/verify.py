"""The audit surface of the evidence criterion: why a mask counts as answerable.

:func:`verify_evidence` answers "does passage E state the fact masked at ``span`` of passage
P?" with every rule the environment applies: E is not P, not a near copy of P
(:mod:`~ramp_env.masking.near_duplicates`), and passes the fact check
(:mod:`~ramp_env.masking.fact_check`). :func:`ranked_evidence` lists the engine's
candidates for a span with a verdict each, as the environment ranks them
(``ramp-env evidence PASSAGE_ID START:END`` prints it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ramp_env.corpus.passage import Passage
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.evidence import (
    CANDIDATES,
    DEFAULT_CRITERION,
    CheckedFact,
    Fact,
    candidate_query,
    make_fact,
    search_candidates,
)
from ramp_env.masking.fact_check import FactVerdict
from ramp_env.masking.near_duplicates import CopyCheck, NearDuplicateFinder
from ramp_env.text.spans import SalientSpan, SpanType, make_span_extractor

if TYPE_CHECKING:  # pragma: no cover
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.retrieval.base import Retriever


@dataclass(frozen=True)
class EvidenceVerdict:
    """Whether one passage is evidence for one mask, and why.

    ``supported``: it is. ``path``: how it was accepted (``"own-article"``, ``"subject-named"``)
    or the rule that rejected it (``"source"``, ``"near-copy"``, or a fact-check rule such as
    ``"no-subject"``, ``"competing-subject"``, ``"weak-relation"``). ``sentences``: the evidence
    sentence(s) relied on. ``details``: the signals measured. ``answer`` and ``span_type``: the
    masked text and the type the check used.
    """

    passage_id: str
    evidence_id: str
    answer: str
    span_type: str
    supported: bool
    path: str
    sentences: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _passage(corpus: PreparedCorpus, passage_id: str, what: str) -> Passage:
    row = corpus.store.rowid_of(str(passage_id))
    if row is None:
        raise InvalidOptionError(f"{what} {passage_id!r} is not in the corpus")
    return corpus.store.get(row)


def resolve_span(corpus: PreparedCorpus, source: Passage, span: tuple[int, int]) -> SalientSpan:
    """``span`` as a :class:`SalientSpan` of ``source``: checked against its text, typed as the
    env's default extractor types it (``NAME``, no type checks, when it is not one of its spans)."""
    try:
        start, end = (int(span[0]), int(span[1]))
    except (TypeError, ValueError, IndexError):
        raise InvalidOptionError(f"span must be (start, end) character offsets, got {span!r}") from None
    if not 0 <= start < end <= len(source.text):
        raise InvalidOptionError(
            f"span {start}:{end} is outside passage {source.id!r} ({len(source.text)} characters)"
        )
    if not source.text[start:end].strip():
        raise InvalidOptionError(f"span {start}:{end} of passage {source.id!r} holds no text")
    # the passage's own spans by the env's default extractor, extracted for this one passage:
    # the corpus-wide span table could cost hours on a large corpus just to type one span
    extractor = corpus.bind_extractor(make_span_extractor("auto"))
    label = next((k.label for k in next(iter(extractor.extract_batch([source.text]))) if (k.start, k.end) == (start, end)),
                 SpanType.NAME)
    return SalientSpan(start, end, label)


def _verdict(
    source: Passage, span: SalientSpan, evidence: Passage, fact: Fact | CheckedFact, copy: bool
) -> EvidenceVerdict:
    answer = source.text[span.start : span.end]
    if evidence.id == source.id:
        checked = FactVerdict(False, "source")
    elif copy:
        checked = FactVerdict(False, "near-copy")
    else:
        checked = fact.verdict(evidence)
    return EvidenceVerdict(
        source.id, evidence.id, answer, span.label.value, checked.supported, checked.path, checked.sentences,
        dict(checked.details),
    )


def verify_evidence(
    corpus: PreparedCorpus,
    passage_id: str,
    span: tuple[int, int],
    evidence_id: str,
    criterion: str = DEFAULT_CRITERION,
) -> EvidenceVerdict:
    """Whether passage ``evidence_id`` states the fact masked at ``span`` (``(start, end)`` in
    the text of passage ``passage_id``), applying every rule the environment applies.

    ``corpus`` is ``env.unwrapped.corpus`` (a :class:`~ramp_env.corpus.prepared.PreparedCorpus`);
    ``criterion`` the env's ``evidence_criterion`` (``"context"`` by default, or ``"fact"``).
    """
    source = _passage(corpus, passage_id, "passage_id")
    evidence = _passage(corpus, evidence_id, "evidence_id")
    salient = resolve_span(corpus, source, span)
    copy = CopyCheck(source.text).is_copy(f"{evidence.title}\n{evidence.text}")
    return _verdict(source, salient, evidence, make_fact(source, salient, criterion), copy)


def ranked_evidence(
    corpus: PreparedCorpus,
    passage_id: str,
    span: tuple[int, int],
    retriever: Retriever | None = None,
    candidates: int = CANDIDATES,
    criterion: str = DEFAULT_CRITERION,
) -> list[EvidenceVerdict]:
    """The engine's candidates for the mask, best ranked first, each with its verdict: the
    environment's evidence are the supported ones, in this order."""
    source = _passage(corpus, passage_id, "passage_id")
    salient = resolve_span(corpus, source, span)
    make_fact(source, salient, criterion)  # a bad criterion fails before any search
    retriever = retriever if retriever is not None else corpus.retriever("tantivy")
    copies = NearDuplicateFinder(retriever).ids(source.id, source.text)
    required, ranking = candidate_query(source, salient)
    hits = search_candidates(retriever, required, ranking, candidates, exclude_ids=())
    fact = make_fact(source, salient, criterion)
    check = CopyCheck(source.text)
    verdicts = []
    for hit in hits:
        evidence = Passage(hit.passage_id, hit.title, hit.text)
        copy = hit.passage_id in copies or check.is_copy(f"{hit.title}\n{hit.text}")
        verdicts.append(_verdict(source, salient, evidence, fact, copy))
    return verdicts


__all__ = ["EvidenceVerdict", "ranked_evidence", "resolve_span", "verify_evidence"]

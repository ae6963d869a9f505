"""The audit surface of the evidence criterion: why a mask counts as answerable.

:func:`verify_evidence` answers "does passage E state the fact masked at ``span`` of passage
P?" with every rule the environment applies: E is not P, not a near copy of P
(:mod:`~ramp_env.masking.near_duplicates`), and passes the fact check
(:mod:`~ramp_env.masking.fact_check`). :func:`ranked_evidence` lists the engine's
candidates for a span with a verdict each, as the environment ranks them
(``ramp-env evidence PASSAGE_ID START:END`` prints it).

With ``verifier=`` (an :class:`~ramp_env.masking.evidence.EvidenceVerifier` or ``"llm:URL|MODEL"``,
as the env's ``evidence_verifier``) each verdict also carries the verifier's (``llm``) and a pair
is supported only when both accept it; one the criterion accepts and the verifier rejects has
path ``"verifier-rejected"`` (the criterion's path stays in ``details["criterion_path"]``).
:func:`verify_evidence` asks the verifier about every pair that is not the source or a copy, so
the audit shows its opinion even where the criterion said no; :func:`ranked_evidence` asks only
about the candidates the criterion accepted, as the environment does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ramp_env.corpus.passage import Passage
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.evidence import (
    CANDIDATES,
    DEFAULT_CRITERION,
    CheckedFact,
    EvidenceVerifier,
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
    llm: dict[str, Any] | None = None  # the verifier's verdict, when one was asked

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


def _criterion_verdict(evidence: Passage, source: Passage, fact: Fact | CheckedFact, copy: bool) -> FactVerdict:
    if evidence.id == source.id:
        return FactVerdict(False, "source")
    if copy:
        return FactVerdict(False, "near-copy")
    return fact.verdict(evidence)


def _verdict(
    source: Passage, span: SalientSpan, evidence: Passage, checked: FactVerdict, llm: dict[str, Any] | None = None
) -> EvidenceVerdict:
    """The criterion's ``checked`` verdict, gated by the verifier's ``llm`` one when given."""
    answer = source.text[span.start : span.end]
    supported, path, details = checked.supported, checked.path, dict(checked.details)
    if llm is not None and supported and not llm["accepted"]:
        supported, path, details["criterion_path"] = False, "verifier-rejected", checked.path
    return EvidenceVerdict(
        source.id, evidence.id, answer, span.label.value, supported, path, checked.sentences, details, llm,
    )


def _ask(verifier: EvidenceVerifier, source: Passage, span: SalientSpan, evidences: list[Passage]) -> list[dict]:
    """The verifier's verdicts as JSON (with ``p_yes`` and the model when it reports them)."""
    if not evidences:
        return []
    verdicts = getattr(verifier, "verdicts", None)
    if callable(verdicts):
        return [v.to_json() for v in verdicts(source, span, evidences)]
    return [{"accepted": bool(ok)} for ok in verifier.accept_many(source, span, evidences)]


def _resolve_verifier(corpus: PreparedCorpus, verifier: EvidenceVerifier | str | None) -> EvidenceVerifier | None:
    if verifier is None:
        return None
    from ramp_env.masking.llm_verifier import make_verifier

    # the same verdict cache as the environment's (EvidenceIndex.for_corpus)
    return make_verifier(verifier, cache_path=Path(corpus.directory) / "llm-verdicts.sqlite")


def verify_evidence(
    corpus: PreparedCorpus,
    passage_id: str,
    span: tuple[int, int],
    evidence_id: str,
    criterion: str = DEFAULT_CRITERION,
    verifier: EvidenceVerifier | str | None = None,
) -> EvidenceVerdict:
    """Whether passage ``evidence_id`` states the fact masked at ``span`` (``(start, end)`` in
    the text of passage ``passage_id``), applying every rule the environment applies.

    ``corpus`` is ``env.unwrapped.corpus`` (a :class:`~ramp_env.corpus.prepared.PreparedCorpus`);
    ``criterion`` the env's ``evidence_criterion`` (``"context"`` by default, or ``"fact"``);
    ``verifier`` the env's ``evidence_verifier`` (see the module docs).
    """
    verifier = _resolve_verifier(corpus, verifier)  # a malformed spec fails before any work
    source = _passage(corpus, passage_id, "passage_id")
    evidence = _passage(corpus, evidence_id, "evidence_id")
    salient = resolve_span(corpus, source, span)
    copy = CopyCheck(source.text).is_copy(f"{evidence.title}\n{evidence.text}")
    checked = _criterion_verdict(evidence, source, make_fact(source, salient, criterion), copy)
    llm = None
    if verifier is not None and checked.path not in ("source", "near-copy"):
        llm = _ask(verifier, source, salient, [evidence])[0]
    return _verdict(source, salient, evidence, checked, llm)


def ranked_evidence(
    corpus: PreparedCorpus,
    passage_id: str,
    span: tuple[int, int],
    retriever: Retriever | None = None,
    candidates: int = CANDIDATES,
    criterion: str = DEFAULT_CRITERION,
    verifier: EvidenceVerifier | str | None = None,
) -> list[EvidenceVerdict]:
    """The engine's candidates for the mask, best ranked first, each with its verdict: the
    environment's evidence are the supported ones, in this order."""
    verifier = _resolve_verifier(corpus, verifier)
    source = _passage(corpus, passage_id, "passage_id")
    salient = resolve_span(corpus, source, span)
    fact = make_fact(source, salient, criterion)  # a bad criterion fails before any search
    retriever = retriever if retriever is not None else corpus.retriever("tantivy")
    copies = NearDuplicateFinder(retriever).ids(source.id, source.text)
    required, ranking = candidate_query(source, salient)
    hits = search_candidates(retriever, required, ranking, candidates, exclude_ids=())
    check = CopyCheck(source.text)
    checked = []
    for hit in hits:
        evidence = Passage(hit.passage_id, hit.title, hit.text)
        copy = hit.passage_id in copies or check.is_copy(f"{hit.title}\n{hit.text}")
        checked.append((evidence, _criterion_verdict(evidence, source, fact, copy)))
    asked = [e for e, c in checked if c.supported] if verifier is not None else []
    llm = dict(zip((e.id for e in asked), _ask(verifier, source, salient, asked))) if asked else {}
    return [_verdict(source, salient, e, c, llm.get(e.id)) for e, c in checked]


__all__ = ["EvidenceVerdict", "ranked_evidence", "resolve_span", "verify_evidence"]

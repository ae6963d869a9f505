"""Evidence for a mask: other passages of the corpus that state the hidden fact.

A RAMP task rewards search only if the masked fact can be found by searching.
A salient span of a source passage is **supported** when at least one
*evidence passage* states it: a passage that is neither the source nor one of
its near-duplicates (:mod:`ramp_env.masking.near_duplicates`) and that passes
:func:`states_fact`.

The criterion (:data:`EVIDENCE_VERSION` names it in caches)
-----------------------------------------------------------
For the span's text ``answer`` in the source sentence ``S`` (the sentence of the
source that holds the span), an evidence passage ``E`` states the fact when

1. ``normalize_answer(answer)`` occurs in ``normalize_answer(E.text)`` as a
   whole-token sequence ("Paris" does not match "Parisian", "1990" does not match
   "19901"), and
2. a sentence of ``E`` holding the answer also co-mentions the fact's context.
   Let ``C`` be the content terms of ``S`` (stemmed, without stop words, numbers,
   the answer's own terms or the source title's terms) and ``m`` how many of them
   the evidence sentence contains. Either ``E`` names the source's subject (its
   title without a parenthesised disambiguation, as a whole-token sequence in
   ``E``'s title or text) and ``m >= max(2, |C|/4)``, or, without the subject,
   the sentence nearly paraphrases ``S``: ``m >= max(4, |C|/2)``.

Why not "answer and title anywhere in ``E``" (the issue's starting point): a
passage that names the subject and contains a common answer ("1990", "France",
"English") somewhere often says something else about it. Requiring the answer's
own sentence to share the mask's context words is what makes the evidence state
*this* fact; the hand-labelled sample in ``tests/masking/fixtures/evidence_labels.jsonl``
measures the precision (``docs/corpus-and-retrieval.md``).

A stricter criterion: ``criterion="fact"``
-----------------------------------------
Readers who never saw this code found that only 42-47% of this criterion's top evidence
states the masked fact (the rest are parallel sentences about another subject, a number of
another event, ...). :mod:`ramp_env.masking.fact_check` (``criterion="fact"``,
``RAMPEnv(evidence_criterion="fact")``) reads a dependency parse of both sentences and
rejects those classes; on held-out two-reader labels its precision is higher and its recall
lower (``benchmarks/results/evidence_v2.json``). It is not the default yet: it supports far
fewer spans (``benchmarks/results/evidence_pool.json``) and costs a parse per candidate.

A reading verifier: ``verifier="llm:URL|MODEL"``
-------------------------------------------------
Either criterion may be followed by a verifier that must also accept a pair
(:class:`EvidenceVerifier`): :class:`~ramp_env.masking.llm_verifier.LLMVerifier` asks a
served model the readers' question, so ``"fact"`` + LLM or ``"context"`` + LLM. Only the
candidates the criterion accepted are asked, in rank order, a few at a time, until
:data:`MAX_EVIDENCE` are verified. The verifier's fingerprint (model, version, threshold; not
its address) is part of the evidence cache's file name, so evidence verified by one model is
never served as another's. Its calibration on the labelled pairs:
``benchmarks/results/evidence_llm_verifier.json``.

Through the search engine, never a corpus scan
----------------------------------------------
For each span, one query asks the retriever for the passages that contain every
term of the answer (a *required* clause: tantivy ``Must`` term queries;
rank_bm25 filters its score vector), ranked by BM25 of the answer, the source
title and the mask sentence's content words, with the source and its
near-duplicates excluded in the engine. The best :data:`CANDIDATES` are verified
with :func:`states_fact`; the verified ones, in rank order (at most
:data:`MAX_EVIDENCE`), are the span's evidence. A retriever without
``search_with_required`` (a user's own backend) gets a plain query and the same
verification.

Lazy and cached
---------------
Evidence is computed for a passage when the env first draws it (about 10-20 ms a
passage on the default corpus) and stored in
``<prepared corpus>/evidence-<backend>-v<N>.sqlite`` (table
``evidence(pid, start, end, ids)``), one transaction per passage in WAL mode, so
a crash leaves all or nothing of a passage and parallel envs share the file.
Computing it eagerly for the default corpus's ~15k passages would cost minutes
of the first run; a training run draws a small share of a large corpus. Every
cached row is checked when read: one naming the source, a passage the corpus does
not have, or a near copy of the source is recomputed (with a warning), never used.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import sqlite3
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ramp_env.corpus.passage import Passage
from ramp_env.corpus.span_cache import SpanValueCache
from ramp_env.errors import InvalidOptionError
from ramp_env.masking import fact_model
from ramp_env.masking.fact_check import FACT_CHECK_VERSION, FactVerdict, SourceFact, normalized_tokens
from ramp_env.masking.fact_context import PARENTHESES, context_terms, find_tokens, sentences
from ramp_env.masking.near_duplicates import CopyCheck, near_duplicate_ids
from ramp_env.protocols import RequiredTermRetriever
from ramp_env.retrieval.base import Hit, Retriever, analyze
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan

if TYPE_CHECKING:  # pragma: no cover
    from ramp_env.corpus.prepared import PreparedCorpus

EVIDENCE_VERSION = 1  # bump when the criterion or the candidate query changes: old caches are then ignored
# Context terms an evidence sentence must share with the mask's sentence. The
# constants were set by reading ~60 (mask, candidate) pairs of a development sample
# (default corpus, generator seed 1001), disjoint from the hand-labelled test sample.
MIN_SHARED_TERMS = 2  # with the subject named in the evidence passage
SUBJECT_SHARE = 0.25  # ... and at least this share of the sentence's context terms
PARAPHRASE_TERMS = 4  # without the subject: a near paraphrase of the sentence
PARAPHRASE_SHARE = 0.5
CANDIDATES = 20  # passages verified per span
MAX_EVIDENCE = 5  # evidence ids kept per span, best ranked first
CRITERIA = ("context", "fact")  # see the module docs; "context" is version 1 of this module
DEFAULT_CRITERION = "context"


def parse_criterion(criterion: str, option: str = "evidence criterion") -> tuple[str, float | None]:
    """``(name, threshold)`` of an evidence criterion: one of :data:`CRITERIA`, or ``"fact:T"``
    for the ``"fact"`` criterion at model threshold ``T`` in [0.5, 1) (another point of its
    published precision/recall curve; ``None`` is the default point; below 0.5 the model's
    screen was not fitted to be exact)."""
    if isinstance(criterion, str) and criterion in CRITERIA:
        return criterion, None
    name, sep, value = criterion.partition(":") if isinstance(criterion, str) else ("", "", "")
    if name == "fact" and sep:
        try:
            threshold = float(value)
        except ValueError:
            threshold = float("nan")
        if fact_model.SCREEN_FOR <= threshold < 1.0:
            return name, threshold
    raise InvalidOptionError(
        f'{option} must be one of {CRITERIA} or "fact:T" with {fact_model.SCREEN_FOR} <= T < 1, '
        f"got {criterion!r}"
    )


@runtime_checkable
class EvidenceVerifier(Protocol):
    """A second check a pair must also pass after the criterion (see "A reading verifier" in the
    module docs); :class:`~ramp_env.masking.llm_verifier.LLMVerifier` is one.

    ``fingerprint`` names its verdicts (it is part of the evidence cache's file name), and
    ``accept_many(source, span, candidates)`` says for each candidate whether it states the fact.
    """

    @property
    def fingerprint(self) -> str: ...

    def accept_many(self, source: Passage, span: SalientSpan, evidences: Sequence[Passage]) -> list[bool]: ...


def _contains_tokens(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """``needle`` occurs in ``haystack`` as a contiguous token sequence."""
    return find_tokens(haystack, needle) >= 0


def subject_of(title: str) -> list[str]:
    """Normalised tokens of a title without its disambiguation: "Mercury (planet)" -> ["mercury"]."""
    return normalize_answer(PARENTHESES.sub("", title)).split()


# normalised tokens and index terms of the passages and sentences seen lately (see fact_context.sentences)
@functools.lru_cache(maxsize=16384)
def _tokens_and_terms(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    return tuple(normalize_answer(text).split()), frozenset(analyze(text))


class Fact:
    """What the criterion needs of one span, computed once and checked against many passages."""

    def __init__(self, source: Passage, span: SalientSpan, min_shared_terms: int = MIN_SHARED_TERMS) -> None:
        self.answer = normalize_answer(source.text[span.start : span.end]).split()
        self.context = context_terms(source, span)
        self.subject = subject_of(source.title)
        self.with_subject = max(min_shared_terms, SUBJECT_SHARE * len(self.context))
        self.paraphrase = max(PARAPHRASE_TERMS, min_shared_terms, PARAPHRASE_SHARE * len(self.context))

    def verdict(self, evidence: Passage) -> FactVerdict:
        """:meth:`stated_in` as a verdict (path ``"context"`` when accepted)."""
        if self.stated_in(evidence):
            return FactVerdict(True, "context")
        text_tokens, _ = _tokens_and_terms(evidence.text)
        found = bool(self.answer) and _contains_tokens(text_tokens, self.answer)
        return FactVerdict(False, "weak-relation" if found else "no-answer")

    def stated_in(self, evidence: Passage) -> bool:
        """Whether ``evidence`` states this fact (see :func:`states_fact`)."""
        text_tokens, text_terms = _tokens_and_terms(evidence.text)
        if not self.answer or not _contains_tokens(text_tokens, self.answer):
            return False
        names_subject = bool(self.subject) and (
            _contains_tokens(normalize_answer(evidence.title).split(), self.subject)
            or _contains_tokens(text_tokens, self.subject)
        )
        needed = min(self.paraphrase, self.with_subject) if names_subject else self.paraphrase
        if len(self.context.intersection(text_terms)) < needed:
            return False  # not even the whole passage shares enough: skip sentence splitting
        for a, b in sentences(evidence.text):
            # cached: the spans of one source share candidates, so their sentences recur
            sentence_tokens, sentence_terms = _tokens_and_terms(evidence.text[a:b])
            if not _contains_tokens(sentence_tokens, self.answer):
                continue
            if len(self.context.intersection(sentence_terms)) >= needed:
                return True
        return False


class CheckedFact:
    """The ``"fact"`` criterion (:mod:`~ramp_env.masking.fact_check`) behind :class:`Fact`'s interface."""

    def __init__(self, source: Passage, span: SalientSpan, threshold: float | None = None) -> None:
        self.answer = normalize_answer(source.text[span.start : span.end]).split()
        self._source, self._span, self._threshold = source, span, threshold
        self._checker: SourceFact | None = None  # parsed on the first candidate that holds the answer

    def verdict(self, evidence: Passage) -> FactVerdict:
        # fact_check's own token cache: the checker reads the same tokens next, and the index
        # terms (stemming) that _tokens_and_terms would also compute are never used here
        if not self.answer or not _contains_tokens(normalized_tokens(evidence.text), self.answer):
            return FactVerdict(False, "no-answer")
        if self._checker is None:
            self._checker = SourceFact(self._source, self._span, self._threshold)
        return self._checker.check(evidence)

    def stated_in(self, evidence: Passage) -> bool:
        return self.verdict(evidence).supported


def make_fact(
    source: Passage, span: SalientSpan, criterion: str = DEFAULT_CRITERION, min_shared_terms: int = MIN_SHARED_TERMS
) -> Fact | CheckedFact:
    """The checker of ``criterion`` (see :func:`parse_criterion`) for one span (``min_shared_terms``:
    the ``"context"`` criterion's, see :func:`states_fact`)."""
    name, threshold = parse_criterion(criterion)
    if name == "context":
        return Fact(source, span, min_shared_terms)
    return CheckedFact(source, span, threshold)


def states_fact(
    source: Passage, span: SalientSpan, evidence: Passage, min_shared_terms: int = MIN_SHARED_TERMS
) -> bool:
    """Whether ``evidence`` states the fact behind ``span`` of ``source`` (the criterion of the module docs).

    Pure text: near-duplicate exclusion is the caller's job (:class:`EvidenceIndex` does it).
    """
    return Fact(source, span, min_shared_terms).stated_in(evidence)


def candidate_query(source: Passage, span: SalientSpan) -> tuple[str, str]:
    """``(required, ranking)`` query texts for the span's evidence candidates."""
    answer = source.text[span.start : span.end]
    context = " ".join(sorted(context_terms(source, span)))
    return answer, f"{PARENTHESES.sub('', source.title)} {context}".strip()


def search_candidates(
    retriever: Retriever, required: str, ranking: str, k: int, exclude_ids: Collection[str]
) -> list[Hit]:
    """The top ``k`` passages holding every term of ``required``, ranked by BM25 of both texts."""
    if isinstance(retriever, RequiredTermRetriever):
        return retriever.search_with_required(ranking, required, k, exclude_ids=exclude_ids)
    # a user's backend: the answer twice weighs it up; verification does the rest
    return retriever.search(f"{required} {required} {ranking}", k, exclude_ids=exclude_ids)


class EvidenceCache(SpanValueCache[tuple[str, ...]]):
    """Evidence of one corpus, backend and criterion version in SQLite: ``evidence(pid, start, end, ids)``."""

    table, value_column, value_type = "evidence", "ids", "TEXT"

    def encode(self, value: tuple[str, ...]) -> str:
        return json.dumps(list(value))

    def decode(self, raw: Any) -> tuple[str, ...] | None:
        try:
            value = json.loads(raw)
        except (ValueError, TypeError):  # a damaged row is recomputed, never trusted
            return None
        if isinstance(value, list) and all(isinstance(i, str) for i in value):
            return tuple(value)
        return None


class EvidenceIndex:
    """Evidence passages per salient span, found through ``retriever`` and cached (see module docs).

    Args:
        retriever: the search engine of the corpus (the env's).
        cache: an :class:`EvidenceCache`, or ``None`` to keep evidence in memory only.
        near_duplicates: ``passage -> ids`` of its near copies (default:
            :func:`~ramp_env.masking.near_duplicates.near_duplicate_ids` through ``retriever``).
        candidates: passages verified per span. ``max_evidence``: ids kept per span.
        min_shared_terms: see :func:`states_fact`.
        criterion: ``"context"`` (default) or ``"fact"`` (see the module docs).
        verifier: ``None``, an :class:`EvidenceVerifier`, or ``"llm:URL|MODEL"`` (verdicts cached in
            memory only; :meth:`for_corpus` caches them next to the corpus) that must also accept a pair.
    """

    def __init__(
        self,
        retriever: Retriever,
        cache: EvidenceCache | None = None,
        near_duplicates: Callable[[Passage], Collection[str]] | None = None,
        candidates: int = CANDIDATES,
        max_evidence: int = MAX_EVIDENCE,
        min_shared_terms: int = MIN_SHARED_TERMS,
        criterion: str = DEFAULT_CRITERION,
        verifier: EvidenceVerifier | str | None = None,
    ) -> None:
        parse_criterion(criterion)  # names a bad one now
        self.criterion = criterion
        if verifier is not None:
            from ramp_env.masking.llm_verifier import make_verifier  # the HTTP client only when asked for

            verifier = make_verifier(verifier)
        self.verifier: EvidenceVerifier | None = verifier
        if candidates < 1 or max_evidence < 1:
            raise InvalidOptionError(f"candidates and max_evidence must be >= 1, got {candidates}, {max_evidence}")
        self.retriever = retriever
        self.cache = cache
        self.near_duplicates = near_duplicates
        self.candidates = candidates
        self.max_evidence = max_evidence
        self.min_shared_terms = min_shared_terms
        self._memory: dict[str, dict[tuple[int, int], tuple[str, ...]]] = {}
        self._verified: dict[str, dict[tuple[int, int], tuple[str, ...]]] = {}  # cached rows checked already
        self._source: tuple[str | None, CopyCheck | None] = (None, None)

    @classmethod
    def for_corpus(
        cls, corpus: PreparedCorpus, retriever: Retriever, backend: str | None, **kwargs: Any
    ) -> EvidenceIndex:
        """An index whose cache lives in ``corpus``'s directory (in memory for a custom backend
        or a read-only cache directory)."""
        cache = None
        if isinstance(kwargs.get("verifier"), str):
            from ramp_env.masking.llm_verifier import make_verifier

            # verdicts depend on the texts and the model only; kept with the corpus like its evidence
            kwargs["verifier"] = make_verifier(kwargs["verifier"], cache_path=Path(corpus.directory) / "llm-verdicts.sqlite")
        if backend is not None:
            criterion = kwargs.get("criterion", DEFAULT_CRITERION)
            name = f"evidence-{backend}-v{EVIDENCE_VERSION}.sqlite"
            if criterion != "context":
                name = f"evidence-{backend}-{criterion.replace(':', '-t')}-v{FACT_CHECK_VERSION}.sqlite"
            if kwargs.get("verifier") is not None:
                name = name.replace(".sqlite", f"-{verifier_tag(kwargs['verifier'])}.sqlite")
            cache = EvidenceCache(Path(corpus.directory) / name)
            try:
                cache.get("")  # opens (or creates) the file now, so a read-only or damaged cache is found early
            except sqlite3.DatabaseError as exc:  # read-only, not a database, locked for good, ...
                warnings.warn(
                    f"evidence will not be cached on disk ({cache.path}: {exc}); delete the file if it is damaged",
                    stacklevel=2,
                )
                cache.close()
                cache = None
        return cls(retriever, cache=cache, **kwargs)

    def _copy_check(self, passage: Passage) -> CopyCheck:
        if self._source[0] != passage.id or self._source[1] is None:
            self._source = (passage.id, CopyCheck(passage.text))
        assert self._source[1] is not None
        return self._source[1]

    def _excluded(self, passage: Passage) -> frozenset[str]:
        if self.near_duplicates is not None:
            copies = self.near_duplicates(passage)
        else:
            copies = near_duplicate_ids(passage, self.retriever, exclude_ids=(passage.id,))
        return frozenset({passage.id, *copies})

    def _compute(self, passage: Passage, span: SalientSpan, exclude: frozenset[str]) -> tuple[str, ...]:
        required, ranking = candidate_query(passage, span)
        if not normalize_answer(required):
            return ()
        hits = search_candidates(self.retriever, required, ranking, self.candidates, exclude)
        fact = make_fact(passage, span, self.criterion, self.min_shared_terms)

        def accepted_by_criterion() -> Iterator[Passage]:  # lazy: checked only until enough are found
            for hit in hits:
                candidate = Passage(hit.passage_id, hit.title, hit.text)
                if hit.passage_id in exclude or not fact.stated_in(candidate):
                    continue
                if not self._copy_check(passage).is_copy(f"{hit.title}\n{hit.text}"):
                    yield candidate

        accepted = accepted_by_criterion()
        found: list[str] = []
        while len(found) < self.max_evidence:
            batch = list(itertools.islice(accepted, self.max_evidence - len(found)))
            if not batch:
                break
            if self.verifier is not None:  # asked a batch at a time: a served model answers them in parallel
                verdicts = self.verifier.accept_many(passage, span, batch)
                batch = [c for c, ok in zip(batch, verdicts) if ok]
            found.extend(c.id for c in batch)
        return tuple(found)

    def _untrusted_rows(self, passage: Passage, rows: dict[tuple[int, int], tuple[str, ...]]) -> set[tuple[int, int]]:
        """Cached rows that cannot be evidence of ``passage``: naming the source itself, a passage the
        corpus does not have, or a near copy of the source (checked on the texts, through the
        retriever's store when it has one). They are recomputed, never used."""
        if self._verified.get(passage.id) == rows:
            return set()  # the same rows were checked before in this process
        store = getattr(self.retriever, "store", None)
        texts: dict[str, str | None] = {}
        bad: set[tuple[int, int]] = set()
        for key, ids in rows.items():
            for pid in ids:
                if pid == passage.id:
                    bad.add(key)
                    break
                if store is None:
                    continue
                if pid not in texts:
                    row = store.rowid_of(pid)
                    texts[pid] = None if row is None else store.get(row).contents
                text = texts[pid]
                if text is None or self._copy_check(passage).is_copy(text):
                    bad.add(key)
                    break
        if not bad:
            self._verified[passage.id] = dict(rows)
            if len(self._verified) > 4096:  # bounded: forget the oldest
                del self._verified[next(iter(self._verified))]
        else:
            warnings.warn(
                f"evidence cache {getattr(self.cache, 'path', '')}: {len(bad)} row(s) of {passage.id!r} name the "
                "source, a copy of it or an unknown passage; recomputing them", stacklevel=3,
            )
        return bad

    def evidence_map(self, passage: Passage, spans: Sequence[SalientSpan]) -> dict[tuple[int, int], tuple[str, ...]]:
        """Evidence ids of each span of ``passage``, keyed by ``(start, end)`` (cached, else computed and stored)."""
        known = self._memory.get(passage.id, {})
        if self.cache is not None:
            try:
                cached = self.cache.get(passage.id)
            except sqlite3.DatabaseError as exc:  # damaged or vanished mid-run: keep going in memory
                self._drop_cache(exc)
            else:
                for key in self._untrusted_rows(passage, cached):
                    del cached[key]
                known = {**cached, **known}
        missing = [s for s in spans if (s.start, s.end) not in known]
        if missing:
            exclude = self._excluded(passage)
            new = {(s.start, s.end): self._compute(passage, s, exclude) for s in missing}
            stored = False
            if self.cache is not None:
                try:
                    self.cache.put(passage.id, new)
                    stored = True
                except sqlite3.DatabaseError as exc:  # read-only or full disk: keep going in memory
                    self._drop_cache(exc)
            if not stored:
                self._memory.setdefault(passage.id, {}).update(new)
            known = {**known, **new}
        return {(s.start, s.end): known[(s.start, s.end)] for s in spans}

    def _drop_cache(self, exc: Exception) -> None:
        assert self.cache is not None
        warnings.warn(f"evidence cache unusable, continuing in memory ({self.cache.path}: {exc})", stacklevel=3)
        self.cache.close()
        self.cache = None

    def evidence_for(self, passage: Passage, span: SalientSpan) -> list[str]:
        """Ids of the passages that state ``span`` of ``passage``, best first ([] = unsupported)."""
        return list(self.evidence_map(passage, [span])[(span.start, span.end)])

    def supported_spans(self, passage: Passage, spans: Sequence[SalientSpan]) -> list[SalientSpan]:
        """The spans of ``passage`` with at least one evidence passage, in the order given."""
        evidence = self.evidence_map(passage, spans)
        return [s for s in spans if evidence[(s.start, s.end)]]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_memory"] = {}
        state["_verified"] = {}
        return state

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


def verifier_tag(verifier: EvidenceVerifier) -> str:
    """A short, file-name-safe name of ``verifier``'s verdicts (a hash of its fingerprint)."""
    return "verified-" + hashlib.sha256(str(verifier.fingerprint).encode("utf-8")).hexdigest()[:12]


def supported_spans(
    passage: Passage, spans: Sequence[SalientSpan], retriever: Retriever, **kwargs: Any
) -> list[SalientSpan]:
    """The spans of ``passage`` some other passage states (uncached; see :class:`EvidenceIndex`)."""
    return EvidenceIndex(retriever, **kwargs).supported_spans(passage, spans)


__all__ = [
    "CANDIDATES",
    "CRITERIA",
    "EVIDENCE_VERSION",
    "MAX_EVIDENCE",
    "MIN_SHARED_TERMS",
    "PARAPHRASE_SHARE",
    "PARAPHRASE_TERMS",
    "SUBJECT_SHARE",
    "CheckedFact",
    "EvidenceCache",
    "EvidenceIndex",
    "EvidenceVerifier",
    "Fact",
    "candidate_query",
    "context_terms",
    "make_fact",
    "parse_criterion",
    "search_candidates",
    "states_fact",
    "subject_of",
    "supported_spans",
    "verifier_tag",
]

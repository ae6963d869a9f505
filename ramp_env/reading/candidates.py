"""Candidate answers for masks, mined from search results and scored against each mask.

:class:`CandidatePool` holds the typed spans of the hits, each scored against each mask
(context overlap, neighbouring words, kind fit, rank, hits containing it), combined by a
fitted logistic scorer (:data:`SCORER_WEIGHTS`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ramp_env.errors import InvalidOptionError
from ramp_env.reading.masks import MaskContext, guess_mask_kind, kind_of, mask_contexts, proximity_weights
from ramp_env.text.analysis import analyze
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan, SpanExtractor
from ramp_env.text.tokenize import sentence_spans

# Weights of the candidate scorer: a logistic regression of "token F1 with the gold
# span >= 0.5" on the evidence features below, fitted on the candidates the BM25
# heuristic agent found for 1,000 one-mask tasks of the default corpus (spaCy
# spans; reset seeds 50000-50999, never used for evaluation), see
# examples/fit_candidate_scorer.py. On 400 held-out tasks it picks a correct
# candidate for 18.0% of masks against 13.9% for the hand-set weights it replaced.
# The features are generic (no corpus text), so the weights transfer to other corpora.
SCORER_WEIGHTS: dict[str, float] = {
    "overlap": 1.59,
    "overlap_sum": 2.15,
    "left_match": 1.37,
    "right_match": 1.01,
    "left2_match": 0.88,
    "right2_match": 0.84,
    "rank": 0.76,
    "hits": 0.55,
    "log_kind_prior": 0.23,
    "is_date": 0.39,
    "is_number": 0.31,
}
SCORER_BIAS = -5.75
# the evidence that is a field of CandidateScore as it is
_FIELD_EVIDENCE = ("overlap", "overlap_sum", "left_match", "right_match", "left2_match", "right2_match")


@dataclass
class CandidateScore:
    """One candidate answer for one mask, with the evidence for it over all its occurrences."""

    text: str
    kind: str
    overlap: float = 0.0  # best context overlap of an occurrence with the mask's sentence (0..1)
    overlap_sum: float = 0.0  # the overlaps of all its occurrences added up: repeated evidence counts
    left_match: bool = False  # some occurrence has the same word right before it as the mask
    right_match: bool = False  # ... the same word right after it
    left2_match: bool = False  # ... the same two words before it
    right2_match: bool = False  # ... the same two words after it
    best_rank: int = 99  # best rank (0 = top) of a hit it occurs in
    hits: int = 0  # number of distinct hits containing it
    kind_prior: float = 0.0  # P(its kind) under the mask's context (:func:`guess_mask_kind`)
    score: float = 0.0  # P(correct) under the fitted scorer

    def evidence(self) -> dict[str, float]:
        """The scorer's inputs, named as in :data:`SCORER_WEIGHTS` (and in its order)."""
        evidence = {name: float(getattr(self, name)) for name in _FIELD_EVIDENCE}
        evidence.update(
            rank=1.0 / (1.0 + self.best_rank),
            hits=float(self.hits),
            log_kind_prior=math.log(self.kind_prior + 1e-3),
            is_date=float(self.kind == "date"),
            is_number=float(self.kind == "number"),
        )
        return evidence

    def features(self) -> list[float]:
        """The evidence scaled into [0, 1], and the score: the observation of one candidate slot."""
        return [
            self.overlap,
            min(self.overlap_sum, 3.0) / 3.0,
            float(self.left_match),
            float(self.right_match),
            float(self.left2_match),
            float(self.right2_match),
            1.0 / (1.0 + self.best_rank),
            min(self.hits, 5) / 5.0,
            self.kind_prior,
            float(self.kind == "date"),
            float(self.kind == "number"),
            self.score,
        ]


N_CANDIDATE_FEATURES = len(CandidateScore("", "name").features())


@dataclass
class _Occurrence:
    key: str
    text: str
    kind: str
    rank: int
    hit: int  # index of the hit among all hits seen in the episode
    left: tuple[str, ...]
    right: tuple[str, ...]
    weights: dict[str, float] = field(default_factory=dict)


class CandidatePool:
    """Typed spans of the hits seen so far in one episode, scored per mask.

    Spans whose text occurs in the masked passage or overlaps the title are never
    candidates: the env only masks spans that occur once in the passage and do not
    repeat the title, so such text cannot be the answer.
    """

    def __init__(self, masked_text: str, title: str, extractor: SpanExtractor | None = None) -> None:
        self.contexts = mask_contexts(masked_text)
        self.kind_priors = {n: guess_mask_kind(c) for n, c in self.contexts.items()}
        self._passage_lower = masked_text.lower()
        self._title_norm = normalize_answer(title)
        self.extractor = extractor
        self.occurrences: list[_Occurrence] = []
        self._seen_hits: set[str] = set()
        self.searches = 0
        self.hits_seen = 0
        self._sentence_df: dict[str, int] = {}  # term -> number of hit sentences containing it
        self._sentences = 0

    def _excluded(self, surface: str, key: str) -> bool:
        if not key or surface.lower() in self._passage_lower:
            return True
        title = self._title_norm
        return bool(title) and (key in title or title in key)

    def add_hits(self, hits: Sequence[tuple[str, str]], spans: Iterable[Sequence[SalientSpan]] | None = None) -> None:
        """Add the hits of one search; ``spans`` per hit if known (else the extractor runs)."""
        self.searches += 1
        fresh = [(rank, title, text) for rank, (title, text) in enumerate(hits) if text not in self._seen_hits]
        self._seen_hits.update(text for _, _, text in fresh)
        if spans is None:
            if self.extractor is None:
                raise InvalidOptionError("CandidatePool.add_hits needs spans= when the pool has no span extractor")
            spans_per_hit = list(self.extractor.extract_batch(text for _, _, text in fresh))
        else:
            spans_list = list(spans)
            spans_per_hit = [spans_list[rank] for rank, _, _ in fresh]
        for (rank, _title, text), hit_spans in zip(fresh, spans_per_hit, strict=True):
            self.hits_seen += 1
            sentences = sentence_spans(text)
            for a, b in sentences:
                self._sentences += 1
                for term in set(analyze(text[a:b])):
                    self._sentence_df[term] = self._sentence_df.get(term, 0) + 1
            for span in hit_spans:
                surface = text[span.start : span.end]
                key = normalize_answer(surface)
                if self._excluded(surface, key):
                    continue
                s_start, s_end = next(((a, b) for a, b in sentences if a <= span.start < b), (0, len(text)))
                left = tuple(reversed(analyze(text[s_start : span.start])))
                right = tuple(analyze(text[span.end : s_end]))
                self.occurrences.append(
                    _Occurrence(
                        key, surface, kind_of(span.label), rank, self.hits_seen, left, right,
                        proximity_weights(left, right),
                    )
                )

    def context(self, number: int) -> MaskContext:
        """The context of ``[mask_<number>]`` (empty if the passage lacks the mask)."""
        return self.contexts.get(number) or MaskContext(number, "", (), ())

    def scores(self, number: int) -> list[CandidateScore]:
        """Candidates for ``[mask_<number>]``, best first."""
        context = self.contexts.get(number)
        if context is None:
            return []
        # weight the mask's terms by their rarity among the hits' sentences: a term
        # every hit shares (the title, usually) tells candidates apart least
        n = self._sentences
        mask_weights = {
            t: w * math.log((n + 1) / (self._sentence_df.get(t, 0) + 0.5)) for t, w in context.weights.items()
        }
        total = sum(mask_weights.values()) or 1.0
        prior = self.kind_priors[number]
        by_key: dict[str, CandidateScore] = {}
        hits_of: dict[str, set[int]] = {}
        left1, right1, left2, right2 = context.left[:1], context.right[:1], context.left[:2], context.right[:2]
        for occ in self.occurrences:
            overlap = sum(w * occ.weights[t] for t, w in mask_weights.items() if t in occ.weights) / total
            cand = by_key.get(occ.key)
            if cand is None:
                cand = by_key[occ.key] = CandidateScore(occ.text, occ.kind, kind_prior=prior[occ.kind])
                hits_of[occ.key] = set()
            cand.overlap = max(cand.overlap, overlap)
            cand.overlap_sum += overlap
            cand.left_match |= bool(left1) and occ.left[:1] == left1
            cand.right_match |= bool(right1) and occ.right[:1] == right1
            cand.left2_match |= len(left2) == 2 and occ.left[:2] == left2
            cand.right2_match |= len(right2) == 2 and occ.right[:2] == right2
            cand.best_rank = min(cand.best_rank, occ.rank)
            hits_of[occ.key].add(occ.hit)
        for key, cand in by_key.items():
            cand.hits = len(hits_of[key])
            logit = SCORER_BIAS + sum(SCORER_WEIGHTS[name] * x for name, x in cand.evidence().items())
            cand.score = 1.0 / (1.0 + math.exp(-logit))
        return sorted(by_key.values(), key=lambda c: (-c.score, c.text))

    def assign(self, numbers: Sequence[int]) -> dict[int, CandidateScore | None]:
        """The best candidate for each mask, no text used for two masks (the masks hide different spans)."""
        ranked = {n: self.scores(n) for n in numbers}
        pairs = sorted(
            ((c.score, n, i) for n, cands in ranked.items() for i, c in enumerate(cands)), key=lambda p: -p[0]
        )
        chosen: dict[int, CandidateScore | None] = {n: None for n in numbers}
        used: set[str] = set()
        for _, n, i in pairs:
            cand = ranked[n][i]
            key = normalize_answer(cand.text)
            if chosen[n] is None and key not in used:
                chosen[n] = cand
                used.add(key)
        return chosen

"""Evidence verified by reading: a served language model asked whether a passage states the fact.

The two evidence criteria (:mod:`~ramp_env.masking.evidence`, ``"context"``;
:mod:`~ramp_env.masking.fact_check`, ``"fact"``) read words and a parse; the misses readers
point at (another territory's census, the same crew in another mission) need reading. With a
model served behind an OpenAI-compatible ``/chat/completions`` endpoint (vLLM, SGLang,
llama.cpp, TGI, ...) an :class:`LLMVerifier` asks, for each pair the criterion accepted, the
readers' question of ``docs/labelling.md`` in short, and the pair is evidence only when the
model also says yes. Spec string: ``"llm:URL|MODEL"``, e.g.
``"llm:http://127.0.0.1:8000/v1|Qwen2.5-7B-Instruct"`` (:func:`parse_verifier_spec`).

What the model reads (:func:`verifier_messages`): the subject (the source's title), the source
sentence holding the span with the span marked ``⟦ ⟧`` (as the readers saw it), the answer,
and the candidate's title and the sentences of the candidate that hold the answer, each with
the sentence before it (a pronoun's antecedent), capped at :data:`MAX_EVIDENCE_CHARS`.

Verdict. One request per pair through the reward judges' HTTP client
(:class:`~ramp_env.rewards.judges.http.HTTPJudge`: ``max_tokens=1``, ``temperature=0``,
``logprobs``), so ``p_yes = P(yes) / (P(yes) + P(no))`` over the first token's top
alternatives, and the pair is accepted when ``p_yes > threshold`` (0.5). Fallback, documented:
a server without log-probabilities is read by its first word (yes -> 1, anything else -> 0),
so an unreadable answer rejects, never accepts. A server that cannot be reached, answers 4xx,
keeps answering 5xx, times out, redirects (never followed, so a key never reaches another
origin), sends more than ``max_response_bytes`` or malformed JSON raises
:class:`VerifierServerError`: a pair is never accepted without a verdict. The API key, if the
server wants one, is read from ``RAMP_ENV_VERIFIER_API_KEY`` (not ``OPENAI_API_KEY``: a key for
one provider is not sent to a verifier somewhere else unless the user says so).

Cache. ``p_yes`` is kept per process and, with ``cache_path``, in a SQLite file shared by
processes (:func:`~ramp_env.cache.connect_shared_sqlite`), keyed by a hash of
:data:`VERIFIER_VERSION`, the model name and the exact messages: the same model served at
another address reuses the verdicts; another model, prompt or version never does.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ramp_env.cache import SQLiteStoreOwner
from ramp_env.corpus.passage import Passage
from ramp_env.errors import InvalidOptionError, RampEnvError
from ramp_env.masking.fact_context import PARENTHESES, sentence_bounds, sentences
from ramp_env.rewards.judges.http import HTTPJudge, JudgeServerError
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan

# bump when the prompt, the evidence excerpt or the verdict rule changes: cached verdicts are then ignored
VERIFIER_VERSION = 1
SPEC_PREFIX = "llm:"
API_KEY_ENV = "RAMP_ENV_VERIFIER_API_KEY"
THRESHOLD = 0.5
MAX_EVIDENCE_CHARS = 1200  # of the candidate shown; a 4k-token context holds the whole prompt
MAX_SOURCE_CHARS = 600

SYSTEM = "You check whether a passage states a given fact. Reply with one word: yes or no."
QUESTION = (
    "Does the CANDIDATE itself state the marked fact: \"{answer}\" in the same relation, about {subject}, "
    "so that a reader could fill in the marked words from the candidate alone? Answer no if the candidate "
    "says \"{answer}\" about a different subject or event, only lists it, or is too vague. Answer yes or no."
)


class VerifierServerError(RampEnvError, RuntimeError):
    """The verifier's endpoint could not be reached or answered something unusable."""


@dataclass(frozen=True)
class VerifierSpec:
    """A parsed ``"llm:URL|MODEL"``: ``base_url`` is the API root (``.../v1``)."""

    base_url: str
    model: str


def parse_verifier_spec(spec: str) -> VerifierSpec:
    """``"llm:URL|MODEL"`` -> :class:`VerifierSpec`; :class:`InvalidOptionError` naming the fault."""
    if not isinstance(spec, str):
        raise InvalidOptionError(f"evidence verifier must be a string 'llm:URL|MODEL', got {type(spec).__name__}")
    if not spec.startswith(SPEC_PREFIX):
        raise InvalidOptionError(f"evidence verifier must look like 'llm:URL|MODEL', got {spec!r} (no 'llm:' prefix)")
    url, sep, model = spec[len(SPEC_PREFIX):].partition("|")
    url, model = url.strip(), model.strip()
    if not sep or not model:
        raise InvalidOptionError(f"evidence verifier {spec!r} names no model: expected 'llm:URL|MODEL'")
    if "|" in model:
        raise InvalidOptionError(f"evidence verifier {spec!r} has more than one '|': expected 'llm:URL|MODEL'")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOptionError(
            f"evidence verifier {spec!r}: URL {url!r} must be http:// or https:// with a host, e.g. "
            "'llm:http://127.0.0.1:8000/v1|MODEL'"
        )
    if parts.username or parts.password:
        raise InvalidOptionError(
            f"evidence verifier {spec!r}: put no credentials in the URL; set {API_KEY_ENV} instead"
        )
    return VerifierSpec(url, model)


def _mark(source: Passage, span: SalientSpan) -> str:
    a, b = sentence_bounds(source.text, span.start, span.end)
    text = source.text
    marked = f"{text[a:span.start]}⟦{text[span.start:span.end]}⟧{text[span.end:b]}".strip()
    if len(marked) > MAX_SOURCE_CHARS:  # a run-on "sentence": keep a window around the mark
        at = marked.index("⟦")
        lo = max(0, at - MAX_SOURCE_CHARS // 2)
        marked = marked[lo : lo + MAX_SOURCE_CHARS]
    return " ".join(marked.split())


def evidence_excerpt(evidence: Passage, answer: str) -> str:
    """The candidate's sentences holding ``answer`` (whole tokens, normalised), each with the
    sentence before it, in text order, capped at :data:`MAX_EVIDENCE_CHARS` (the passage's start
    when no sentence holds it)."""
    needle = f" {normalize_answer(answer)} "
    spans = list(sentences(evidence.text)) or [(0, len(evidence.text))]
    keep: list[int] = []
    for i, (a, b) in enumerate(spans):
        if needle.strip() and needle in f" {normalize_answer(evidence.text[a:b])} ":
            keep.extend(j for j in (i - 1, i) if j >= 0 and j not in keep)
    if not keep:
        return " ".join(evidence.text[:MAX_EVIDENCE_CHARS].split())
    text = " ".join(" ".join(evidence.text[spans[j][0] : spans[j][1]].split()) for j in sorted(keep))
    return text[:MAX_EVIDENCE_CHARS]


def verifier_messages(source: Passage, span: SalientSpan, evidence: Passage) -> tuple[str, str]:
    """``(system, user)`` messages asking whether ``evidence`` states ``span`` of ``source``."""
    answer = " ".join(source.text[span.start : span.end].split())
    subject = PARENTHESES.sub("", source.title).strip() or source.title
    user = (
        f"SUBJECT: {subject}\n"
        f"SOURCE (the fact's value is marked ⟦ ⟧): {_mark(source, span)}\n"
        f"CANDIDATE (title: {evidence.title}): {evidence_excerpt(evidence, answer)}\n\n"
        + QUESTION.format(answer=answer, subject=subject)
    )
    return SYSTEM, user


class _ChatClient(HTTPJudge):
    """The reward judges' HTTP client (redirects refused, size cap, deadline, retries) sending
    the verifier's two messages instead of the judge prompt: a pair is ``(system, user)``."""

    def request_body(self, prediction: str, reference: str) -> dict[str, Any]:
        body = super().request_body(prediction, reference)
        body["messages"] = [{"role": "system", "content": prediction}, {"role": "user", "content": reference}]
        return body


class _VerdictStore:
    """``key -> p_yes`` in a SQLite file several processes share."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from ramp_env.cache import connect_shared_sqlite

        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect_shared_sqlite(self.path, check_same_thread=False)
        with self._conn:
            self._conn.execute("CREATE TABLE IF NOT EXISTS llm_verdicts (key TEXT PRIMARY KEY, p_yes REAL NOT NULL)")

    def get(self, key: str) -> float | None:
        row = self._conn.execute("SELECT p_yes FROM llm_verdicts WHERE key = ?", (key,)).fetchone()
        # a damaged row (not a probability) is asked again, never trusted
        if row is not None and isinstance(row[0], int | float) and 0.0 <= row[0] <= 1.0:
            return float(row[0])
        return None

    def put_many(self, values: dict[str, float]) -> None:
        with self._conn:  # one transaction
            self._conn.executemany("INSERT OR REPLACE INTO llm_verdicts VALUES (?, ?)", list(values.items()))

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class LLMVerdict:
    """The model's answer for one pair: ``accepted`` (``p_yes > threshold``) and ``p_yes``."""

    accepted: bool
    p_yes: float
    model: str

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "p_yes": round(self.p_yes, 4), "model": self.model,
                "verifier_version": VERIFIER_VERSION}


class LLMVerifier(SQLiteStoreOwner):  # picklable for vector envs
    """Asks a served model whether a candidate passage states a masked fact (see the module docs).

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``. ``model``: the served model name.
        cache_path: SQLite file keeping verdicts across processes (``None``: this process only).
        threshold: a pair is accepted when ``p_yes > threshold``.
        timeout, retries, max_workers, max_response_bytes: as :class:`~ramp_env.rewards.judges.http.HTTPJudge`.
        api_key: bearer token; default the value of ``RAMP_ENV_VERIFIER_API_KEY``, else none.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        cache_path: str | os.PathLike[str] | None = None,
        threshold: float = THRESHOLD,
        timeout: float = 60.0,
        retries: int = 3,
        max_workers: int = 2,
        max_response_bytes: int = 1 << 16,
        api_key: str | None = None,
    ) -> None:
        if not 0.0 <= threshold < 1.0:
            raise InvalidOptionError(f"verifier threshold must be in [0, 1), got {threshold!r}")
        try:
            self._client = _ChatClient(
                base_url, model, api_key=api_key, api_key_env=API_KEY_ENV, timeout=timeout, retries=retries,
                max_workers=max_workers, max_response_bytes=max_response_bytes, contrastive=False, cache_size=0,
            )
        except ValueError as exc:
            raise InvalidOptionError(f"evidence verifier: {exc}") from None
        self.model = model
        self.threshold = float(threshold)
        self.cache_path = cache_path
        self._memory: OrderedDict[str, float] = OrderedDict()
        self._store: _VerdictStore | None = None
        self._lock = threading.Lock()
        self.requests = 0  # pairs sent to the server (cache misses)
        self.hits = 0

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> LLMVerifier:
        """A verifier for ``"llm:URL|MODEL"`` (:func:`parse_verifier_spec`)."""
        parsed = parse_verifier_spec(spec)
        return cls(parsed.base_url, parsed.model, **kwargs)

    @property
    def fingerprint(self) -> str:
        """Names the verdicts this verifier gives (model, version, threshold), not where it is served."""
        return f"llm|{self.model}|v{VERIFIER_VERSION}|threshold={self.threshold:g}"

    @property
    def fallbacks(self) -> int:
        """Verdicts read from the generated word because the server sent no usable log-probabilities."""
        return self._client.fallbacks

    def key(self, messages: tuple[str, str]) -> str:
        blob = json.dumps([VERIFIER_VERSION, self.model, *messages], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def p_yes(self, source: Passage, span: SalientSpan, evidences: Sequence[Passage]) -> list[float]:
        """``P(yes)`` for each candidate in ``evidences`` (cached, else asked in one batch)."""
        messages = [verifier_messages(source, span, e) for e in evidences]
        keys = [self.key(m) for m in messages]
        with self._lock:
            found: dict[str, float] = {}
            for k in keys:
                value = self._memory.get(k)
                if value is None and self.cache_path is not None:
                    value = self._persistent().get(k)
                if value is not None:
                    found[k] = value
            todo = list(dict.fromkeys(k for k in keys if k not in found))
            self.hits += len(keys) - sum(1 for k in keys if k in todo)
            if todo:
                pairs = [messages[keys.index(k)] for k in todo]
                self.requests += len(pairs)
                try:
                    new = dict(zip(todo, self._client.p_yes(pairs)))
                except JudgeServerError as exc:
                    detail = str(exc).replace("judge endpoint", "endpoint").replace("the judge", "the server")
                    raise VerifierServerError(f"evidence verifier {self.model!r}: {detail}") from None
                if self.cache_path is not None:
                    self._persistent().put_many(new)
                found.update(new)
            for k, value in found.items():
                self._memory[k] = value
                self._memory.move_to_end(k)
            while len(self._memory) > 65536:
                self._memory.popitem(last=False)
        return [found[k] for k in keys]

    def verdicts(self, source: Passage, span: SalientSpan, evidences: Sequence[Passage]) -> list[LLMVerdict]:
        return [LLMVerdict(p > self.threshold, p, self.model) for p in self.p_yes(source, span, evidences)]

    def accept_many(self, source: Passage, span: SalientSpan, evidences: Sequence[Passage]) -> list[bool]:
        """Whether the model says each candidate states ``span`` of ``source`` (the
        :class:`~ramp_env.masking.evidence.EvidenceVerifier` protocol)."""
        return [v.accepted for v in self.verdicts(source, span, evidences)]

    def _persistent(self) -> _VerdictStore:
        if self._store is None:
            assert self.cache_path is not None
            self._store = _VerdictStore(self.cache_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def make_verifier(
    verifier: str | Any | None, cache_path: str | os.PathLike[str] | None = None
) -> Any | None:
    """``None`` -> ``None``; a spec string -> an :class:`LLMVerifier` caching in ``cache_path``;
    anything else is taken as an :class:`~ramp_env.masking.evidence.EvidenceVerifier` as is."""
    if verifier is None or not isinstance(verifier, str):
        if verifier is not None and not callable(getattr(verifier, "accept_many", None)):
            raise InvalidOptionError(
                f"evidence verifier must be 'llm:URL|MODEL' or have accept_many(), got {type(verifier).__name__}"
            )
        return verifier
    return LLMVerifier.from_spec(verifier, cache_path=cache_path)


__all__ = [
    "API_KEY_ENV",
    "THRESHOLD",
    "VERIFIER_VERSION",
    "LLMVerdict",
    "LLMVerifier",
    "VerifierServerError",
    "VerifierSpec",
    "evidence_excerpt",
    "make_verifier",
    "parse_verifier_spec",
    "verifier_messages",
]

"""The Lite corpus of ``RAMP-Lite-v0``: a few thousand one-sentence passages whose facts recur.

A class needs an environment where a small learner sees reward within minutes.
The default corpus has ~15k paragraph passages, and most of their salient spans
are stated nowhere else, so most episodes reward luck. The Lite corpus is
derived from it deterministically:

1. every sentence of 8-40 words of a default-corpus passage becomes a candidate
   passage (same title; text cleaned as in the default corpus);
2. its maskable spans come from the rule extractor (the one ``RAMP-Lite-v0``
   uses), and a span is *supported* when a sentence of another article states it
   (:func:`ramp_env.masking.evidence.states_fact`, the same criterion the env's
   evidence check uses) and is not a near-duplicate of it;
3. *task sentences* are those with at least half of their maskable spans
   supported; the first :data:`TASK_SENTENCES` of them in a fixed hash order are
   kept, with the first evidence sentence of each of their supported spans, so
   the evidence is in the corpus too.

Deriving takes minutes (a span-by-candidate check over ~50k sentences), so the result ships with the package
(``ramp_env/corpus/data/lite-v1.jsonl.gz``, Wikipedia text, CC BY-SA 4.0) and
:func:`lite_corpus_path` only decompresses it into the cache.
``python -m ramp_env.corpus.lite OUT.jsonl.gz`` re-derives it with the current
evidence criterion (the shipped v1 used the criterion of 2026-11-28, 22:00 UTC; a
later criterion may select other sentences). The env does not trust the
selection: with ``require_evidence="all"`` (RAMP-v0's default, inherited) it
checks every mask's evidence through the search engine at draw time.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from ramp_env.cache import atomic_path, cache_root
from ramp_env.corpus.passage import Passage

LITE_VERSION = 1
SHIPPED = Path(__file__).parent / "data" / f"lite-v{LITE_VERSION}.jsonl.gz"
MIN_WORDS, MAX_WORDS = 8, 40
TASK_SENTENCES = 1500
MAX_CANDIDATES = 200  # spans found in more sentences than this ("United States") are not checked: too common
MAX_SPAN_TOKENS = 6


def lite_corpus_path(cache_dir: str | Path | None = None) -> Path:
    """The Lite corpus as a JSONL file in the cache root (decompressed from the shipped copy once)."""
    if not SHIPPED.is_file():
        raise FileNotFoundError(
            f"the Lite corpus is missing from the installation ({SHIPPED}); "
            "re-derive it with `python -m ramp_env.corpus.lite` or reinstall ramp-env"
        )
    path = cache_root(cache_dir) / f"lite-corpus-v{LITE_VERSION}.jsonl"
    # gzip's trailer holds the uncompressed size (mod 2**32): a copy of another size was
    # edited or damaged, and is replaced (the shipped file is the source of truth)
    expected = int.from_bytes(SHIPPED.read_bytes()[-4:], "little")
    if path.is_file() and path.stat().st_size % 2**32 == expected:
        return path
    with atomic_path(path) as tmp, gzip.open(SHIPPED, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _sentences(passages: Iterable[Passage]) -> Iterator[Passage]:
    from ramp_env.text.tokenize import sentence_spans

    for passage in passages:
        for start, end in sentence_spans(passage.text):
            text = passage.text[start:end].strip()
            if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
                yield Passage(id=passage.id, title=passage.title, text=text)


def derive_lite_passages(passages: Iterable[Passage], task_sentences: int = TASK_SENTENCES) -> list[Passage]:
    """The Lite corpus from ``passages`` (the default corpus): see the module docs."""
    from ramp_env.masking.evidence import context_terms, states_fact
    from ramp_env.masking.near_duplicates import is_near_duplicate
    from ramp_env.masking.task import maskable_spans
    from ramp_env.retrieval.base import analyze
    from ramp_env.text.normalize import normalize_answer
    from ramp_env.text.spans import RuleSpanExtractor

    sentences = list(_sentences(passages))
    extractor = RuleSpanExtractor()
    maskable = [maskable_spans(s, spans) for s, spans in zip(sentences, extractor.extract_batch(s.text for s in sentences))]
    answers = [[normalize_answer(s.text[x.start : x.end]) for x in spans] for s, spans in zip(sentences, maskable)]
    wanted = {a for row in answers for a in row if a}
    # which sentences hold each answer text as a whole-token sequence: a dictionary of
    # token n-grams restricted to answer texts (a full n-gram index would not fit in memory)
    holders: dict[str, list[int]] = defaultdict(list)
    terms: list[frozenset[str]] = []
    for i, sentence in enumerate(sentences):
        tokens = normalize_answer(sentence.text).split()
        found = set()
        for n in range(1, MAX_SPAN_TOKENS + 1):
            for j in range(len(tokens) - n + 1):
                gram = " ".join(tokens[j : j + n])
                if gram in wanted:
                    found.add(gram)
        for gram in found:
            holders[gram].append(i)
        terms.append(frozenset(analyze(sentence.text)))

    evidence: dict[int, list[int]] = {}  # task sentence -> first evidence sentence of each supported span
    for i, sentence in enumerate(sentences):
        spans = maskable[i]
        if not spans:
            continue
        found: list[int] = []
        for span, answer in zip(spans, answers[i]):
            others = [j for j in holders.get(answer, ()) if sentences[j].title != sentence.title]
            if not answer or len(others) > MAX_CANDIDATES:
                continue
            context = context_terms(sentence, span)
            for j in others:  # states_fact needs a shared context term: check that cheaply first
                if (
                    context & terms[j]
                    and states_fact(sentence, span, sentences[j])
                    and not is_near_duplicate(sentence.text, sentences[j].text)
                ):
                    found.append(j)
                    break
        if found and 2 * len(found) >= len(spans):
            evidence[i] = found

    def order(i: int) -> str:  # a fixed pseudo-random order, independent of corpus order
        return hashlib.sha1(f"{sentences[i].title}\n{sentences[i].text}".encode()).hexdigest()

    tasks = sorted(evidence, key=order)[:task_sentences]
    keep = sorted({*tasks, *(j for i in tasks for j in evidence[i])})
    numbered: dict[str, int] = defaultdict(int)
    out = []
    seen_text: set[str] = set()
    for i in keep:
        s = sentences[i]
        if s.text in seen_text:  # the same sentence in two paragraphs of an article
            continue
        seen_text.add(s.text)
        out.append(Passage(id=f"lite:{s.title}#{numbered[s.title]}", title=s.title, text=s.text))
        numbered[s.title] += 1
    return out


def write_lite_corpus(out: str | Path) -> int:
    """Derive the Lite corpus from the default corpus and write it as gzipped JSONL. Returns its size."""
    from ramp_env.corpus.default import default_corpus_passages

    passages = derive_lite_passages(default_corpus_passages())
    with atomic_path(out) as tmp, gzip.GzipFile(tmp, "wb", mtime=0) as fh:  # mtime=0: byte-identical reruns
        for p in passages:
            fh.write((json.dumps({"id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) + "\n").encode())
    return len(passages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Re-derive the Lite corpus from the default corpus (takes minutes).")
    parser.add_argument("out", nargs="?", default=str(SHIPPED), help=f"output .jsonl.gz (default {SHIPPED})")
    args = parser.parse_args()
    print(f"wrote {write_lite_corpus(args.out)} passages to {args.out}")

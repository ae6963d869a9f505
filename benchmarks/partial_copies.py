"""Partial and disguised copies: what the near-copy check calls a copy, and why not more.

For ``--passages`` random passages of a corpus (seeded) this measures, with the
check of ``ramp_env.masking.near_duplicates`` (word-3-gram containment of the
smaller text, threshold 0.6):

* partial copies: one sentence of the source alone, one sentence inside a longer
  passage, the first half alone, the first half inside a passage at least as long
  as the source, the whole source inside a longer passage;
* disguised copies: every third word changed, a filler word after every word
  (a new word, or a word of the source itself);

and the same for the check's second criterion (``CopyCheck.aligned_share``: the
longest common subsequence of all canonical words over the shorter text, at least
0.9, for texts of 12+ words). For the same passages' 10 best BM25 neighbours (the
source excluded: other passages, many on the same topic or from one template) it
reports both criteria and two rejected alternatives that could also catch an
every-third-word copy: the subsequence of content words (no stop words) at 0.6,
and 3-gram containment after dropping the hit's words the source does not have.
A criterion is only usable if no real neighbour reaches it. Writes
``benchmarks/results/partial_copies.json``.

    RAMP_ENV_CACHE=/work/cache nice -n 10 python benchmarks/partial_copies.py
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np
from _common import neighbour_sample_args  # this folder's shared helpers (on sys.path)

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.near_duplicates import (
    ALIGNED_THRESHOLD,
    NEAR_DUPLICATE_THRESHOLD,
    QUERY_WINDOW_WORDS,
    CopyCheck,
    containment,
    shingles,
)
from ramp_env.text.canonical import canonical_words
from ramp_env.text.stop_terms import stop_words
from ramp_env.text.tokenize import sentence_spans

RESULTS = Path(__file__).parent / "results" / "partial_copies.json"


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence of two word lists, bit-parallel (Hyyrö 2004): O(len(b)) big-int steps."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, word in enumerate(a):
        masks[word] = masks.get(word, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for word in b:
        u = v & masks.get(word, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _grams(words: list[str]) -> frozenset[tuple[str, ...]]:
    if len(words) < 3:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(tuple(words[i : i + 3]) for i in range(len(words) - 2))


def aligned_content(a: str, b: str, stop: frozenset[str]) -> float:
    x = [w for w in canonical_words(a) if w not in stop]
    y = [w for w in canonical_words(b) if w not in stop]
    return lcs_length(x, y) / min(len(x), len(y)) if x and y else 0.0


def vocabulary_filtered(source: str, hit: str) -> float:
    a, b = canonical_words(source), canonical_words(hit)
    vocabulary = set(a)
    return containment(_grams(a), _grams([w for w in b if w in vocabulary]))


def variants(text: str, other: str) -> dict[str, str]:
    """Partial and disguised copies of ``text``; ``other`` is unrelated text at least as long."""
    words = text.split()
    half = " ".join(words[: max(1, len(words) // 2)])
    a, b = sentence_spans(text)[0]
    sentence = text[a:b]
    return {
        "one_sentence_alone": sentence,
        "one_sentence_in_longer": f"{other} {sentence}",
        "first_half_alone": half,
        "first_half_in_longer": f"{half} {other}",
        "whole_source_in_longer": f"{other} {text}",
        "every_third_word_changed": " ".join(w if i % 3 != 2 else "zzxqv" for i, w in enumerate(words)),
        "filler_word_interleaved": " ".join(f"{w} qqzv" for w in words),
        "source_words_interleaved": " ".join(f"{w} {words[(7 * i) % len(words)]}" for i, w in enumerate(words)),
    }


def summary(values: list[float], threshold: float = NEAR_DUPLICATE_THRESHOLD) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {
        "n": int(v.size), "p1": round(float(np.quantile(v, 0.01)), 4), "p50": round(float(np.median(v)), 4),
        "p99": round(float(np.quantile(v, 0.99)), 4), "max": round(float(v.max()), 4),
        "threshold": threshold, "share_at_or_above_threshold": round(float((v >= threshold).mean()), 4),
    }


def aligned(source: str, text: str) -> float:
    return CopyCheck(source).aligned_share(canonical_words(text))


def short_sources(corpus: PreparedCorpus, retriever, rng: np.random.Generator, count: int) -> dict[str, object]:
    """Criterion 2 where chance alignment is likeliest: sources of 12-30 words (every third row
    scanned) against their 50 best neighbours, titles included (as the env checks hits)."""
    rows = [r for r in range(1, len(corpus.store) + 1, 3)
            if 12 <= len(canonical_words(corpus.store.get(r).text)) <= 30]
    picked = rng.choice(rows, size=min(count, len(rows)), replace=False).tolist() if rows else []
    values: list[float] = []
    worst: list[tuple[float, str, str]] = []
    for row in picked:
        passage = corpus.store.get(row)
        check = CopyCheck(passage.text)
        for hit in retriever.search(passage.text, 50, exclude_ids=(passage.id,)):
            value = check.aligned_share(canonical_words(f"{hit.title}\n{hit.text}"))
            values.append(value)
            worst.append((round(value, 3), passage.id, hit.passage_id))
    worst.sort(reverse=True)
    return {"sources": len(picked), "aligned_share": summary(values, ALIGNED_THRESHOLD), "highest": worst[:5]}


def main() -> None:
    args = neighbour_sample_args(__doc__, RESULTS)
    corpus = PreparedCorpus.open(args.corpus, progress=False)
    retriever = corpus.retriever("tantivy")
    stop = stop_words()
    rng = np.random.default_rng(args.seed)
    size = min(args.passages, len(corpus.store))
    rows = rng.choice(len(corpus.store), size=size, replace=False) + 1
    others = rng.choice(len(corpus.store), size=size, replace=False) + 1
    copies: dict[str, list[float]] = {}
    copies_aligned: dict[str, list[float]] = {}
    copied: dict[str, list[float]] = {}
    neighbours: dict[str, list[float]] = {
        "containment": [], "aligned_share": [], "aligned_content_lcs": [], "vocabulary_filtered": []
    }
    above: list[dict[str, object]] = []
    started = time.perf_counter()
    for row, other_row in zip(rows.tolist(), others.tolist(), strict=True):
        passage = corpus.store.get(row)
        other = corpus.store.get(other_row).text
        while len(other) < len(passage.text):
            other = f"{other} {other}"
        source = shingles(passage.text)
        check = CopyCheck(passage.text)
        for name, text in variants(passage.text, other).items():
            copies.setdefault(name, []).append(containment(source, shingles(text)))
            copies_aligned.setdefault(name, []).append(check.aligned_share(canonical_words(text)))
            copied.setdefault(name, []).append(float(check.is_copy(text)))
        query = " ".join(passage.text.split()[:QUERY_WINDOW_WORDS])
        for hit in retriever.search(query, args.top, exclude_ids=(passage.id,)):
            scores = {
                "containment": containment(source, shingles(hit.text)),
                "aligned_share": check.aligned_share(canonical_words(hit.text)),
                "aligned_content_lcs": aligned_content(passage.text, hit.text, stop),
                "vocabulary_filtered": vocabulary_filtered(passage.text, hit.text),
            }
            for key, value in scores.items():
                neighbours[key].append(value)
            if scores["aligned_share"] >= ALIGNED_THRESHOLD or max(
                scores["containment"], scores["aligned_content_lcs"], scores["vocabulary_filtered"]
            ) >= NEAR_DUPLICATE_THRESHOLD:
                above.append({"source": passage.id, "neighbour": hit.passage_id, **{k: round(v, 3) for k, v in scores.items()}})
    disguised = {
        name: {
            "aligned_share": summary([aligned(t, v) for t, v in pairs], ALIGNED_THRESHOLD),
            "aligned_content_lcs": summary([aligned_content(t, v, stop) for t, v in pairs]),
            "vocabulary_filtered": summary([vocabulary_filtered(t, v) for t, v in pairs]),
        }
        for name, pairs in {
            name: [(corpus.store.get(r).text, variants(corpus.store.get(r).text, "x")[name]) for r in rows.tolist()]
            for name in ("every_third_word_changed", "filler_word_interleaved", "source_words_interleaved")
        }.items()
    }
    short = short_sources(corpus, retriever, np.random.default_rng(args.seed + 1), args.passages)
    atomic_write_json(args.out, {
        "short_sources_vs_50_neighbours": short,
        "corpus": str(corpus.manifest["source"]),
        "passages": size,
        "top": args.top,
        "seed": args.seed,
        "threshold": NEAR_DUPLICATE_THRESHOLD,
        "aligned_threshold": ALIGNED_THRESHOLD,
        "copies_share_counted_as_copy": {name: round(float(np.mean(v)), 4) for name, v in copied.items()},
        "copies_containment": {name: summary(values) for name, values in copies.items()},
        "copies_aligned_share": {name: summary(v, ALIGNED_THRESHOLD) for name, v in copies_aligned.items()},
        "neighbours": {
            name: summary(values, ALIGNED_THRESHOLD if name == "aligned_share" else NEAR_DUPLICATE_THRESHOLD)
            for name, values in neighbours.items()
        },
        "neighbours_counted_as_copy": sum(
            1 for c, a in zip(neighbours["containment"], neighbours["aligned_share"], strict=True)
            if c >= NEAR_DUPLICATE_THRESHOLD or a >= ALIGNED_THRESHOLD
        ),
        "neighbours_at_or_above_threshold": above,
        "disguised_copies_other_measures": disguised,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
    })
    print(args.out)


if __name__ == "__main__":
    main()

"""How similar are a passage and its best BM25 neighbours? Calibrates the near-duplicate threshold.

For ``--passages`` random passages of a corpus (seeded), search the corpus with
the passage's words (source excluded), and compute the shingle containment of
``ramp_env.masking.near_duplicates`` between the passage and each of its top
``--top`` hits, for 3-word and 5-word shingles. Unrelated-but-similar passages
(same topic, templated stubs) are exactly these neighbours, so their similarity
distribution says how high the threshold must sit to keep them; the synthetic
edits (one word changed, first half, copy plus a sentence, ...) say how low it
must sit to catch copies. Writes ``benchmarks/results/near_duplicates.json``.

    RAMP_ENV_CACHE=/work/cache nice -n 10 python benchmarks/near_duplicates.py
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
from _common import neighbour_sample_args  # this folder's shared helpers (on sys.path)

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.near_duplicates import (
    NEAR_DUPLICATE_THRESHOLD,
    QUERY_WINDOW_WORDS,
    containment,
    shingles,
)

RESULTS = Path(__file__).parent / "results" / "near_duplicates.json"


def edits(text: str, rng: np.random.Generator) -> dict[str, str]:
    """Copies of ``text`` that must count as near-duplicates."""
    words = text.split()
    i = int(rng.integers(len(words)))
    one_word = words[:i] + ["zzxqv"] + words[i + 1 :]
    four = list(words)
    for j in rng.choice(len(words), size=min(4, len(words)), replace=False):
        four[int(j)] = "zzxqv"
    return {
        "one_word_changed": " ".join(one_word),
        "four_words_changed": " ".join(four),
        "first_half": " ".join(words[: max(1, len(words) // 2)]),
        "plus_one_sentence": text + " It was later renamed by the new council in a vote.",
    }


def main() -> None:
    args = neighbour_sample_args(__doc__, RESULTS)
    args.out.parent.mkdir(parents=True, exist_ok=True)

    corpus = PreparedCorpus.open(args.corpus, progress=False)
    retriever = corpus.retriever("tantivy")
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(corpus.store), size=min(args.passages, len(corpus.store)), replace=False) + 1
    neighbours: dict[int, list[float]] = {3: [], 5: []}
    copies: dict[int, dict[str, list[float]]] = {3: {}, 5: {}}
    above: list[dict[str, object]] = []
    started = time.perf_counter()
    for row in rows.tolist():
        passage = corpus.store.get(row)
        query = " ".join(passage.text.split()[:QUERY_WINDOW_WORDS])
        hits = retriever.search(query, args.top, exclude_ids=(passage.id,))
        for n in (3, 5):
            source = shingles(passage.text, n)
            for hit in hits:
                sim = containment(source, shingles(hit.text, n))
                neighbours[n].append(sim)
                if n == 3 and sim >= NEAR_DUPLICATE_THRESHOLD:
                    above.append({"source": passage.id, "hit": hit.passage_id, "similarity": round(sim, 3)})
            for name, edited in edits(passage.text, rng).items():
                copies[n].setdefault(name, []).append(containment(source, shingles(edited, n)))

    def summary(values: list[float]) -> dict[str, float]:
        a = np.asarray(values)
        return {
            "n": int(a.size),
            "mean": round(float(a.mean()), 4),
            "p50": round(float(np.percentile(a, 50)), 4),
            "p99": round(float(np.percentile(a, 99)), 4),
            "max": round(float(a.max()), 4),
            "p1": round(float(np.percentile(a, 1)), 4),
            **{f"share_at_or_above_{t}": round(float((a >= t).mean()), 4) for t in (0.5, 0.6, 0.7, 0.8)},
        }

    result = {
        "corpus": corpus.manifest["source"],
        "passages": int(rows.size),
        "top": args.top,
        "threshold": NEAR_DUPLICATE_THRESHOLD,
        "neighbour_similarity": {f"{n}-gram": summary(v) for n, v in neighbours.items()},
        "edited_copy_similarity": {
            f"{n}-gram": {name: summary(v) for name, v in per.items()} for n, per in copies.items()
        },
        "neighbours_at_or_above_threshold_3gram": above,
        "seconds": round(time.perf_counter() - started, 2),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, shared by several engineers (loaded)",
    }
    atomic_write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("neighbour_similarity", "edited_copy_similarity")}, indent=1))


if __name__ == "__main__":
    main()

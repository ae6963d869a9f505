"""Draw (mask, candidate evidence) pairs from the default corpus for two-reader labelling.

For evidence v2 (issue 21) the labelled set must measure the criterion on what it could
accept, not only on what the old criterion accepted. For each drawn task span (a random
maskable span of a random passage, fresh generator seed), the engine's candidate query
(:func:`ramp_env.masking.evidence.search_candidates`: passages holding every answer term,
source and near copies excluded) gives up to 20 candidates; of those whose text holds the
answer as whole tokens, two are kept: the best-ranked one (``stratum="top"``: what an
evidence oracle would read) and one drawn at random from the rest (``stratum="other"``).
Each row records whether the *old* criterion (evidence v1) accepts it, for comparison.

Readers never see this file's fields beyond the texts (``benchmarks/evidence_label_batches.py``
writes their batch files); the labels come back keyed by ``pair_id``.

    RAMP_ENV_CACHE=... python benchmarks/evidence_label_pool.py --out /work/labels/pairs.jsonl --spans 200
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import default_corpus_search  # this folder's shared helpers (on sys.path)

from ramp_env.cache import atomic_path
from ramp_env.corpus.passage import Passage
from ramp_env.masking import maskable_spans
from ramp_env.masking.evidence import candidate_query, search_candidates, states_fact
from ramp_env.masking.near_duplicates import NearDuplicateFinder, is_near_duplicate
from ramp_env.text.normalize import normalize_answer


def _holds_answer(answer: str, text: str) -> bool:
    a = normalize_answer(answer)
    return bool(a) and f" {a} " in f" {normalize_answer(text)} "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--spans", type=int, default=200, help="task spans to draw (each gives up to 2 pairs)")
    parser.add_argument("--seed", type=int, default=2126, help="fresh: not used by any earlier sample")
    parser.add_argument("--id-prefix", default="p")
    parser.add_argument("--v1-top", action="store_true",
                        help="instead: spans the old criterion supports, paired with its top evidence (stratum v1-top)")
    parser.add_argument("--exclude-labelled", action="append", default=[], metavar="JSONL",
                        help="skip source passages of an existing labelled set (for a fresh held-out set)")
    args = parser.parse_args()

    corpus, spans, retriever = default_corpus_search()
    copies = NearDuplicateFinder(retriever)
    rng = np.random.default_rng(args.seed)
    rows: list[dict] = []
    seen_passages: set[str] = set()
    for path in args.exclude_labelled:
        with open(path, encoding="utf-8") as fh:
            seen_passages.update(json.loads(line)["source_id"] for line in fh if line.strip())
    drawn = 0
    while drawn < args.spans:
        row = int(rng.integers(1, len(corpus.store) + 1))
        source = corpus.store.get(row)
        if source.id in seen_passages or len(source.text) > 4000:
            continue
        candidates = maskable_spans(source, spans.get(row))
        if not candidates:
            continue
        span = candidates[int(rng.integers(len(candidates)))]
        answer = source.text[span.start : span.end]
        exclude = {source.id, *copies.ids(source.id, source.text)}
        required, ranking = candidate_query(source, span)
        if not normalize_answer(required):
            continue
        hits = [
            h for h in search_candidates(retriever, required, ranking, 20, exclude)
            if h.passage_id not in exclude and _holds_answer(answer, h.text)
            and not is_near_duplicate(source.text, h.text)
        ]
        if args.v1_top:
            hits = [h for h in hits if states_fact(source, span, Passage(h.passage_id, h.title, h.text))]
        if not hits:
            continue
        seen_passages.add(source.id)
        drawn += 1
        picks = [("v1-top" if args.v1_top else "top", 0, hits[0])]
        if not args.v1_top and len(hits) > 1:
            i = int(rng.integers(1, len(hits)))
            picks.append(("other", i, hits[i]))
        for stratum, rank, hit in picks:
            e = Passage(hit.passage_id, hit.title, hit.text)
            rows.append({
                "pair_id": f"{args.id_prefix}{len(rows):04d}", "stratum": stratum, "candidate_rank": rank,
                "n_candidates": len(hits),
                "source_id": source.id, "source_title": source.title, "source_text": source.text,
                "start": span.start, "end": span.end, "span_type": span.label.value, "answer": answer,
                "evidence_id": e.id, "evidence_title": e.title, "evidence_text": e.text,
                "accepted_v1": states_fact(source, span, e),
            })
    with atomic_path(args.out) as tmp:
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} pairs from {drawn} spans to {args.out}")


if __name__ == "__main__":
    main()

"""Draw (mask, evidence) pairs from the default corpus for hand labelling.

Writes JSONL rows with the source passage, the span, one candidate evidence
passage and ``accepted`` (whether :func:`ramp_env.masking.evidence.states_fact`
accepts it); a person then adds ``label`` (true when the evidence passage really
states the masked fact) and the rows become
``tests/masking/fixtures/evidence_labels.jsonl``. Two strata:

* ``accepted``: a random maskable span of a random passage with evidence, and
  its best-ranked evidence passage (what the env hands the evidence oracle);
* ``rejected``: a candidate the criterion turned down although it holds the
  answer and names the subject (the naive criterion would accept it), to show
  what the context requirement buys.

The generator seed (7) is disjoint from the one the criterion's constants were
read on (1001).

    RAMP_ENV_CACHE=/work/cache python benchmarks/evidence_sample.py --out /tmp/pairs.jsonl
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import default_corpus_search  # this folder's shared helpers (on sys.path)

from ramp_env.corpus.passage import Passage
from ramp_env.masking import maskable_spans
from ramp_env.masking.evidence import EvidenceIndex, candidate_query, search_candidates, states_fact, subject_of
from ramp_env.masking.near_duplicates import is_near_duplicate, near_duplicate_ids
from ramp_env.text.normalize import normalize_answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--accepted", type=int, default=110)
    parser.add_argument("--rejected", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    corpus, spans, retriever = default_corpus_search()
    index = EvidenceIndex(retriever)
    rng = np.random.default_rng(args.seed)
    rows: list[dict] = []
    n_acc = n_rej = 0
    while n_acc < args.accepted or n_rej < args.rejected:
        row = int(rng.integers(1, len(corpus.store) + 1))
        source = corpus.store.get(row)
        candidates = maskable_spans(source, spans.get(row))
        if not candidates:
            continue
        span = candidates[int(rng.integers(len(candidates)))]
        answer = source.text[span.start : span.end]
        base = {
            "source_id": source.id, "source_title": source.title, "source_text": source.text,
            "start": span.start, "end": span.end, "span_type": span.label.value, "answer": answer,
        }
        evidence = index.evidence_for(source, span)
        if evidence and n_acc < args.accepted:
            e = corpus.store.get(corpus.store.rowid_of(evidence[0]))
            rows.append({**base, "evidence_id": e.id, "evidence_title": e.title, "evidence_text": e.text,
                         "accepted": True})
            n_acc += 1
            continue
        if n_rej >= args.rejected:
            continue
        # a candidate the naive criterion accepts and ours rejects
        exclude = {source.id, *near_duplicate_ids(source, retriever, exclude_ids=(source.id,))}
        required, ranking = candidate_query(source, span)
        subject = " ".join(subject_of(source.title))
        for hit in search_candidates(retriever, required, ranking, 20, exclude):
            e = Passage(hit.passage_id, hit.title, hit.text)
            text = f" {normalize_answer(e.title + ' ' + e.text)} "
            if is_near_duplicate(source.text, e.text) or not subject or f" {subject} " not in text:
                continue
            if f" {normalize_answer(answer)} " in f" {normalize_answer(e.text)} " and not states_fact(source, span, e):
                rows.append({**base, "evidence_id": e.id, "evidence_title": e.title, "evidence_text": e.text,
                             "accepted": False})
                n_rej += 1
                break
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(f"wrote {len(rows)} pairs ({n_acc} accepted, {n_rej} rejected) to {args.out}")


if __name__ == "__main__":
    main()

"""Score a span extractor against labelled masked spans: wrong types, non-salient spans, drops.

The labels file is JSONL, one masked span per line, drawn from the env *before* the span
cleaning (issue 21)::

    {"id": ..., "passage_id": ..., "start": ..., "end": ..., "text": ..., "current_type": ...,
     "label_type": "PERSON|ORG|PLACE|DATE|NUMBER|NORP|EVENT|WORK|OTHER|NONE", "salient": true}

``label_type`` NONE means the span is no entity or fact slot at all. Each span is scored
twice: ``before`` with ``current_type`` (the extractor that drew it), ``after`` with the
extractor under test (default ``auto``, bound to the corpus as the env binds it) run on
the labelled passage: a span it keeps with the same offsets is scored by its new type; a
span it drops, or keeps with other offsets, counts as neither right nor wrong and is
reported in ``dropped``. A kept span is *bad* when its type is wrong (NONE is wrong for
every type; NAME and CONCEPT match OTHER; a row's ``correct_types`` list, when given, decides) or
it is not salient. Rates carry Wilson 95%
intervals (scipy).

    python benchmarks/span_quality.py --labels LABELS.jsonl --out benchmarks/results/span_quality_tune.json

Several label files are scored each (``sets``) and pooled (``before``/``after``)::

    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v{2,3,4}.jsonl \
        --out benchmarks/results/superseded/span_quality_fresh_rules2.json   # rules v2, at commit 0e5ee62

The report sets of the current extractor (span rules v7: drawn from its own masks after its rules
were fixed; sets 9 and 10 pooled, the figure the README quotes, then each alone), and set 8, the
set v7 was written from, in sample::

    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v9.jsonl \
        tests/text/fixtures/span_labels_v10.jsonl --out benchmarks/results/span_quality_v9_v10.json
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v10.jsonl \
        --out benchmarks/results/span_quality_v10.json
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v9.jsonl \
        --out benchmarks/results/span_quality_v9.json
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v8.jsonl \
        --out benchmarks/results/span_quality_v8_rules7.json

Earlier extractors, each at the commit that shipped it (``superseded/``): set 8 was the report
set of span rules v6 (commit fca1c5e), sets 6 and 7 its development sets and the report sets of
v5 (commit ff0fc21), set 5 the report set of v3 (the filter, commit fc30c28)::

    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v8.jsonl \
        --out benchmarks/results/superseded/span_quality_v8.json            # rules v6
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v{6,7}.jsonl \
        --out benchmarks/results/superseded/span_quality_v6_v7_rules6.json  # rules v6, in sample
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v6.jsonl \
        --out benchmarks/results/superseded/span_quality_v6.json            # rules v5
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v7.jsonl \
        --out benchmarks/results/superseded/span_quality_v7.json            # rules v5, drawn after set 6
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v{6,7}.jsonl \
        --out benchmarks/results/superseded/span_quality_v6_v7.json         # rules v5, both and pooled
    python benchmarks/span_quality.py --labels tests/text/fixtures/span_labels_v5.jsonl \
        --out benchmarks/results/superseded/span_quality_v5.json            # rules v3
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from _common import check_output, labelled_rows  # this folder's shared helpers (on sys.path)
from scipy.stats import binomtest

from ramp_env.cache import atomic_write_json

LABEL_TYPES = ("PERSON", "ORG", "PLACE", "DATE", "NUMBER", "NORP", "EVENT", "WORK", "OTHER", "NONE")
FIELDS = {"passage_id": str, "start": int, "end": int, "text": str, "current_type": str, "label_type": str,
          "salient": bool}
RESULTS = Path(__file__).parent / "results" / "span_quality_tune.json"


def load_labels(path: Path) -> list[dict[str, Any]]:
    """The labelled rows, checked field by field (a bad row is an error naming file and line)."""
    rows = []
    try:
        for lineno, row in labelled_rows(path, FIELDS):
            if row["label_type"] not in LABEL_TYPES:
                raise SystemExit(f"{path}:{lineno}: label_type {row['label_type']!r} is not one of {LABEL_TYPES}")
            rows.append(row)
    except ValueError as exc:  # a script error: one line, no traceback
        raise SystemExit(str(exc)) from None
    return rows


def type_matches(ours: str, row: dict[str, Any]) -> bool:
    """Whether our type is right for the labelled span: one of its ``correct_types`` when the file
    lists them, else the label itself (NAME and CONCEPT match OTHER; nothing matches NONE)."""
    if isinstance(row.get("correct_types"), list):
        return ours in row["correct_types"]
    label = row["label_type"]
    return ours == label or (ours in ("NAME", "CONCEPT") and label == "OTHER")


def rate(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"k": 0, "n": 0, "rate": None, "ci95": None}
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return {"k": k, "n": n, "rate": round(k / n, 4), "ci95": [round(ci.low, 4), round(ci.high, 4)]}


def score(rows: list[dict[str, Any]], types: list[str | None]) -> dict[str, Any]:
    """Rates over the rows whose type is not None (None = dropped by the extractor)."""
    kept = [(r, t) for r, t in zip(rows, types, strict=True) if t is not None]
    wrong = [not type_matches(t, r) for r, t in kept]
    non_salient = [not r["salient"] for r, _ in kept]
    bad = [w or ns for w, ns in zip(wrong, non_salient, strict=True)]
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    right: Counter[str] = Counter()
    for r, t in kept:
        confusion[t][r["label_type"]] += 1
        right[t] += type_matches(t, r)
    per_type = {
        t: {"kept": sum(c.values()), "right": right[t], "labels": dict(sorted(c.items()))}
        for t, c in sorted(confusion.items())
    }
    return {
        "spans": len(rows), "kept": len(kept), "dropped": rate(len(rows) - len(kept), len(rows)),
        "wrong_type": rate(sum(wrong), len(kept)), "non_salient": rate(sum(non_salient), len(kept)),
        "wrong_type_or_non_salient": rate(sum(bad), len(kept)), "per_type": per_type,
    }


def labelled_passages(rows: list[dict[str, Any]], extractor_spec: str, corpus_name: str) -> tuple[Any, dict[str, str]]:
    """The extractor bound to the corpus as the env binds it, and the text of each labelled
    passage (checked: every label's text must sit at its offsets)."""
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.text.spans import make_span_extractor

    corpus = PreparedCorpus.open(corpus_name, progress=False)
    extractor = corpus.bind_extractor(make_span_extractor(extractor_spec))
    texts = {}
    for pid in sorted({r["passage_id"] for r in rows}):
        rowid = corpus.store.rowid_of(pid)
        if rowid is None:
            raise SystemExit(f"passage {pid!r} of the labels is not in corpus {corpus_name!r}")
        texts[pid] = corpus.store.get(rowid).text
    for r in rows:
        if texts[r["passage_id"]][r["start"] : r["end"]] != r["text"]:
            raise SystemExit(f"label {r.get('id')}: text {r['text']!r} is not at {r['start']}:{r['end']} of its passage")
    return extractor, texts


def new_types(rows: list[dict[str, Any]], extractor_spec: str, corpus_name: str) -> tuple[list[str | None], str]:
    extractor, texts = labelled_passages(rows, extractor_spec, corpus_name)
    ids = list(texts)
    found = dict(zip(ids, extractor.extract_batch(texts[p] for p in ids), strict=True))
    out: list[str | None] = []
    for r in rows:
        same = [s for s in found[r["passage_id"]] if (s.start, s.end) == (r["start"], r["end"])]
        out.append(same[0].label.value if same else None)
    return out, extractor.cache_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, nargs="+", required=True, help="one or more label files")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--extractor", default="auto")
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--half", choices=["tune", "heldout"], default=None,
                        help="score only the rows of this half (labels files with a 'half' field)")
    parser.add_argument("--show-errors", action="store_true", help="print the spans still bad after, and the drops")
    args = parser.parse_args()
    started = time.perf_counter()
    load = os.getloadavg()
    check_output(args.out)
    per_file = []
    for path in args.labels:  # every file is checked before the extractor loads
        rows = load_labels(path)
        if args.half is not None:
            rows = [r for r in rows if r.get("half") == args.half]
            if not rows:
                raise SystemExit(f"{path}: no row has half={args.half!r}")
        per_file.append(rows)
    rows = [r for file_rows in per_file for r in file_rows]
    after, key = new_types(rows, args.extractor, args.corpus)
    sets, at = {}, 0
    for path, file_rows in zip(args.labels, per_file, strict=True):
        mine = after[at : at + len(file_rows)]
        at += len(file_rows)
        sets[str(path)] = {"before": score(file_rows, [r["current_type"] for r in file_rows]),
                           "after": score(file_rows, mine)}
    result = {
        "labels": str(args.labels[0]) if len(args.labels) == 1 else [str(p) for p in args.labels],
        "half": args.half, "extractor": key,
        "before": score(rows, [r["current_type"] for r in rows]), "after": score(rows, after),
        **({"sets": sets} if len(args.labels) > 1 else {}),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average_at_start": load},
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.show_errors:
        for r, t in zip(rows, after, strict=True):
            if t is None:
                print(f"DROP  {r['current_type']:7s} label={r['label_type']:6s} salient={r['salient']!s:5s} {r['text']!r}")
            elif not type_matches(t, r) or not r["salient"]:
                print(f"BAD   {r['current_type']:7s}->{t:7s} label={r['label_type']:6s} salient={r['salient']!s:5s} "
                      f"{r['text']!r}")
    atomic_write_json(args.out, result)
    shown = [*sets.items(), ("pooled", result)] if len(sets) > 1 else [("", result)]
    for name, scored in shown:
        for side in ("before", "after"):
            s = scored[side]
            print(f"{name} {side:6s}: kept {s['kept']}/{s['spans']}  wrong type {s['wrong_type']['rate']}  "
                  f"non-salient {s['non_salient']['rate']}  bad {s['wrong_type_or_non_salient']['rate']} "
                  f"{s['wrong_type_or_non_salient']['ci95']}".strip())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

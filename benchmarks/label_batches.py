"""Write the reader files for two-reader labelling, and merge the readers' labels back.

Readers (people, or subagents that never see the package's code) get only a plain text
file of items and the question (``docs/labelling.md``); they answer in JSONL keyed by the
item id. ``make-*`` writes the reader files; ``merge-spans`` joins two readers' span labels
(and a third reader's on their disagreements) into a labelled set in the format of
``tests/text/fixtures/span_labels_v5.jsonl``, counting the disagreements. Without the third
reader's file it only lists the disagreements (the items to give a third reader).

    python benchmarks/label_batches.py make-pairs /work/labels/pairs.jsonl /work/labels/read --batches 2
    python benchmarks/label_batches.py make-spans /work/labels/spans.jsonl /work/labels/read --batches 1
    python benchmarks/label_batches.py merge-spans /work/labels/spans.jsonl OUT.jsonl \
        --readers A.jsonl B.jsonl [--third C.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import check_output, labelled_rows  # this folder's shared helpers (on sys.path when run as a script)

from ramp_env.cache import atomic_path


def _rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _marked(text: str, start: int, end: int) -> str:
    return f"{text[:start]}⟦{text[start:end]}⟧{text[end:]}"


def pair_item(r: dict) -> str:
    return (
        f"=== ITEM {r['pair_id']} ===\n"
        f"SUBJECT (title of the source article): {r['source_title']}\n"
        f"SOURCE PASSAGE (the hidden fact is marked ⟦ ⟧):\n{_marked(r['source_text'], r['start'], r['end'])}\n\n"
        f"CANDIDATE PASSAGE (title: {r['evidence_title']}):\n{r['evidence_text']}\n"
    )


def span_item(r: dict) -> str:
    return (
        f"=== ITEM {r['span_id']} ===\n"
        f"ARTICLE: {r['title']}\n"
        f"PASSAGE (the span is marked ⟦ ⟧):\n{_marked(r['text'], r['start'], r['end'])}\n"
        f"SPAN: {r['span']}\n"
    )


def make(rows: list[dict], item, out_dir: Path, prefix: str, batches: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // batches)
    for b in range(batches):
        chunk = rows[b * size : (b + 1) * size]
        (out_dir / f"{prefix}_batch{b + 1}.txt").write_text("\n".join(item(r) for r in chunk), encoding="utf-8")
        print(f"{prefix}_batch{b + 1}.txt: {len(chunk)} items")


def _answers(path: str) -> dict[str, dict]:
    """A reader's answers by item id; a line that is no answer is an error naming file and line."""
    try:
        return {row["id"]: {"type": row["type"], "salient": row["salient"], "why": str(row.get("why", ""))}
                for _, row in labelled_rows(path, {"id": str, "type": str, "salient": bool})}
    except ValueError as exc:  # labelled_rows names file and line first: "a.jsonl:2: field 'type' must be ..."
        where, _, what = str(exc).partition(": ")
        raise SystemExit(f"{where}: not an answer ({what})") from None


def merge_spans(rows: list[dict], a: dict[str, dict], b: dict[str, dict], third: dict[str, dict] | None,
                half: str = "fresh") -> tuple[list[dict], list[str]]:
    """The labelled rows (two readers agreeing on type and salience, else the third reader) and the
    ids they disagree on. Without ``third`` no row is returned for a disagreement."""
    merged, disagreements = [], []
    for r in rows:
        i = r["span_id"]
        if i not in a or i not in b:
            raise SystemExit(f"item {i} has no answer from {'the first' if i not in a else 'the second'} reader")
        x, y = a[i], b[i]
        if (x["type"], x["salient"]) == (y["type"], y["salient"]):
            label, how = x, "agreement"
        else:
            disagreements.append(i)
            if third is None or i not in third:
                continue
            label, how = third[i], "third reader"
        kind = label["type"]
        correct = [] if kind == "NONE" else ["NAME", "CONCEPT"] if kind == "OTHER" else [kind]
        merged.append({
            "id": i, "passage_id": r["passage_id"], "title": r["title"], "start": r["start"], "end": r["end"],
            "text": r["span"], "num_masks": r["num_masks"], "current_type": r["current_type"], "label_type": kind,
            "salient": label["salient"], "correct_types": correct,
            "reader_a": [x["type"], x["salient"], x["why"]], "reader_b": [y["type"], y["salient"], y["why"]],
            "settled_by": how, "half": half,
            **({"reader_c": [label["type"], label["salient"], label["why"]]} if how == "third reader" else {}),
        })
    return merged, disagreements


def select_pairs(pool: list[dict], v1_top: list[dict], others: int, seed: int) -> list[dict]:
    """The labelled pool: every candidate that names the subject or that the old criterion
    accepts, ``others`` of the rest (candidates that do not name the subject), and the old
    criterion's top evidence of other spans (what the env served), shuffled with ``seed``."""
    import random

    from ramp_env.masking.fact_check import names_subject as text_names_subject

    def names_subject(r: dict) -> bool:
        return text_names_subject(r["evidence_title"] + " " + r["evidence_text"], r["source_title"])

    rng = random.Random(seed)
    keep = [r for r in pool if names_subject(r) or r["accepted_v1"]]
    rest = [r for r in pool if not (names_subject(r) or r["accepted_v1"])]
    chosen = keep + rng.sample(rest, min(others, len(rest))) + v1_top
    rng.shuffle(chosen)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["select-pairs", "make-pairs", "make-spans", "merge-spans"])
    parser.add_argument("--v1-top", help="select-pairs: the old criterion's top-evidence pairs")
    parser.add_argument("--others", type=int, default=110)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("rows")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--readers", nargs=2, metavar=("A", "B"), help="merge-spans: the two readers' answers")
    parser.add_argument("--third", help="merge-spans: the third reader's answers on the disagreements")
    args = parser.parse_args()
    rows = _rows(args.rows)
    if args.what == "merge-spans":  # out_dir is the output file here
        if not args.readers:
            raise SystemExit("merge-spans needs --readers A.jsonl B.jsonl")
        check_output(args.out_dir)
        third = _answers(args.third) if args.third else None
        merged, disagreements = merge_spans(rows, _answers(args.readers[0]), _answers(args.readers[1]), third)
        print(f"{len(disagreements)} disagreements: {' '.join(disagreements)}")
        if third is None and disagreements:
            print("give these to a third reader, then run again with --third")
            return
        with atomic_path(args.out_dir) as tmp:
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in merged), encoding="utf-8")
        print(f"wrote {len(merged)} labelled spans to {args.out_dir}")
        return
    if args.what == "select-pairs":  # out_dir is the output file here
        check_output(args.out_dir)
        chosen = select_pairs(rows, _rows(args.v1_top), args.others, args.seed)
        with atomic_path(args.out_dir) as tmp:
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
        print(f"selected {len(chosen)} pairs into {args.out_dir}")
    elif args.what == "make-pairs":
        make(rows, pair_item, args.out_dir, "pairs", args.batches)
    else:
        make(rows, span_item, args.out_dir, "spans", args.batches)


if __name__ == "__main__":
    main()

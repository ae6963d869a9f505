"""Draw masked spans as RAMP-v0 masks them (default settings) for two-reader type labelling.

Tasks are drawn with 1, 2, 3 and 4 masks (a quarter of the spans each, fresh seeds) and
every mask of a task becomes a row; readers give each span its correct type and say whether
it is a salient fact slot (``benchmarks/span_quality.py`` scores an extractor against them).

    RAMP_ENV_CACHE=... python benchmarks/span_label_pool.py --out /work/labels/spans.jsonl --spans 240

A later set leaves out the spans earlier sets labelled (same passage and offsets), after the
draw, and numbers the rest with its own prefix (set 2 of ``docs/labelling.md``)::

    python benchmarks/span_label_pool.py --out spans_v2.jsonl --spans 300 --seed 53100 --id-prefix v \
        --exclude-labelled tests/text/fixtures/span_labels.jsonl
"""

from __future__ import annotations

import argparse
import json

import gymnasium as gym
from _common import check_output, read_labels  # this folder's shared helpers (on sys.path)

import ramp_env  # noqa: F401  (registers the ids)
from ramp_env.cache import atomic_path


def leave_out_labelled(rows: list[dict], labelled: set[tuple[str, int, int]], prefix: str) -> list[dict]:
    """The drawn rows whose (passage, start, end) no earlier set labelled, numbered ``prefix0000``..."""
    kept = [r for r in rows if (r["passage_id"], r["start"], r["end"]) not in labelled]
    return [{**r, "span_id": f"{prefix}{i:04d}"} for i, r in enumerate(kept)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--spans", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7700, help="fresh: not used by any earlier sample")
    parser.add_argument("--id-prefix", default="s", help="first letter of the span ids (one per set)")
    parser.add_argument("--exclude-labelled", action="append", default=[], metavar="JSONL",
                        help="leave out the spans of an existing labelled set (repeatable)")
    args = parser.parse_args()
    check_output(args.out)
    labelled = {(r["passage_id"], r["start"], r["end"])
                for path in args.exclude_labelled
                for r in read_labels(path, {"passage_id": str, "start": int, "end": int})}

    rows: list[dict] = []
    seen: set[str] = set()
    per_k = args.spans // 4
    for k in (1, 2, 3, 4):
        env = gym.make("RAMP-v0", num_masks=k, progress=False)
        got, episode = 0, 0
        while got < per_k:
            env.reset(seed=args.seed + 1000 * k + episode)
            episode += 1
            task = env.unwrapped.task
            if task.passage_id in seen:
                continue
            seen.add(task.passage_id)
            for (a, b), answer, kind in zip(task.spans, task.answers, task.span_types, strict=True):
                rows.append({
                    "span_id": f"s{len(rows):04d}", "num_masks": k, "passage_id": task.passage_id,
                    "title": task.title, "text": task.text, "start": a, "end": b, "span": answer,
                    "current_type": kind,
                })
                got += 1
        env.close()
    drawn = len(rows)
    rows = leave_out_labelled(rows, labelled, args.id_prefix)
    with atomic_path(args.out) as tmp:
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} spans to {args.out} ({drawn - len(rows)} of {drawn} drawn were labelled before)")


if __name__ == "__main__":
    main()

"""Draw masked spans as RAMP-v0 masks them (default settings) for two-reader type labelling.

Tasks are drawn with 1, 2, 3 and 4 masks (a quarter of the spans each, fresh seeds) and
every mask of a task becomes a row; readers give each span its correct type and say whether
it is a salient fact slot (``benchmarks/span_quality.py`` scores an extractor against them).

    RAMP_ENV_CACHE=... python benchmarks/span_label_pool.py --out /work/labels/spans.jsonl --spans 240
"""

from __future__ import annotations

import argparse
import json

import gymnasium as gym

import ramp_env  # noqa: F401  (registers the ids)
from ramp_env.cache import atomic_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--spans", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7700, help="fresh: not used by any earlier sample")
    args = parser.parse_args()

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
    with atomic_path(args.out) as tmp:
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} spans to {args.out}")


if __name__ == "__main__":
    main()

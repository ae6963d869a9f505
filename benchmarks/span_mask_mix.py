"""The span-type mix of masks the env draws, with spaCy's raw entities (v1) and with the cleaned spans.

Draws ``--draws`` tasks (seeds ``--seed``..) at ``--num-masks`` masks from the default
``RAMP-v0`` (evidence required, as by default) twice: with the extractor the env uses and
with spaCy's raw entities (the v1 extractor, whose span table is built if missing: about
ten minutes), and counts the masks per type and the distinct passages. Cleaning drops
mistyped ORGs, PERSONs and generic numbers, so PLACE becomes a larger share of the masks;
this file measures by how much, for the task pool's sampling to balance. Writes
``benchmarks/results/span_mask_mix.json``.

    python benchmarks/span_mask_mix.py --num-masks 4 --draws 100
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import gymnasium as gym

import ramp_env  # noqa: F401 - registers RAMP-v0
from ramp_env.cache import atomic_write_json
from ramp_env.text.spans import SalientSpan, SpacySpanExtractor, spacy_model_version

RESULTS = Path(__file__).parent / "results" / "span_mask_mix.json"


class RawSpacy:
    """spaCy's entities before the cleaning rules, under the v1 extractor's cache key."""

    def __init__(self) -> None:
        self.extractor = SpacySpanExtractor()
        self.cache_key = f"spacy-{self.extractor.model}-{spacy_model_version(self.extractor.model)}-v1"

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list[SalientSpan]]:
        return self.extractor.raw_entities(texts)


def mix(extractor: object, num_masks: int, draws: int, seed: int) -> dict[str, object]:
    env = gym.make("RAMP-v0", num_masks=num_masks, progress=False, span_extractor=extractor)
    types: Counter[str] = Counter()
    passages = set()
    for s in range(seed, seed + draws):
        env.reset(seed=s)
        task = env.unwrapped.task
        types.update(task.span_types)
        passages.add(task.passage_id)
    total = sum(types.values())
    return {
        "extractor": env.unwrapped.spans.path.name, "masks": total, "distinct_passages": len(passages),
        "masks_per_type": dict(types.most_common()),
        "share_per_type": {t: round(n / total, 3) for t, n in types.most_common()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-masks", type=int, default=4)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7100)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started, load = time.perf_counter(), os.getloadavg()
    result = {
        "num_masks": args.num_masks, "draws": args.draws, "seed": args.seed,
        "raw_spacy_v1": mix(RawSpacy(), args.num_masks, args.draws, args.seed),
        "cleaned": mix("auto", args.num_masks, args.draws, args.seed),
        "note": "evidence is required (the env's default); the mix depends on the evidence criterion too",
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average_at_start": load},
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(args.out, result)
    for side in ("raw_spacy_v1", "cleaned"):
        print(side, result[side]["distinct_passages"], result[side]["share_per_type"])


if __name__ == "__main__":
    main()

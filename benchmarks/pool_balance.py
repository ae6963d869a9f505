"""Does the task pool represent the task? Span-type mix per mask count and distinct passages.

For each mask count ``k`` in ``--masks`` and each mask strategy in ``--strategies`` (uniform
``random``, the pre-issue-21 default, against ``balanced``, the new default), the env draws
``--draws`` tasks with reset seeds ``seed, seed+1, ...`` and records each task's passage and
its masks' span types. Both strategies see the same passage draws (a strategy only picks spans
inside the drawn passage, and never consumes randomness on a passage it cannot use), so the
comparison is paired and the distinct-passage counts are those of the env's passage sampling.

Reported per strategy and ``k``: the share of each span type among the masks, its total
variation distance from the same strategy's 1-mask mix, the PLACE share, distinct passages in
the draws, the env's own estimate of the eligible pool (``PoolMonitor``) and whether it warned.

    python benchmarks/pool_balance.py                      # default corpus, 1-4 masks, 100 draws
    python benchmarks/pool_balance.py --corpus tests/fixtures/wiki_sample.jsonl --span-extractor rules
    python benchmarks/pool_balance.py --masks 1 4 --draws 800 --strategies balanced balanced:8 balanced:16 \
        --out benchmarks/results/pool_balance_penalty.json  # stricter repeat penalties than the default 4

``balanced:P`` is ``TypeBalancedMaskStrategy(repeat_penalty=P)`` (``balanced`` is P = 4). Each
task's passage is also counted per source (``by_source``: the id's prefix, ``wiki``/``enwiki``
as ``wikipedia``), for corpora that add passages from elsewhere (``benchmarks/factbook_corpus.py``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ramp_env.cache import atomic_write_json
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking.pool_monitor import SmallPoolWarning
from ramp_env.masking.strategies import MaskStrategy, make_mask_strategy


def mask_strategy(spec: str) -> str | MaskStrategy:
    """A strategy name the env knows, or ``balanced:P`` for a balanced strategy with repeat penalty P."""
    name, _, penalty = spec.partition(":")
    if not penalty:
        return spec
    if name != "balanced":
        raise SystemExit(f"--strategies {spec!r}: only 'balanced' takes a repeat penalty ('balanced:8')")
    try:
        return make_mask_strategy("balanced", repeat_penalty=float(penalty))
    except ValueError as exc:  # float('eight'); an InvalidOptionError (a ValueError) names the bound
        raise SystemExit(f"--strategies {spec!r}: {exc}") from exc


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--span-extractor", default="auto")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--masks", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--strategies", nargs="+", default=["random", "balanced"])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/pool_balance.json")
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": list(os.getloadavg())}


def mix(types: Counter[str]) -> dict[str, float]:
    total = sum(types.values())
    return {t: round(n / total, 4) for t, n in types.most_common()} if total else {}


def place_interval(places: list[int], k: int, seed: int, resamples: int = 2000) -> list[float]:
    """95% bootstrap interval of the PLACE share, resampling whole tasks (masks of a task are not independent)."""
    rng = np.random.default_rng(seed)
    counts = np.asarray(places, dtype=float)
    shares = counts[rng.integers(len(counts), size=(resamples, len(counts)))].mean(axis=1) / k
    return [round(float(q), 4) for q in np.quantile(shares, [0.025, 0.975])]


def total_variation(a: dict[str, float], b: dict[str, float]) -> float:
    return round(0.5 * sum(abs(a.get(t, 0.0) - b.get(t, 0.0)) for t in set(a) | set(b)), 4)


def draw(env: RAMPEnv, k: int, draws: int, seed: int) -> dict[str, Any]:
    env.set_num_masks(k)
    passages: list[str] = []
    types: Counter[str] = Counter()
    places: list[int] = []  # PLACE masks per task, for an interval clustered by task
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallPoolWarning)
        for i in range(draws):
            env.reset(seed=seed + 1000 * k + i)
            task = env.unwrapped.task
            passages.append(task.passage_id)
            types.update(task.span_types)
            places.append(sum(t == "PLACE" for t in task.span_types))
    monitor = env.pool_monitor
    return {
        "distinct_passages": len(set(passages)),
        "type_counts": dict(types.most_common()),
        "type_mix": mix(types),
        "place_share": mix(types).get("PLACE", 0.0),
        "place_share_ci95": place_interval(places, k, seed),
        "estimated_eligible_passages": round(
            (len(env.task_pool) if env.task_pool is not None else env._eligible_rows(k).size)
            * monitor.accepted[k] / max(1, monitor.drawn[k])
        ),
        "draws_per_task": round(monitor.drawn[k] / max(1, monitor.accepted[k]), 2),
        "small_pool_warning": [str(w.message) for w in caught if issubclass(w.category, SmallPoolWarning)],
        "seconds": round(time.perf_counter() - started, 1),
        "by_source": by_source(passages, places, k),
        "passage_ids": passages,
    }


# the default corpus's two packages are both Wikipedia (ramp_env/corpus/default.py)
_SOURCE_OF_PREFIX = {"wiki": "wikipedia", "enwiki": "wikipedia"}


def source_of(passage_id: str) -> str:
    prefix = passage_id.split(":", 1)[0]
    return _SOURCE_OF_PREFIX.get(prefix, prefix)


def by_source(passages: list[str], places: list[int], k: int) -> dict[str, dict[str, Any]]:
    """Per source (the passage id up to its first ':', ``wiki`` and ``enwiki`` counted as ``wikipedia``):
    tasks, distinct passages, PLACE share, and distinct passages in each run of 100 consecutive tasks of
    that source (what 100 episodes restricted to it would see)."""
    sources: dict[str, list[int]] = {}
    for i, passage_id in enumerate(passages):
        sources.setdefault(source_of(passage_id), []).append(i)
    out = {}
    for source, idx in sorted(sources.items()):
        ids = [passages[i] for i in idx]
        out[source] = {
            "tasks": len(idx),
            "distinct_passages": len(set(ids)),
            "place_share": round(sum(places[i] for i in idx) / (k * len(idx)), 4),
            "distinct_per_100_tasks": [len(set(ids[a:a + 100])) for a in range(0, len(ids) - 99, 100)],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    at_start = machine()
    if not Path(args.out).parent.is_dir():
        raise SystemExit(f"--out {args.out}: folder {Path(args.out).parent} does not exist")
    strategies = {spec: mask_strategy(spec) for spec in args.strategies}  # a bad spec stops before any draw
    results: dict[str, dict[str, Any]] = {}
    corpus_sources: Counter[str] | None = None
    for strategy, chosen in strategies.items():
        env = RAMPEnv(corpus=args.corpus, span_extractor=args.span_extractor, cache_dir=args.cache_dir,
                      mask_strategy=chosen, progress=False)
        results[strategy] = {}
        if corpus_sources is None:  # every strategy's env opens the same corpus: count its sources once
            corpus_sources = Counter(source_of(p.id) for p in env.corpus.store)
        for k in args.masks:
            results[strategy][str(k)] = row = draw(env, k, args.draws, args.seed)
            print(f"{strategy:9} k={k}: PLACE {row['place_share']:.2f}, {row['distinct_passages']} distinct of "
                  f"{args.draws}, {row['seconds']} s", file=sys.stderr)
        base = results[strategy][str(min(args.masks))]["type_mix"]
        for k in args.masks:
            results[strategy][str(k)]["tv_distance_from_min_masks_mix"] = total_variation(
                results[strategy][str(k)]["type_mix"], base)
        env.close()
    header = ("| strategy | masks | PLACE share (95% CI) | TV distance from 1-mask mix | distinct passages / draws | "
              "estimated eligible passages |")
    lines = [header, "|---|---|---|---|---|---|"]
    for strategy, rows in results.items():
        for k, row in rows.items():
            low, high = row["place_share_ci95"]
            lines.append(f"| {strategy} | {k} | {row['place_share']:.2f} ({low:.2f}-{high:.2f}) | "
                         f"{row['tv_distance_from_min_masks_mix']:.2f} | "
                         f"{row['distinct_passages']} / {args.draws} | {row['estimated_eligible_passages']} |")
    table = "\n".join(lines)
    print(table)
    atomic_write_json(Path(args.out), {"args": vars(args), "corpus_passages_by_source": dict(corpus_sources or {}),
                                       "results": results, "table": table,
                                       "machine_at_start": at_start, "machine_at_end": machine()})
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

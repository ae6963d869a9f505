"""Build the frozen test task set (``ramp_env/tasksets/data/test-v<V>.jsonl.gz``) once per version.

For each mask count 1-4, up to :data:`TASKS_PER_MASK_COUNT` tasks from the test side of
the default corpus's passage split (``split="test"``, the env's defaults otherwise: spaCy
spans, evidence required, tantivy), one per distinct passage: the test passages are taken
in the order of a hash of (:data:`BUILD_SEED`, mask count, passage id), a uniformly random
order independent of row order, and each that has enough evidence-supported spans becomes
a task whose spans are chosen with a generator seeded by the same hash. When the test side
has fewer such passages, the set holds all of them (the manifest gives the counts). Everything comes
from the installed package's code and the default corpus, nothing else, so running
the script again reproduces the file byte for byte (deterministic gzip). When the
code that draws tasks changes (spans, evidence, sampling), bump
``ramp_env.tasksets.TEST_TASKS_VERSION`` and run it again: the script refuses to
write different tasks under an existing version.

    RAMP_ENV_CACHE=/work/cache python benchmarks/build_test_tasks.py            # build (or confirm) the set
    RAMP_ENV_CACHE=/work/cache python benchmarks/build_test_tasks.py --check --limit 5  # first 5 per count

Prints its runtime and writes it to ``benchmarks/results/build_test_tasks.json``.
``--corpus``/``--span-extractor``/``--out-dir`` exist for tests on small corpora.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from ramp_env.cache import atomic_path, atomic_write_json, atomic_write_text
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking.evidence import EVIDENCE_VERSION
from ramp_env.masking.split import SPLIT_VERSION, TEST_FRACTION, PassageSplit
from ramp_env.tasksets.frozen import (
    DATA_DIR,
    TEST_TASKS_VERSION,
    FrozenTask,
    build_manifest,
    decode_tasks,
    encode_tasks,
    manifest_path,
    task_set_path,
    text_sha256,
)

MASK_COUNTS = (1, 2, 3, 4)
# 150 tasks per mask count: the 95% interval of a mean reward in [0, 1] is then about +-0.05
# to +-0.08 (reward sd 0.3-0.5), enough to separate the baselines of the leaderboard, and at
# 4 masks the default corpus's test side still has this many distinct eligible passages
TASKS_PER_MASK_COUNT = 150
BUILD_SEED = 20261206
# the span extractor of the current version, pinned like every other choice in build(): test-v3 takes
# spaCy's spans with span rules v7 and the learned filter. The earlier versions stay shipped: test-v2
# (rules v5 with the filter) rebuilds at commit ff0fc21, test-v1 (rules v2 without the filter) at
# commit fc30c28 (SPAN_EXTRACTOR "spacy-unfiltered" there).
SPAN_EXTRACTOR = "spacy"
RESULTS = Path(__file__).parent / "results" / "build_test_tasks.json"


def frozen(task: Any, num_masks: int, index: int) -> FrozenTask:
    return FrozenTask(
        num_masks=num_masks, index=index, passage_id=task.passage_id, spans=tuple(task.spans),
        answers=tuple(task.answers), span_types=tuple(task.span_types),
        evidence_ids=tuple(tuple(e) for e in task.evidence_ids), text_sha256=text_sha256(task.text),
    )


def passage_order(env: RAMPEnv, num_masks: int) -> list[tuple[str, int]]:
    """Test passages with at least ``num_masks`` salient spans, ordered by a hash of (mask count,
    id): a uniformly random order that depends on ids only, never on row order or a draw loop."""
    rows = env.unwrapped._on_side(env.unwrapped.spans.rows_with_at_least(num_masks))
    passages = env.unwrapped.corpus.store.get_many(rows.tolist())
    keyed = [(hashlib.sha256(f"{BUILD_SEED}:{num_masks}:{p.id}".encode()).hexdigest(), p.id, int(r))
             for p, r in zip(passages, rows.tolist(), strict=True)]
    return [(pid, row) for _, pid, row in sorted(keyed)]


def draw_tasks(env: RAMPEnv, num_masks: int, count: int) -> list[FrozenTask]:
    """The first ``count`` passages in :func:`passage_order` that make a task (``num_masks``
    evidence-supported maskable spans), each masked with a generator seeded by its id."""
    tasks: list[FrozenTask] = []
    for pid, _ in passage_order(env, num_masks):
        seed = int.from_bytes(hashlib.sha256(f"{BUILD_SEED}:{num_masks}:{pid}:spans".encode()).digest()[:8], "big")
        try:
            env.reset(seed=seed, options={"passage_id": pid, "num_masks": num_masks})
        except ValueError as exc:
            if "fewer than" not in str(exc):
                raise
            continue  # too few supported spans (or too long): not a task at this mask count
        tasks.append(frozen(env.unwrapped.task, num_masks, len(tasks)))
        if len(tasks) == count:
            break
    return tasks


def build(corpus: str, span_extractor: str, count: int, cache_dir: str | None) -> tuple[list[FrozenTask], dict]:
    # every choice that shapes a task is pinned here, not taken from the env's defaults: a later change
    # of default must not change what a task-set version holds
    env = RAMPEnv(
        corpus=corpus, span_extractor=span_extractor, split="test", cache_dir=cache_dir, progress=False,
        mask_strategy="balanced", evidence_criterion="context", require_evidence="all",
    )
    try:
        tasks = [t for k in MASK_COUNTS for t in draw_tasks(env, k, count)]
        built_from = {
            "corpus": "default" if corpus == "default" else Path(corpus).name,
            "corpus_fingerprint": env.corpus.manifest["fingerprint"],
            "split_version": SPLIT_VERSION, "test_fraction": TEST_FRACTION,
            "evidence_version": EVIDENCE_VERSION, "span_table": Path(env.spans.path).name,
            "mask_strategy": "balanced", "evidence_criterion": "context",
            "build_seed": BUILD_SEED, "script": "benchmarks/build_test_tasks.py",
        }
    finally:
        env.close()
    return tasks, built_from


def first(tasks: list[FrozenTask], limit: int) -> list[FrozenTask]:
    return [t for t in tasks if t.index < limit]


def shared_with_previous(tasks: list[FrozenTask], data_dir: Path) -> dict[str, Any] | None:
    """How many tasks (same mask count, passage and masked spans) the previous shipped version also
    holds: what a user comparing scores across the two versions needs to know."""
    previous = task_set_path("test", TEST_TASKS_VERSION - 1, data_dir)
    if TEST_TASKS_VERSION < 2 or not previous.is_file():
        return None
    earlier = decode_tasks(previous.read_bytes(), str(previous))
    before = {(t.num_masks, t.passage_id, t.spans) for t in earlier}
    shared = sum((t.num_masks, t.passage_id, t.spans) in before for t in tasks)
    return {"task_set": f"test-v{TEST_TASKS_VERSION - 1}", "tasks": len(earlier), "shared": shared}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="rebuild and compare with the shipped file; write nothing")
    parser.add_argument("--limit", type=int, default=None, help="with --check: only the first N tasks per mask count")
    parser.add_argument("--corpus", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--span-extractor", default=SPAN_EXTRACTOR, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--tasks-per-mask", type=int, default=TASKS_PER_MASK_COUNT, help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.limit is not None and not args.check:
        parser.error("--limit only makes sense with --check (the shipped set is always built whole)")
    started = time.perf_counter()
    prepared = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir, progress=False)
    cached = {"passage_split": PassageSplit.path_for(prepared).is_file(),
              "evidence_files": sorted(p.name for p in prepared.directory.glob("evidence-*.sqlite"))}
    count = args.tasks_per_mask if args.limit is None else min(args.limit, args.tasks_per_mask)
    tasks, built_from = build(args.corpus, args.span_extractor, count, args.cache_dir)
    data = encode_tasks(tasks)
    path = task_set_path("test", TEST_TASKS_VERSION, args.out_dir)
    seconds = time.perf_counter() - started
    if args.check:
        if not path.is_file():
            raise SystemExit(f"no shipped task file to check against: {path}")
        shipped = decode_tasks(path.read_bytes(), str(path))
        expected = path.read_bytes() if args.limit is None else encode_tasks(first(shipped, count))
        same = data == expected
        print(f"{'identical' if same else 'DIFFERENT'}: rebuilt {len(tasks)} tasks vs {path} in {seconds:.1f} s")
        return 0 if same else 1
    if path.is_file() and path.read_bytes() != data:
        raise SystemExit(
            f"{path} holds other tasks under version {TEST_TASKS_VERSION}: the code that draws tasks changed. "
            "Bump ramp_env.tasksets.frozen.TEST_TASKS_VERSION (a new task-set version) and run again."
        )
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    atomic_write_text(manifest_path(path), build_manifest("test", TEST_TASKS_VERSION, data, tasks, built_from))
    seconds = time.perf_counter() - started
    print(f"wrote {path} ({len(data)} bytes, {len(tasks)} tasks) and its manifest in {seconds:.1f} s")
    atomic_write_json(args.results, {
        "what": "runtime of benchmarks/build_test_tasks.py (split clustering, spans and evidence cached or not)",
        "seconds": round(seconds, 1), "tasks": len(tasks), "task_set": f"test-v{TEST_TASKS_VERSION}",
        "bytes": len(data), "built_from": built_from, "shared_with_previous": shared_with_previous(tasks, args.out_dir),
        "cache_at_start": cached | {"note": "a cold cache adds the passage split's clustering (split-v1.npz "
                                            "records its seconds) and the evidence searches"},
        "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
                    "load_average_1m": round(os.getloadavg()[0], 2)},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())

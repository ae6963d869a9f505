"""Scale benchmark: RAMP over synthetic Zipfian corpora of 10k, 100k and 1M passages.

For every corpus size it reports, each phase in a fresh process so that its peak
memory is its own:

* ``load``: streaming the JSONL file into the passage store (passages/s, peak RSS, size);
* ``tantivy``: building the tantivy index (passages/s, peak RSS, size on disk);
* ``search``: tantivy query latency p50/p95 over known-item queries;
* ``rank_bm25``: the in-memory reference backend, build time, p50/p95 and peak RSS,
  at sizes up to ``--bm25-max`` (it scores every passage in Python per query);
* ``reset_cold``: RAMP-v0 resets with ``task_pool`` and the real spaCy extractor on a fresh
  span cache: every drawn passage is extracted on first draw (first-draw latency p50/p95),
  plus spaCy's batch rate, i.e. what eager extraction of the whole corpus would cost;
* ``reset_cached``: the same seeds again in a new process: every span comes from the on-disk
  cache (cached reset latency p50/p95);
* ``env``: RAMP-v0 steps/s with the scripted agent of ``benchmarks/vector_envs.py``
  (search, search, answer) over the full corpus, tasks from the pool.

Preparation before the first episode is ``load`` + ``tantivy`` (the store and the index):
spans are extracted lazily, per drawn passage (``task_pool``). Evidence is off
(``require_evidence="none"``) in these runs: the synthetic text below is word salad, in
which another passage rarely states a passage's fact, so evidence-required draws would
measure rejection sampling, not the corpus size.

Results go to ``benchmarks/results/scale.json`` and the peak-memory growth curve to
``benchmarks/results/scale_memory.png``, both written atomically.

Why synthetic text: no 1M-passage corpus ships offline. Words are drawn from a Zipf
law (exponent 1, 1M word types) whose head is the real vocabulary of the default
corpus ranked by frequency (so "the", "of", "Paris,", "1990" occur at realistic
rates and the rule-based extractor finds names and years); the tail is made-up
words. Passages are ~100 words (DPR's size) cut into sentences. It is word salad,
but posting-list lengths, and so BM25 cost, follow the same law as Wikipedia's.

Why a task pool: spaCy extracts ~80 passages/s on 2 cores, so eager spans for 1M
passages take hours. Tasks are drawn from ``--task-pool`` (a fraction or a count of
the corpus, the env's ``task_pool`` argument) and spans are extracted when a passage
is first drawn, while search covers the whole corpus (docs/scaling.md).

    python benchmarks/scale.py                          # 10k, 100k, 1M (about 30 min on 2 cores)
    python benchmarks/scale.py --sizes 10000 100000     # quicker
    python benchmarks/scale.py --sizes 10000 --rerun env  # measure one phase again into scale.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).parent / "results"
PHASES = ("baseline", "load", "tantivy", "search", "rank_bm25", "reset_cold", "reset_cached", "env")


@dataclass
class Args:
    sizes: list[int] = field(
        default_factory=lambda: [10_000, 100_000, 1_000_000], metadata={"help": "synthetic corpus sizes (passages)"}
    )
    bm25_max: int = field(default=100_000, metadata={"help": (
        "largest corpus rank_bm25 is timed on (it takes ~2 s/query and GBs of RAM at 1M)"
    )})
    workdir: Path = field(default=Path("/tmp/ramp-scale"), metadata={"help": (
        "folder for the corpora and prepared caches (1M: about 2.5 GB)"
    )})
    queries: int = field(default=200, metadata={"help": "tantivy queries per size (rank_bm25 runs min(queries, 50))"})
    env_steps: int = field(default=300, metadata={"help": "env steps timed per size"})
    task_pool: float = field(
        default=0.01, metadata={"help": "the env's task_pool: a fraction (<= 1) or a passage count (> 1)"}
    )
    span_extractor: str = field(
        default="spacy", metadata={"help": "salient-span extractor (the real one, run lazily on drawn passages)"}
    )
    resets: int = field(default=200, metadata={"help": "resets timed per reset phase"})
    vocab_size: int = field(default=1_000_000, metadata={"help": "words in the synthetic corpus's vocabulary"})
    zipf_exponent: float = field(default=1.0, metadata={"help": "exponent of the Zipf law word frequencies follow"})
    seed: int = field(default=0, metadata={"help": "seeds the synthetic corpora and the queries"})
    out: Path = field(default=RESULTS_DIR / "scale.json", metadata={"help": "the results file"})
    plot: Path = field(default=RESULTS_DIR / "scale_memory.png", metadata={"help": "the memory plot"})
    rerun: str = field(
        default="", metadata={"help": "comma-separated phases to measure again into the existing --out report"}
    )
    phase: str = field(default="", metadata={"help": "internal: run one phase in this process and print its JSON"})
    size: int = field(default=0, metadata={"help": "internal: the corpus size of that phase"})


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    for f in dataclasses.fields(Args):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, list):
            parser.add_argument(flag, type=int, nargs="+", default=default, help=f.metadata["help"])
        else:
            parser.add_argument(flag, type=type(default), default=default, help=f.metadata["help"])
    return Args(**vars(parser.parse_args(argv)))


# -- synthetic corpus ---------------------------------------------------------------------------


def zipf_vocabulary(size: int) -> list[str]:
    """``size`` word types by rank: the default corpus's words by frequency, then made-up words."""
    from ramp_env.corpus.default import default_corpus_path

    counts: Counter[str] = Counter()
    with open(default_corpus_path(), encoding="utf-8") as fh:
        for line in fh:
            counts.update(json.loads(line)["text"].split())
    words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:size]
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    rank = 0
    while len(words) < size:  # deterministic pronounceable pseudo-words: "kabomi", ...
        r, syllables = rank, []
        for _ in range(3):
            r, c = divmod(r, len(consonants))
            r, v = divmod(r, len(vowels))
            syllables.append(consonants[c] + vowels[v])
        words.append("".join(syllables) + (str(r) if r else ""))
        rank += 1
    return words


def synthetic_passages(n: int, vocab: list[str], exponent: float, seed: int) -> Iterator[dict[str, str]]:
    """``n`` passages of Zipf-distributed words, deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, len(vocab) + 1) ** exponent)
    cdf /= cdf[-1]
    words = np.array(vocab, dtype=object)
    capitalised = np.array([w for w in vocab[:20_000] if w[:1].isupper() and w.isalpha()], dtype=object)
    chunk = 2_000
    for first in range(0, n, chunk):
        m = min(chunk, n - first)
        lengths = np.clip(rng.normal(100, 20, m).astype(int), 30, 200)
        drawn = words[np.searchsorted(cdf, rng.random(int(lengths.sum())), side="right")]
        titles = capitalised[rng.integers(0, len(capitalised), (m, 2))]
        offset = 0
        for i in range(m):
            tokens = list(drawn[offset : offset + lengths[i]])
            offset += lengths[i]
            # sentences of 12-30 words: capitalised first word, full stop at the end
            pos = 0
            while pos < len(tokens):
                tokens[pos] = tokens[pos][:1].upper() + tokens[pos][1:]
                end = min(len(tokens), pos + int(rng.integers(12, 31)))
                tokens[end - 1] = tokens[end - 1].rstrip(".,;:") + "."
                pos = end
            yield {"id": f"syn-{first + i}", "title": " ".join(titles[i]), "text": " ".join(tokens)}


def write_corpus(args: Args, size: int) -> Path:
    exponent = f"{args.zipf_exponent:g}".replace(".", "p")
    path = args.workdir / f"zipf{size}-s{exponent}-v{args.vocab_size}-seed{args.seed}.jsonl"
    if path.is_file():
        return path
    from ramp_env.cache import atomic_path

    vocab = zipf_vocabulary(args.vocab_size)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in synthetic_passages(size, vocab, args.zipf_exponent, args.seed):
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


# -- phases (each runs in its own process) ------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: the latter keeps the
    peak of the parent this process was forked from, and the orchestrator is big."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB on Linux, bytes on macOS


def disk_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def known_item_queries(corpus: Any, count: int, seed: int) -> list[str]:
    """Queries of 4 words drawn from random passages, as an agent's searches would be."""
    rng = np.random.default_rng(seed + 1)
    queries = []
    for row in rng.integers(1, len(corpus.store) + 1, count):
        words = corpus.store.get(int(row)).text.split()
        picks = rng.choice(len(words), size=min(4, len(words)), replace=False)
        queries.append(" ".join(words[i] for i in sorted(picks)))
    return queries


def latency_ms(retriever: Any, queries: list[str]) -> dict[str, float]:
    retriever.search(queries[0], 3)  # warm up (first-touch of the memory map)
    times = []
    for q in queries:
        started = time.perf_counter()
        retriever.search(q, 5)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)), "queries": len(times)}


def task_pool(args: Args) -> int | float:
    return int(args.task_pool) if args.task_pool > 1 else float(args.task_pool)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "n": int(ms.size)}


def time_resets(env: Any, count: int, seed: int) -> tuple[list[float], list[int]]:
    """Latency of ``count`` seeded resets and how many passages each one extracted."""
    times, extracted = [], []
    for i in range(count):
        before = env.spans.extracted
        started = time.perf_counter()
        env.reset(seed=seed + i)
        times.append(time.perf_counter() - started)
        extracted.append(env.spans.extracted - before)
    return times, extracted


def run_phase(args: Args) -> dict[str, Any]:
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.envs.ramp import RAMPEnv  # with all it imports: part of the baseline

    if args.phase == "baseline":
        return {"peak_rss_mb": peak_rss_mb()}
    path = write_corpus(args, args.size)
    cache = cache_dir(args, args.size)
    started = time.perf_counter()
    corpus = PreparedCorpus.open(path, cache_dir=cache, progress=False)
    result: dict[str, Any] = {}
    if args.phase == "load":
        seconds = time.perf_counter() - started
        result = {"seconds": seconds, "rate": args.size / seconds, "disk_mb": disk_mb(corpus.store.path),
                  "corpus_file_mb": disk_mb(path)}
    elif args.phase == "tantivy":
        started = time.perf_counter()
        corpus.retriever("tantivy")
        seconds = time.perf_counter() - started
        result = {"seconds": seconds, "rate": args.size / seconds, "disk_mb": disk_mb(corpus.index_dir("tantivy"))}
    elif args.phase in ("reset_cold", "reset_cached"):
        env = RAMPEnv(corpus=str(path), cache_dir=cache, span_extractor=args.span_extractor, task_pool=task_pool(args),
                      require_evidence="none", num_masks=1, progress=False)
        extractor = env.spans.extractor
        list(extractor.extract_batch(["Warm up the model, loaded on first use, in Paris in 1990."]))
        times, extracted = time_resets(env, args.resets, seed=10_000)
        result = {"task_pool": len(env.task_pool), "extractor": extractor.cache_key,
                  "passages_extracted": int(sum(extracted)), "resets_that_extracted": int(sum(e > 0 for e in extracted)),
                  "all": percentiles_ms(times),
                  "first_draw": percentiles_ms([t for t, e in zip(times, extracted) if e > 0]),
                  "cached": percentiles_ms([t for t, e in zip(times, extracted) if e == 0]),
                  "span_cache_mb": disk_mb(env.spans.path)}
        if args.phase == "reset_cold":  # what eager extraction of every passage would cost
            texts = [corpus.store.get(r).text for r in range(1, min(500, len(corpus.store)) + 1)]
            started = time.perf_counter()
            for _ in extractor.extract_batch(texts):
                pass
            rate = len(texts) / (time.perf_counter() - started)
            result.update(eager_spans_rate=rate, eager_spans_hours_at_this_size=args.size / rate / 3600)
    elif args.phase == "search":
        result = latency_ms(corpus.retriever("tantivy"), known_item_queries(corpus, args.queries, args.seed))
    elif args.phase == "rank_bm25":
        queries = known_item_queries(corpus, min(args.queries, 50), args.seed)
        started = time.perf_counter()
        retriever = corpus.retriever("rank_bm25")
        seconds = time.perf_counter() - started
        result = {"seconds": seconds, "rate": args.size / seconds, **latency_ms(retriever, queries)}
    elif args.phase == "env":
        from vector_envs import play  # this script's directory is on sys.path

        started = time.perf_counter()
        env = RAMPEnv(corpus=str(path), cache_dir=cache, span_extractor=args.span_extractor, task_pool=task_pool(args),
                      require_evidence="none", num_masks=2, progress=False)
        open_seconds = time.perf_counter() - started
        play(env, 1, args.seed + 1_000_000)  # loads spaCy and NLTK once: not a per-step cost
        before = env.spans.extracted
        first_steps, _, first_seconds = play(env, args.env_steps, args.seed)  # spans extracted as drawn
        extracted = env.spans.extracted - before
        steps, episodes, seconds = play(env, args.env_steps, args.seed)  # the same episodes, all cached
        result = {"open_seconds": open_seconds, "steps": steps, "episodes": episodes, "steps_per_s": steps / seconds,
                  "first_pass_steps_per_s": first_steps / first_seconds, "first_pass_passages_extracted": extracted}
    else:
        raise ValueError(f"unknown phase {args.phase!r}; expected one of {PHASES}")
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def cache_dir(args: Args, size: int) -> Path:
    return args.workdir / f"cache-{size}"


def rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return round(value, 3) if isinstance(value, float) else value


def run_in_child(args: Args, phase: str, size: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--phase", phase, "--size", str(size), "--workdir", str(args.workdir),
           "--queries", str(args.queries), "--env-steps", str(args.env_steps), "--task-pool", str(args.task_pool),
           "--span-extractor", args.span_extractor, "--resets", str(args.resets),
           "--vocab-size", str(args.vocab_size), "--zipf-exponent", str(args.zipf_exponent), "--seed", str(args.seed)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phase {phase} at {size} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    print(f"  {phase:<12} {size:>9,}: {json.dumps(rounded(result))}", flush=True)
    return result


# -- report -------------------------------------------------------------------------------------


def print_table(report: dict[str, Any]) -> None:
    base = report["baseline"]["peak_rss_mb"]
    print(f"\nbaseline process (Python + ramp_env imported): {base:.0f} MB peak RSS")
    header = ("passages", "load p/s", "load MB", "store MB", "index p/s", "index MB", "idx RSS MB",
              "p50 ms", "p95 ms", "env steps/s", "env RSS MB")
    print(" | ".join(header))
    for size, r in report["sizes"].items():
        print(" | ".join([
            f"{int(size):,}", f"{r['load']['rate']:,.0f}", f"{r['load']['peak_rss_mb']:.0f}",
            f"{r['load']['disk_mb']:.0f}", f"{r['tantivy']['rate']:,.0f}", f"{r['tantivy']['disk_mb']:.0f}",
            f"{r['tantivy']['peak_rss_mb']:.0f}", f"{r['search']['p50_ms']:.2f}", f"{r['search']['p95_ms']:.2f}",
            f"{r['env']['steps_per_s']:.1f}", f"{r['env']['peak_rss_mb']:.0f}",
        ]))
    print(f"\npreparation (store + index) and RAMP-v0 reset latency, task_pool={report['args']['task_pool']}, "
          f"{report['args']['span_extractor']} spans extracted on first draw:")
    print("passages | prepare s | first-draw p50 ms | p95 ms | cached p50 ms | p95 ms | eager spans would take")
    for size, r in report["sizes"].items():
        if "reset_cold" not in r:
            continue
        cold, cached = r["reset_cold"]["first_draw"], r["reset_cached"]["cached"]
        print(" | ".join([
            f"{int(size):,}", f"{r['load']['seconds'] + r['tantivy']['seconds']:.0f}",
            f"{cold['p50_ms']:.1f}", f"{cold['p95_ms']:.1f}", f"{cached['p50_ms']:.2f}", f"{cached['p95_ms']:.2f}",
            f"{r['reset_cold']['eager_spans_hours_at_this_size']:.2f} h",
        ]))
    print("\nrank_bm25 (in memory) next to tantivy at the same size:")
    for size, r in report["sizes"].items():
        if "rank_bm25" not in r:
            continue
        bm, tv = r["rank_bm25"], r["search"]
        print(f"{int(size):,}: build {bm['rate']:,.0f} p/s, p50 {bm['p50_ms']:.1f} ms, p95 {bm['p95_ms']:.1f} ms, "
              f"peak {bm['peak_rss_mb']:.0f} MB  |  tantivy p50 {tv['p50_ms']:.2f} ms "
              f"({bm['p50_ms'] / tv['p50_ms']:.0f}x faster), peak {r['search']['peak_rss_mb']:.0f} MB")


def plot(report: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ramp_env.cache import atomic_path

    sizes = [int(s) for s in report["sizes"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    series = [("load", "corpus load (streamed)"), ("tantivy", "tantivy build"), ("search", "tantivy search"),
              ("env", "RAMP-v0 env"), ("rank_bm25", "rank_bm25 build + search")]
    for phase, label in series:
        points = [(s, report["sizes"][str(s)][phase]["peak_rss_mb"]) for s in sizes if phase in report["sizes"][str(s)]]
        if points:
            ax.plot(*zip(*points), marker="o", label=label)
    ax.axhline(report["baseline"]["peak_rss_mb"], color="grey", linestyle=":", label="Python + imports")
    ax.set_xscale("log")
    ax.set_xlabel("passages in corpus")
    ax.set_ylabel("peak RSS of the phase's process (MB)")
    ax.set_title("Peak memory as the corpus grows")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.phase:
        print(json.dumps(run_phase(args)))
        return 0
    from ramp_env.cache import atomic_write_json

    if args.rerun:  # re-measure some phases; the prepared caches and the other phases stay
        phases = [p.strip() for p in args.rerun.split(",") if p.strip()]
        rerunnable = ("search", "rank_bm25", "reset_cached", "env")  # the others need a fresh cache
        unknown = sorted(set(phases) - set(rerunnable))
        if unknown:
            raise SystemExit(f"--rerun: cannot re-measure {unknown} alone; expected some of {rerunnable}")
        report = json.loads(args.out.read_text(encoding="utf-8"))
        for size in sorted(args.sizes):
            for phase in phases:
                report["sizes"][str(size)][phase] = run_in_child(args, phase, size)
                report["sizes"][str(size)][phase]["rerun_load_average"] = os.getloadavg()
            atomic_write_json(args.out, report)
        print_table(report)
        plot(report, args.plot)
        return 0
    load = os.getloadavg()
    report: dict[str, Any] = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(args).items()},
        "cpus": os.cpu_count(), "load_average_at_start": load, "baseline": run_in_child(args, "baseline", 0),
        "sizes": {},
    }
    for size in sorted(args.sizes):
        started = time.perf_counter()
        write_corpus(args, size)
        print(f"corpus of {size:,} passages ready in {time.perf_counter() - started:.0f} s", flush=True)
        shutil.rmtree(cache_dir(args, size), ignore_errors=True)  # measure builds, not cache hits
        phases = [p for p in PHASES[1:] if p != "rank_bm25" or size <= args.bm25_max]
        report["sizes"][str(size)] = {phase: run_in_child(args, phase, size) for phase in phases}
        report["load_average_at_end"] = os.getloadavg()
        atomic_write_json(args.out, report)  # after every size: a late failure keeps what was measured
    print_table(report)
    plot(report, args.plot)
    print(f"\nwrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

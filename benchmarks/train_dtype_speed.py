"""Seconds per training step of the offline SmolLM2-135M in float32 and in bf16 mixed precision.

A step is what SFT and DAPO do per batch: forward, loss, backward and an AdamW update of
float32 master weights; "bfloat16" runs the forward and backward under ``torch.autocast``
(the recipe of ``agents.training.precision``, TRL's ``bf16=True``). The two alternate round by
round in one process, so both see the same machine load, and each round's ratio is kept.
``cpu_learning.py --train_dtype auto`` picks bf16 only where this CPU has native bf16
(``agents.training.precision.cpu_has_fast_bf16``, recorded here).

    RAMP_ENV_CACHE=... python benchmarks/train_dtype_speed.py --out benchmarks/results/train_dtype_speed.json
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import check_output, machine  # this folder's shared helpers (on sys.path)

from agents.training.precision import autocast, cpu_has_fast_bf16
from ramp_env.cache import atomic_write_json
from ramp_env.models import load_causal_lm, torch_threads


def step_seconds(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, ids: torch.Tensor, dtype: torch.dtype | None
) -> float:
    started = time.perf_counter()
    with autocast(model, dtype):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed steps per dtype, alternating (after 1 warm-up each)"
    )
    parser.add_argument("--batch", type=int, default=4, help="sequences per step (cpu_learning's sft_batch_size)")
    parser.add_argument("--tokens", type=int, default=512, help="tokens per sequence")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if min(args.rounds, args.batch, args.threads) < 1 or args.tokens < 2:
        parser.error("--rounds, --batch and --threads must be >= 1 and --tokens >= 2")
    check_output(args.out)
    generator = torch.Generator().manual_seed(0)
    with torch_threads(args.threads):
        model, tokenizer = load_causal_lm(dtype="float32")
        model.train()
        ids = torch.randint(0, len(tokenizer), (args.batch, args.tokens), generator=generator)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
        dtypes = {"float32": None, "bfloat16": torch.bfloat16}
        for dtype in dtypes.values():  # warm-up: allocator, oneDNN kernels
            step_seconds(model, optimizer, ids, dtype)
        times: dict[str, list[float]] = {name: [] for name in dtypes}
        for _ in range(args.rounds):
            for name, dtype in dtypes.items():
                times[name].append(round(step_seconds(model, optimizer, ids, dtype), 2))
        where = machine()  # inside the block: records the thread count the steps ran with
    ratios = [round(b / f, 2) for f, b in zip(times["float32"], times["bfloat16"], strict=True)]
    report = {
        "what": "seconds per SFT-sized training step of SmolLM2-135M, float32 vs bf16 mixed precision",
        "script": "benchmarks/train_dtype_speed.py",
        "settings": vars(args),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_has_fast_bf16": cpu_has_fast_bf16(),
        "seconds_per_step": times,
        "median": {name: statistics.median(v) for name, v in times.items()},
        "bf16_over_fp32_per_round": ratios,
        "machine": where,
    }
    atomic_write_json(args.out, report)
    print(report["median"], ratios)


if __name__ == "__main__":
    main()

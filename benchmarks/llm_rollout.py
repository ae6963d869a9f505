"""Rollout throughput of LLMAgent on CPU: generated tokens per second by batch size and torch threads.

Each configuration continues the same first-turn prompts of real RAMP tasks
(system instructions + masked passage, rendered by the model's chat template)
for exactly ``new_tokens`` sampled tokens (no stop strings, so every
configuration generates the same number of tokens). Time includes the prefill
of the prompts, as in a rollout. Configurations are measured in interleaved
rounds and the median is reported; the ratio column is against batch 1 with one
thread, measured in the same run.

    python benchmarks/llm_rollout.py                     # offline SmolLM2-135M-Instruct
    python benchmarks/llm_rollout.py --model Qwen/Qwen2.5-1.5B-Instruct --device cuda --batch_sizes 1 8 32
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import HfArgumentParser

from agents.llm.chat import tokenize_conversation
from agents.llm.generation import generate_batch
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.models import load_causal_lm, torch_threads
from ramp_env.trajectories import initial_messages

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Args:
    model: str | None = None
    device: str = "cpu"
    corpus: str = "default"
    batch_sizes: list[int] = field(default_factory=lambda: [1, 4])
    threads: list[int] = field(default_factory=lambda: [1, 2])
    new_tokens: int = 32
    rounds: int = 2
    seed: int = 0
    out: str = str(RESULTS_DIR / "llm_rollout.json")


def main(args: Args) -> list[dict[str, float]]:
    model, tokenizer = load_causal_lm(args.model, device=args.device)
    env = RAMPEnv(corpus=args.corpus, progress=False)
    prompts = []
    for i in range(max(args.batch_sizes)):
        obs, _ = env.reset(seed=args.seed + i)
        prompts.append(tokenize_conversation(tokenizer, initial_messages(obs), add_generation_prompt=True).input_ids)
    configs = [(b, t) for t in args.threads for b in args.batch_sizes]
    seconds: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
    generate_batch(model, tokenizer, prompts[:1], max_new_tokens=2, stop_strings=())  # warm-up
    for _ in range(args.rounds):
        for batch, threads in configs:
            torch.manual_seed(args.seed)
            with torch_threads(threads):
                started = time.perf_counter()
                out = generate_batch(
                    model, tokenizer, prompts[:batch], max_new_tokens=args.new_tokens, temperature=1.0,
                    stop_strings=(), batch_size=batch,
                )
                seconds[(batch, threads)].append(time.perf_counter() - started)
            # a sampled EOS may end a row early; count what was generated
            seconds[(batch, threads)][-1] /= max(sum(len(g.token_ids) for g in out), 1)
    base = statistics.median(seconds[configs[0]])
    rows = []
    print(f"{'batch':>5} {'threads':>7} {'tokens/s':>9} {'ratio':>6}   (prompt ~{len(prompts[0])} tokens)")
    for batch, threads in configs:
        per_token = statistics.median(seconds[(batch, threads)])
        rows.append({"batch": batch, "threads": threads, "tokens_per_second": round(1 / per_token, 2),
                     "ratio": round(base / per_token, 2)})
        print(f"{batch:>5} {threads:>7} {1 / per_token:>9.2f} {base / per_token:>6.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from ramp_env.cache import atomic_write_json

    atomic_write_json(args.out, {"args": asdict(args), "rows": rows})
    return rows


if __name__ == "__main__":
    (cli_args,) = HfArgumentParser(Args).parse_args_into_dataclasses()
    main(cli_args)

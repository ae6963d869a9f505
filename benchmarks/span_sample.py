"""Print masked spans drawn from the env (or the spans of random passages) for reading by eye.

Two modes, both seeded:

* default: ``--n`` tasks drawn from ``gym.make("RAMP-v0", num_masks=K)`` with seeds
  ``--seed``, ``--seed + 1``, ...; each mask is printed with its type and context;
* ``--passages``: every maskable span of ``--n`` random passages of the default corpus, by
  the extractor the env uses (no evidence searches, so much faster), optionally next to
  the previous extractor (``--compare rules`` or a cache key is not needed: ``--compare-v1``
  shows spaCy's raw entities).

Seeds below 5000 are kept for labelled samples; use 5000 and up for reading by eye.

    python benchmarks/span_sample.py --seed 5000 --n 30
    python benchmarks/span_sample.py --passages --seed 5001 --n 20 --compare-v1
"""

from __future__ import annotations

import argparse

import numpy as np


def context(text: str, start: int, end: int, width: int = 70) -> str:
    left = text[max(0, start - width) : start].replace("\n", " ")
    right = text[end : end + width].replace("\n", " ")
    return f"...{left}[[{text[start:end]}]]{right}..."


def env_masks(seed: int, n: int, num_masks: int, task_pool: float | None) -> None:
    import gymnasium as gym

    import ramp_env  # noqa: F401 - registers RAMP-v0

    env = gym.make("RAMP-v0", num_masks=num_masks, progress=False, task_pool=task_pool)
    for i in range(n):
        env.reset(seed=seed + i)
        task = env.unwrapped.task
        for (start, end), kind in zip(task.spans, task.span_types, strict=True):
            print(f"{seed + i}\t{kind:7s}\t{task.text[start:end]!r}\t{context(task.text, start, end)}")


def passage_spans(seed: int, n: int, compare_v1: bool) -> None:
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.masking import maskable_spans
    from ramp_env.text.spans import make_span_extractor

    corpus = PreparedCorpus.open("default", progress=False)
    extractor = corpus.bind_extractor(make_span_extractor("auto"))
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(corpus.store), size=n, replace=False) + 1
    passages = corpus.store.get_many([int(r) for r in rows])
    found = list(extractor.extract_batch(p.text for p in passages))
    raw = list(extractor.raw_entities(p.text for p in passages)) if compare_v1 else [None] * n
    for passage, spans, before in zip(passages, found, raw, strict=True):
        print(f"== {passage.id}")
        typed = {(s.start, s.end): s.label.value for s in spans}
        maskable = {(s.start, s.end) for s in maskable_spans(passage, spans)}
        if before is not None:  # spaCy's entity -> the extractor's span ("-": dropped; "!": not maskable)
            for s in before:
                now = typed.get((s.start, s.end), "-")
                mark = " " if now == s.label.value else "*"
                flag = "!" if now != "-" and (s.start, s.end) not in maskable else " "
                print(f"  {mark} {s.label.value:7s}-> {now:7s}{flag} {passage.text[s.start:s.end]!r}")
            old = {(s.start, s.end) for s in before}
            for (a, b), label in typed.items():
                if (a, b) not in old:
                    print(f"  + {'':7s}-> {label:7s}  {passage.text[a:b]!r}")
        else:
            for (a, b), label in typed.items():
                if (a, b) in maskable:
                    print(f"    {label:7s} {passage.text[a:b]!r}\t{context(passage.text, a, b, 40)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--num-masks", type=int, default=1)
    parser.add_argument("--passages", action="store_true", help="all spans of random passages, no env")
    parser.add_argument("--task-pool", type=float, default=None,
                        help="the env's task_pool (1.0: spans extracted as passages are drawn, no full-corpus pass)")
    parser.add_argument("--compare-v1", action="store_true", help="with --passages: show spaCy's raw entities too")
    args = parser.parse_args()
    if args.seed < 5000:
        parser.error("seeds below 5000 are kept for labelled samples; use --seed 5000 or more")
    if args.passages:
        passage_spans(args.seed, args.n, args.compare_v1)
    else:
        env_masks(args.seed, args.n, args.num_masks, args.task_pool)


if __name__ == "__main__":
    main()

"""Child processes for the fault and concurrency tests: ``python -m tests.robustness._workers COMMAND ...``.

Each command does one thing a real user process does (build a prepared corpus,
search it, write trajectories or evaluation results) and reports through a JSON
file, so the tests can kill it (SIGKILL) at a chosen moment or run several at once.
``--slow`` stretches a build with short sleeps so a kill reliably lands mid-build.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

WORDS = ("river", "castle", "harbour", "empire", "poem", "engine", "village", "treaty", "comet", "library",
         "battle", "garden", "senate", "island", "bridge", "opera", "glacier", "market", "temple", "railway")
QUERIES = ("river castle", "empire treaty senate", "comet glacier", "opera library poem", "railway bridge market")


def write_corpus(path: Path, n: int) -> None:
    """``n`` deterministic passages with capitalised names and years (so spans exist)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(12)]
            text = f"In {1800 + i % 200} the {' '.join(words)} of Name{i} was built near Town{i % 50}."
            fh.write(json.dumps({"id": f"doc{i}", "title": f"Title {i}", "text": text}) + "\n")


class CapitalisedSpans:
    """A fast span extractor (capitalised words and years) so tests need no spaCy or NLTK pass.
    ``delay`` seconds per passage make a build slow enough to kill mid-way."""

    cache_key = "test-capitalised-v1"
    _PATTERN = re.compile(r"\b(?:[A-Z][a-z]+\d*|1[89]\d\d)\b")

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def extract_batch(self, texts: Iterable[str]) -> Iterator[list]:
        from ramp_env.text.spans import SalientSpan, SpanType

        for text in texts:
            if self.delay:
                time.sleep(self.delay)
            yield [SalientSpan(m.start(), m.end(), SpanType.NAME) for m in self._PATTERN.finditer(text)]


def _slowed(items: Iterable, delay: float) -> Iterator:
    for i, item in enumerate(items):
        if i % 100 == 0:
            time.sleep(delay * 100)
        yield item


def search_all(corpus) -> dict[str, list[str]]:
    retriever = corpus.retriever("tantivy")
    return {q: [h.passage_id for h in retriever.search(q, 5)] for q in QUERIES}


def build(args: argparse.Namespace) -> dict:
    """Prepare ``stage`` (store, spans, index or all) of a corpus, optionally slowly."""
    from ramp_env.corpus import prepared

    if args.slow:
        delay = args.slow
        original_iter = prepared.iter_passages
        prepared.iter_passages = lambda *a, **k: _slowed(original_iter(*a, **k), delay)  # store build
        store_iter = prepared.PassageStore.__iter__
        prepared.PassageStore.__iter__ = lambda self: _slowed(store_iter(self), delay)  # index build
    corpus = prepared.PreparedCorpus.open(args.corpus, cache_dir=args.cache, progress=False)
    if args.stage in ("spans", "all"):
        corpus.span_table(CapitalisedSpans(delay=args.slow))
    if args.stage in ("index", "all"):
        corpus.retriever("tantivy")
    return {"passages": len(corpus.store), "results": search_all(corpus) if args.stage in ("index", "all") else {}}


def read(args: argparse.Namespace) -> dict:
    """Search a prepared corpus and step an env over it ``--rounds`` times; report what came back."""
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.envs.ramp import RAMPEnv

    started = time.time()
    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache, progress=False)
    # the synthetic corpus repeats a few words: evidence for its spans is not the point here
    env = RAMPEnv(corpus=args.corpus, cache_dir=args.cache, span_extractor=CapitalisedSpans(), progress=False,
                  num_masks=2, require_evidence="none")
    rounds = []
    for i in range(args.rounds):
        obs, info = env.reset(seed=i)
        obs, *_ = env.step(f"<search>{QUERIES[i % len(QUERIES)]}</search>")
        rounds.append({"search": search_all(corpus), "task": info["task_id"], "passage": obs["passage"],
                       "results": obs["results"]})
    return {"started": started, "finished": time.time(), "rounds": rounds}


def write_trajectories(args: argparse.Namespace) -> dict:
    from ramp_env.trajectories import Trajectory
    from ramp_env.trajectories import write_trajectories as write

    def slow_records() -> Iterator[Trajectory]:
        for i in range(args.count):
            time.sleep(args.slow)
            yield Trajectory(task_id=f"t{i}", messages=[{"role": "user", "content": "x" * 1000}], actions=[],
                             tool_results=[], rewards=[], per_mask_scores=[0.5], num_masks=1, seed=i)

    return {"written": write(args.out_file, slow_records())}


def append_results(args: argparse.Namespace) -> dict:
    from ramp_env.evaluation.records import EpisodeRecord, ResultsFile

    def slow_records() -> Iterator[EpisodeRecord]:
        for i in range(args.count):
            time.sleep(args.slow)
            yield EpisodeRecord(agent="a", env_id="RAMP-v0", env_config="{}", num_masks=1, seed=0, episode=i,
                                reward=0.5, per_mask_scores=[0.5], searches=1, steps=2, seconds=0.1)

    return {"written": sum(1 for _ in ResultsFile(args.out_file).append(slow_records()))}


COMMANDS = {"build": build, "read": read, "write-trajectories": write_trajectories, "append-results": append_results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--corpus", default="")
    parser.add_argument("--cache", default="")
    parser.add_argument("--stage", default="all", choices=("store", "spans", "index", "all"))
    parser.add_argument("--slow", type=float, default=0.0, help="seconds of sleep per item")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--out-file", default="")
    parser.add_argument("--report", default="", help="JSON file for the outcome")
    args = parser.parse_args(argv)
    outcome = COMMANDS[args.command](args)
    if args.report:
        from ramp_env.cache import atomic_write_json

        atomic_write_json(args.report, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())

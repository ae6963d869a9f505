"""Refit the candidate scorer of the BM25 heuristic agent (``SCORER_WEIGHTS``) on a corpus.

    pip install scikit-learn
    python examples/fit_candidate_scorer.py --train-tasks 1000 --val-tasks 400

The agent plays ``--train-tasks`` one-mask tasks; every candidate it mined is a
row of evidence features (:meth:`CandidateScore.evidence`) labelled "token F1
with the gold span >= 0.5". A logistic regression on those rows gives the
weights; the script prints them with the top-1 token recall, on held-out tasks,
of the fitted scorer and of the scorer currently in ``ramp_env/reading/candidates.py``.
Training and validation tasks use reset seeds (50000+ and 90000+) that the
evaluation harness never uses.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from agents.bm25_heuristic import BM25HeuristicAgent
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.reading import CandidateScore
from ramp_env.rewards.metrics import token_f1, token_recall


@dataclass
class Args:
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    span_extractor: str = field(
        default="auto", metadata={"help": "salient-span extractor of the env and the agent: auto, spacy, rules, ..."}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "where the prepared corpus is kept (default: RAMP_ENV_CACHE or the user cache)"}
    )
    train_tasks: int = field(
        default=1000, metadata={"help": "one-mask tasks played for training rows (reset seeds 50000+)"}
    )
    val_tasks: int = field(
        default=400, metadata={"help": "held-out one-mask tasks the recall is measured on (reset seeds 90000+)"}
    )
    c: float = field(default=1.0, metadata={"help": "inverse L2 strength of the logistic regression"})


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help``: the usage above as written, then every option with its help and default."""


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    for f in dataclasses.fields(Args):
        kind = {int: int, float: float}.get(type(f.default), str)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default, help=f.metadata["help"])
    return Args(**vars(parser.parse_args()))


def mined_candidates(args: Args, first_seed: int, tasks: int) -> list[tuple[list[CandidateScore], str]]:
    """For each task: the candidates the agent found for its mask, and the gold span."""
    env = RAMPEnv(corpus=args.corpus, span_extractor=args.span_extractor, cache_dir=args.cache_dir, progress=False)
    agent = BM25HeuristicAgent(span_extractor=args.span_extractor)
    found = []
    for seed in range(first_seed, first_seed + tasks):
        obs, _ = env.reset(seed=seed, options={"num_masks": 1})
        agent.reset()
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            done = terminated or truncated
        assert agent._pool is not None and env.task is not None
        found.append((agent._pool.scores(1), env.task.answers[0]))
    return found


def top1_recall(found: list[tuple[list[CandidateScore], str]], score) -> float:
    total = 0.0
    for candidates, gold in found:
        if candidates:
            best = max(candidates, key=score)
            total += token_recall(best.text, gold)
    return total / len(found)


if __name__ == "__main__":
    from sklearn.linear_model import LogisticRegression

    args = parse_args()
    train = mined_candidates(args, 50_000, args.train_tasks)
    val = mined_candidates(args, 90_000, args.val_tasks)
    names = list(CandidateScore("", "name").evidence())
    x = np.array([list(c.evidence().values()) for cands, _ in train for c in cands])
    y = np.array([token_f1(c.text, gold) >= 0.5 for cands, gold in train for c in cands])
    model = LogisticRegression(C=args.c, max_iter=5000).fit(x, y)
    weights = dict(zip(names, model.coef_[0]))
    fitted = top1_recall(val, lambda c: float(np.dot(list(c.evidence().values()), model.coef_[0])))
    current = top1_recall(val, lambda c: c.score)
    print(f"candidate rows: {len(y)} ({y.mean():.1%} positive)")
    print("SCORER_WEIGHTS = {" + ", ".join(f'"{k}": {v:.2f}' for k, v in weights.items()) + "}")
    print(f"SCORER_BIAS = {model.intercept_[0]:.2f}")
    print(f"held-out top-1 token recall: fitted {fitted:.3f}, current weights {current:.3f}")

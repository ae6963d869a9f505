"""``ramp-env evidence PASSAGE_ID START:END``: the ranked evidence of one mask, with reasons.

Shows why a mask counts as answerable (or not): each passage the engine proposes for the
masked text, whether the evidence criterion accepts it, the acceptance path or the rule that
rejected it, and the sentence relied on (:mod:`ramp_env.masking.verify`).
"""

from __future__ import annotations

import argparse
import json
import sys

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.verify import ranked_evidence


def _span(text: str) -> tuple[int, int]:
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(end)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END character offsets, got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("evidence", help="the ranked evidence of one mask, with the reasons", description=__doc__)
    parser.add_argument("passage_id", help="id of the source passage (a task's info['task_id'] or passage_id)")
    parser.add_argument("span", type=_span, help="the masked span as START:END character offsets in that passage")
    parser.add_argument("--candidates", type=int, default=20, help="engine candidates to check (default 20)")
    parser.add_argument(
        "--criterion", default="context", choices=("context", "fact"),
        help="evidence criterion, as the env's evidence_criterion (default context; fact is stricter)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per candidate instead of a table")
    add_corpus_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.candidates < 1:
        raise InvalidOptionError("--candidates must be >= 1")
    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir, progress=False)
    verdicts = ranked_evidence(
        corpus, args.passage_id, args.span, corpus.retriever(args.retriever), candidates=args.candidates,
        criterion=args.criterion,
    )
    out = sys.stdout
    if args.json:
        for v in verdicts:
            out.write(json.dumps(v.to_json(), ensure_ascii=False) + "\n")
        return 0
    if not verdicts:
        out.write("no candidate passage holds the masked text\n")
        return 0
    first = verdicts[0]
    out.write(f"mask {args.span[0]}:{args.span[1]} of {args.passage_id}: {first.answer!r} ({first.span_type})\n")
    supported = sum(v.supported for v in verdicts)
    out.write(f"{supported} of {len(verdicts)} candidates state the fact\n\n")
    for rank, v in enumerate(verdicts, start=1):
        mark = "EVIDENCE" if v.supported else "rejected"
        out.write(f"{rank:>2}. {mark:<8} {v.path:<18} {v.evidence_id}\n")
        if v.sentences:
            out.write(f"    {' '.join(v.sentences)[:300]}\n")
    return 0

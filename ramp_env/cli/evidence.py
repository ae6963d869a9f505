"""``ramp-env evidence PASSAGE_ID START:END``: the ranked evidence of one mask, with reasons.

Shows why a mask counts as answerable (or not): each passage the engine proposes for the
masked text, whether the evidence criterion accepts it, the acceptance path or the rule that
rejected it, and the sentence relied on (:mod:`ramp_env.masking.verify`). With
``--verifier llm:URL|MODEL`` the candidates the criterion accepts are also asked of a served
model, and its answer (yes/no, P(yes)) is shown.
"""

from __future__ import annotations

import argparse
import json
import sys

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.evidence import parse_criterion
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
        "--criterion", default="context",
        help="evidence criterion, as the env's evidence_criterion: context (default), fact (stricter) "
        "or fact:T (the fact model at threshold T, 0.5 <= T < 1)",
    )
    parser.add_argument(
        "--verifier", default=None, metavar="llm:URL|MODEL",
        help="also ask a served model (OpenAI-compatible endpoint), as the env's evidence_verifier",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per candidate instead of a table")
    add_corpus_args(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.candidates < 1:
        raise InvalidOptionError("--candidates must be >= 1")
    parse_criterion(args.criterion, "--criterion")  # before the corpus and its models load
    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir, progress=False)
    verdicts = ranked_evidence(
        corpus, args.passage_id, args.span, corpus.retriever(args.retriever), candidates=args.candidates,
        criterion=args.criterion, verifier=args.verifier,
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
        llm = "" if v.llm is None else f"  llm: {'yes' if v.llm['accepted'] else 'no'}"
        if v.llm is not None and "p_yes" in v.llm:
            llm += f" (P(yes)={v.llm['p_yes']:.2f})"
        out.write(f"{rank:>2}. {mark:<8} {v.path:<18} {v.evidence_id}{llm}\n")
        if v.sentences:
            out.write(f"    {' '.join(v.sentences)[:300]}\n")
    return 0

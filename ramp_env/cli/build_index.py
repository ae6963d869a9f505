"""``ramp-env build-index``: prepare a corpus (passages, salient spans, search index) ahead of time."""

from __future__ import annotations

import argparse
import json
import time

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.pool import TaskPool, parse_task_pool


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("build-index", help="build and cache the passage store, spans and search index")
    add_corpus_args(parser)
    parser.add_argument("--format", dest="fmt", choices=("jsonl", "tsv", "parquet"), help="override the file format")
    parser.add_argument("--skip-bad-lines", action="store_true", help="skip and count malformed records")
    parser.add_argument("--no-spans", action="store_true", help="do not precompute salient spans")
    parser.add_argument(
        "--task-pool", default=None, metavar="N_OR_FRACTION",
        help="precompute spans only for the env's task_pool, with its meaning: digits are a passage count "
        "('1' is one passage), a decimal is a fraction in (0, 1] ('1.0' is every passage); "
        "into the cache the env fills lazily; without it, spans are computed for every passage",
    )
    parser.add_argument(
        "--verify", action="store_true",
        help="hash every byte of every prepared file against its checksum (opening checks only sizes and edges)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    # parsed with the env's meaning; a bad value fails before minutes of preparation
    spec = None if args.task_pool is None else parse_task_pool(args.task_pool)
    corpus = PreparedCorpus.open(
        args.corpus, cache_dir=args.cache_dir, fmt=args.fmt, on_error="skip" if args.skip_bad_lines else "raise"
    )
    extracted = None
    if spec is not None:
        pool = TaskPool(spec, len(corpus.store))  # the same pool RAMPEnv(task_pool=spec) draws from
        rows = pool.rows.tolist() if pool.rows is not None else range(1, len(corpus.store) + 1)
        extracted = corpus.lazy_span_table(args.span_extractor).fill(rows)
    elif not args.no_spans:
        corpus.span_table(args.span_extractor)
    if args.retriever == "tantivy":
        corpus.retriever("tantivy")
    summary = {
        "directory": str(corpus.directory),
        "passages": corpus.manifest["passages"],
        "skipped": corpus.manifest["skipped"],
        "seconds": round(time.perf_counter() - started, 2),
    }
    if extracted is not None:
        summary["task_pool_spans_extracted"] = extracted
    if args.verify:  # a damaged file raises CacheIntegrityError naming it and the rebuild command
        summary["verified_files"] = len(corpus.verify())
        summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    return 0

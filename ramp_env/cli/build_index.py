"""``ramp-env build-index``: prepare a corpus (passages, salient spans, search index) ahead of time."""

from __future__ import annotations

import argparse
import json
import time

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("build-index", help="build and cache the passage store, spans and search index")
    add_corpus_args(parser)
    parser.add_argument("--format", dest="fmt", choices=("jsonl", "tsv", "parquet"), help="override the file format")
    parser.add_argument("--skip-bad-lines", action="store_true", help="skip and count malformed records")
    parser.add_argument("--no-spans", action="store_true", help="do not precompute salient spans")
    return parser


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    corpus = PreparedCorpus.open(
        args.corpus, cache_dir=args.cache_dir, fmt=args.fmt, on_error="skip" if args.skip_bad_lines else "raise"
    )
    if not args.no_spans:
        corpus.span_table(args.span_extractor)
    if args.retriever == "tantivy":
        corpus.retriever("tantivy")
    summary = {
        "directory": str(corpus.directory),
        "passages": corpus.manifest["passages"],
        "skipped": corpus.manifest["skipped"],
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(summary))
    return 0

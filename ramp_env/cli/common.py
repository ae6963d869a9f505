"""Arguments several subcommands share."""

from __future__ import annotations

import argparse

from ramp_env.retrieval.base import BACKENDS


def add_corpus_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", default="default", help="'default' or a .jsonl/.tsv/.parquet corpus file")
    parser.add_argument("--cache-dir", default=None, help="cache root (default: $RAMP_ENV_CACHE or the user cache dir)")
    parser.add_argument(
        "--span-extractor", default="auto", choices=("auto", "spacy", "rules"), help="salient span extractor"
    )
    parser.add_argument("--retriever", default="tantivy", choices=BACKENDS, help="search backend")


def env_kwargs(args: argparse.Namespace) -> dict[str, object]:
    return {
        "corpus": args.corpus,
        "cache_dir": args.cache_dir,
        "span_extractor": args.span_extractor,
        "retriever": args.retriever,
    }

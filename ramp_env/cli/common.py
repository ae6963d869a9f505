"""Arguments several subcommands share."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ramp_env.cache import check_output_dir, check_output_file  # noqa: F401  (re-exported for the subcommands)
from ramp_env.errors import InvalidOptionError
from ramp_env.retrieval.base import BACKENDS

DEFAULT_ENV = "RAMP-v0"


def add_corpus_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", default="default", help="'default' or a .jsonl/.tsv/.parquet corpus file")
    parser.add_argument("--cache-dir", default=None, help="cache root (default: $RAMP_ENV_CACHE or the user cache dir)")
    parser.add_argument(
        "--span-extractor", default="auto",
        help="salient span extractor: auto, spacy, rules, llm or llm:URL|MODEL (an LLM picks the spans)",
    )
    parser.add_argument("--retriever", default="tantivy", choices=BACKENDS, help="search backend")


def env_kwargs(args: argparse.Namespace) -> dict[str, object]:
    return {
        "corpus": args.corpus,
        "cache_dir": args.cache_dir,
        "span_extractor": args.span_extractor,
        "retriever": args.retriever,
    }


def add_env_args(parser: argparse.ArgumentParser) -> None:
    """``--env``, repeated ``--env-arg KEY=VALUE`` and the corpus arguments."""
    parser.add_argument("--env", default=DEFAULT_ENV, help=f"Gymnasium env id (default {DEFAULT_ENV})")
    parser.add_argument(
        "--env-arg", action="append", default=[], metavar="KEY=VALUE",
        help="env keyword argument (VALUE parsed as JSON, else text), e.g. max_searches=2",
    )
    add_corpus_args(parser)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE as JSON when it parses (numbers, booleans, lists), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidOptionError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def gym_env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``gym.make(args.env)``: ``--env-arg`` values over the corpus
    arguments (all of them for RAMP-v0, only ``--corpus`` for other envs)."""
    kwargs: dict[str, Any] = dict(parse_assignment(a) for a in args.env_arg)
    if args.env == DEFAULT_ENV:
        return {**env_kwargs(args), **kwargs}
    if args.corpus != "default":
        kwargs.setdefault("corpus", args.corpus)
    if args.cache_dir is not None:
        kwargs.setdefault("cache_dir", args.cache_dir)
    return kwargs

"""What the benchmark scripts share: their command line and the machine record of a results file.

The scripts import it by name (``from _common import ...``): a script's own folder is first
on ``sys.path`` when it runs, and the tests put this folder there too
(``tests/benchmarks/conftest.py``). It imports no other benchmark, so no import cycle
can run through it; torch and transformers are imported only by the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ramp_env.cache import check_output_file

T = TypeVar("T")

SHARED_MACHINE = "shared machine: up to 8 engineers' jobs ran on the same 2 cores"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help``: the module docs as written, then every option with its help text and default."""


def parse_hf_args(args_class: type[T], doc: str | None, argv: list[str] | None = None) -> T:
    """``args_class`` (a dataclass whose fields carry ``metadata={"help": ...}``) from the command line,
    parsed by transformers' ``HfArgumentParser`` (the scripts that use it train models with transformers)."""
    from transformers import HfArgumentParser

    parser = HfArgumentParser(args_class, description=doc, formatter_class=HelpFormatter)
    (args,) = parser.parse_args_into_dataclasses(args=argv)
    return args


def neighbour_sample_args(doc: str | None, results: Path, argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the scripts that compare sampled passages with their best BM25 neighbours."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("--corpus", default="default", help="the corpus: 'default' or a corpus file")
    parser.add_argument("--passages", type=int, default=300, help="random source passages (seeded)")
    parser.add_argument("--top", type=int, default=10, help="BM25 neighbours compared with each source")
    parser.add_argument("--seed", type=int, default=0, help="seeds the passage sample")
    parser.add_argument("--out", type=Path, default=results, help="the results file")
    return parser.parse_args(argv)


def default_corpus_search() -> tuple[Any, Any, Any]:
    """The default corpus (prepared), its spans (the ``auto`` extractor) and its tantivy retriever:
    what the evidence benchmarks draw tasks from and search."""
    from ramp_env.corpus.prepared import PreparedCorpus

    corpus = PreparedCorpus.open("default", progress=False)
    return corpus, corpus.span_table("auto"), corpus.retriever("tantivy")


def run_with_threads(main: Callable[[T], object], args: T) -> None:
    """``main(args)`` with torch's thread count set to ``args.threads`` for the run (and restored after)."""
    from ramp_env.models import torch_threads

    with torch_threads(args.threads):  # type: ignore[attr-defined]
        main(args)


def labelled_rows(path: Path | str, fields: Mapping[str, type | tuple[type, ...]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` of each non-blank line of a JSONL file of labels, each row checked to hold
    ``fields`` with their types; a bad line raises ``ValueError`` naming the file and the line, and
    so does a file that cannot be read (missing, a directory, not UTF-8)."""
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the labels ({exc.strerror or exc})") from None
    lineno = 0
    with fh:
        try:
            for lineno, line in enumerate(fh, start=1):  # lineno is read by the except below
                if not line.strip():
                    continue
                yield lineno, _checked_row(path, lineno, line, fields)
        except UnicodeDecodeError:  # text is decoded in blocks: the bad bytes are at or after this line
            raise ValueError(f"{path}: not UTF-8 text (at or after line {lineno + 1})") from None


def _checked_row(path: Path | str, lineno: int, line: str, fields: Mapping[str, type | tuple[type, ...]]) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{lineno}: not JSON ({err})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{path}:{lineno}: not a JSON object")  # noqa: TRY004
    for name, kind in fields.items():
        if not isinstance(row.get(name), kind):
            got = row.get(name)
            kinds = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
            raise ValueError(f"{path}:{lineno}: field {name!r} must be {kinds}, got {got!r}")  # noqa: TRY004
    return row


def read_labels(path: Path | str, fields: Mapping[str, type | tuple[type, ...]]) -> list[dict[str, Any]]:
    """Every row of a JSONL file of labels (:func:`labelled_rows`); a bad line is a script error,
    one line naming the file and the line, with no traceback."""
    try:
        return [row for _, row in labelled_rows(path, fields)]
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def check_output(path: Path | str) -> None:
    """Fail before the slow parts if the results cannot be written (the library's check, as a script error)."""
    try:
        check_output_file(Path(path), "--out")
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc


def machine(note: str = SHARED_MACHINE) -> dict[str, Any]:
    """The machine and its load, for a results file (torch's thread count: the scripts that time models)."""
    import torch

    return {
        "platform": platform.platform(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "note": note,
    }


def wilson(k: int, n: int) -> list[float] | None:
    """95% Wilson interval of ``k`` successes in ``n`` (``None`` when ``n`` is 0), rounded for reports."""
    from scipy.stats import binomtest

    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(ci.low), 3), round(float(ci.high), 3)]


def rate(k: int, n: int) -> dict:
    """A proportion as reported in results files: value, counts and its Wilson interval."""
    return {"value": round(k / n, 3) if n else None, "k": k, "n": n, "ci95": wilson(k, n)}


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a server the script started and reap it; kill it if it has not exited within ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)

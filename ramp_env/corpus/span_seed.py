"""Salient spans shipped with the package for the embedded default corpus.

Extracting spans with spaCy (tagger, parser and NER, plus the cleaning rules) runs at
about 80 passages/s on 2 cores: three minutes for the default corpus's ~15k passages,
more than half of a new user's first ``ramp-env evaluate``. Those spans are a pure
function of the passage text and the extractor (whose ``cache_key`` names the spaCy
model version, the rules' version and the corpus gazetteer's hash), so the package
ships them as a *seed*: ``data/spans-<extractor key>.jsonl.gz``.

A seed is used only when it was made by the extractor the run asked for (same key,
so a new spaCy model or rule version falls back to extracting) and, row by row,
for the very passage text it was computed on: each row carries the passage id and a
hash of its text, and every span must pass :func:`~ramp_env.text.spans.span_problem`.
If any passage is missing or differs, the whole table is extracted as before (a
corpus that is not the default one simply never matches). ``tests/corpus`` re-extracts
a sample of seeded passages and compares, so a rule change made without a version bump
is caught.

Regenerate after changing the extractor (writes atomically)::

    python -m ramp_env.corpus.span_seed ramp_env/corpus/data
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from ramp_env.cache import atomic_path
from ramp_env.corpus.store import PassageStore
from ramp_env.text.spans import SalientSpan, span_problem

logger = logging.getLogger(__name__)

SEED_FORMAT = "ramp-env-span-seed"
SEED_VERSION = 1
SEED_DIR = Path(__file__).parent / "data"


def text_hash(title: str, text: str) -> str:
    """A short hash of what spans are computed from (title included: the gazetteer types by title)."""
    return hashlib.blake2b(f"{title}\n{text}".encode(), digest_size=8).hexdigest()


def seed_path(extractor_key: str, directory: Path = SEED_DIR) -> Path:
    return directory / f"spans-{extractor_key}.jsonl.gz"


def read_seed(path: Path, store: PassageStore, extractor_key: str) -> list[list[SalientSpan]] | None:
    """The spans of every passage of ``store`` in row order, or ``None`` when the seed at ``path``
    does not cover this store exactly (missing file, other extractor, other passages, bad row)."""
    if not path.is_file():
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            header = json.loads(f.readline())
            if header.get("format") != SEED_FORMAT or header.get("version") != SEED_VERSION:
                return _refuse(path, "not a span seed of this version")
            if header.get("extractor") != extractor_key or header.get("passages") != len(store):
                return None  # made for another extractor or corpus: not an error
            return _read_rows(f, path, store)
    except (OSError, EOFError, ValueError, TypeError, KeyError) as exc:
        return _refuse(path, f"unreadable ({exc})")


def _read_rows(lines: Iterable[str], path: Path, store: PassageStore) -> list[list[SalientSpan]] | None:
    table: list[list[SalientSpan]] = []
    for row, (line, passage) in enumerate(zip(lines, iter(store)), start=1):
        pid, digest, raw = json.loads(line)
        if pid != passage.id or digest != text_hash(passage.title, passage.text):
            return None  # same size, other passages
        spans = [SalientSpan.from_json(s) for s in raw]
        problem = span_problem(spans, passage.text)
        if problem:
            return _refuse(path, f"row {row} ({pid!r}): {problem}")
        table.append(spans)
    if len(table) != len(store):
        return _refuse(path, f"{len(table)} rows for {len(store)} passages")
    return table


def _refuse(path: Path, why: str) -> None:
    logger.warning("span seed %s not used: %s; extracting spans instead", path, why)


def write_seed(path: Path, store: PassageStore, spans: Iterable[list[SalientSpan]], extractor_key: str) -> int:
    """Write a seed for ``store`` (rows in store order) atomically; return the number of rows."""
    header = {"format": SEED_FORMAT, "version": SEED_VERSION, "extractor": extractor_key, "passages": len(store)}
    rows = 0
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write(json.dumps(header) + "\n")
        for passage, row in zip(iter(store), spans, strict=True):
            record = [passage.id, text_hash(passage.title, passage.text), [s.to_json() for s in row]]
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
            rows += 1
    return rows


def _rows(table: object, n: int) -> Iterator[list[SalientSpan]]:
    for rowid in range(1, n + 1):
        yield table.get(rowid)  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the default corpus's span seed (after an extractor change).")
    parser.add_argument("directory", type=Path, help="where to write spans-<extractor key>.jsonl.gz")
    args = parser.parse_args(argv)
    from ramp_env.corpus.prepared import PreparedCorpus
    from ramp_env.text.spans import make_span_extractor

    corpus = PreparedCorpus.open()
    key = corpus.bind_extractor(make_span_extractor("auto")).cache_key
    table = corpus.span_table("auto")
    out = seed_path(key, args.directory)
    rows = write_seed(out, corpus.store, _rows(table, len(corpus.store)), key)
    print(f"wrote {rows} rows to {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

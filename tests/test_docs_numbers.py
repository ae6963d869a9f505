"""Every number the docs quote next to a results file is in that results file.

What counts as "a number quoted with its file" (pragmatic, so the check can run on
prose without false alarms):

* the file: a name of a file in ``benchmarks/results/`` (with or without the folder);
* prose: each sentence (up to a full stop) naming a results file; its numbers are checked against the
  files that sentence names;
* a table: its numbers are checked against the files named in the table, in the
  paragraphs before it back to the previous heading, and in the paragraph right after it
  (docs introduce a table with its source, or cite the source just below);
* a number: a decimal (``0.958``, ``35.5``), a number with a thousands separator
  (``14,862``), or an integer followed by a unit (``86 ms``, ``31%``); both ends of a range
  (``10-86 ms``). Not numbers: those inside code spans and blocks (commands, arguments),
  inside identifiers (``Qwen2.5-1.5B``, ``v0``), thresholds (``<= 0.35``, ``at least 70%``)
  and signed differences (``+0.023``), which are computed from the file, not read off it.
* a match: some number in the file (JSON numbers, and numbers inside its strings) equals
  the quoted one at the quoted precision, directly or as a percentage, a ms/s or a
  bytes/MB conversion.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"

# a results file, also one moved to benchmarks/results/superseded/ (benchmarks/results/INDEX.md)
_FILE = re.compile(r"(?<![\w/.-])(?:benchmarks/results/)?((?:superseded/)?[\w.-]+\.json)\b")
_UNIT = r"(?:%|\s?(?:ms|s|seconds|minutes|min|MB|GB|KB|MiB|GiB|x|×)(?![\w]))"
_NUMBER = re.compile(
    r"(?<![\w.\-/^+±])"  # not inside an identifier, a version, a path or a signed difference
    rf"(\d{{1,3}}(?:,\d{{3}})+|\d+\.\d+|\d+(?=(?:[-–]\d+(?:\.\d+)?)?{_UNIT}))"
    r"(?![\w]|\.\d)"
)
_RANGE_END = re.compile(rf"(?<=\d)[-–](\d+(?:\.\d+)?)(?={_UNIT})")
_THRESHOLD = re.compile(r"(?:<=?|>=?|≤|≥|at least|at most|under|over)\s*$")
_SCALES = (1.0, 100.0, 0.01, 1000.0, 0.001, 1e-6)  # as is, percent, ms <-> s, bytes -> MB
_SENTENCE_END = re.compile(r"(?<=[.])\s+(?=[A-Z(`*])")


def numbers_in(obj: object) -> Iterator[float]:
    """Every number of a parsed JSON document, with those written inside its strings."""
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, int | float):
        if not math.isnan(obj):
            yield float(obj)
    elif isinstance(obj, str):
        yield from (float(x) for x in re.findall(r"\d+(?:\.\d+)?", obj.replace(",", "")))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from numbers_in(key)
            yield from numbers_in(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from numbers_in(value)


def quoted_numbers(text: str) -> list[str]:
    """The numbers a passage of Markdown quotes (see the module docs for what counts)."""
    text = re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), text)  # code spans hold commands
    found = []
    for match in _NUMBER.finditer(text):
        if _THRESHOLD.search(text[max(0, match.start() - 10) : match.start()]):
            continue
        found.append(match.group(1))
        end = _RANGE_END.match(text, match.end())
        if end:
            found.append(end.group(1))
    return found


def appears(quoted: str, values: Iterable[float]) -> bool:
    """Whether ``quoted`` is one of ``values`` rounded to the quoted precision (or converted)."""
    plain = quoted.replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    number, tolerance = float(plain), 0.5 * 10**-decimals + 1e-9
    return any(abs(v * scale - number) <= tolerance for v in values for scale in _SCALES)


def blocks(markdown: str) -> list[tuple[str, str]]:
    """``(kind, text)`` of each heading, paragraph and table, code blocks left out."""
    out: list[tuple[str, str]] = []
    current: list[str] = []
    kind = ""
    in_code = False

    def flush() -> None:
        if current and kind != "blank":
            out.append((kind, "\n".join(current)))
        current.clear()

    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            flush()
            in_code = not in_code
            kind = "blank"
            continue
        if in_code:
            continue
        stripped = line.strip()
        new = "blank" if not stripped else "heading" if stripped.startswith("#") else (
            "table" if stripped.startswith("|") else "para")
        if new != kind or new == "heading":
            flush()
            kind = new
        current.append(line)
    flush()
    return out


def claims(markdown: str, known: set[str]) -> Iterator[tuple[str, set[str]]]:
    """``(passage, files)``: each passage of the doc that quotes numbers with the files it cites."""
    parts = blocks(markdown)

    def files(text: str) -> set[str]:
        return {name for name in _FILE.findall(text) if name in known}

    for i, (kind, text) in enumerate(parts):
        if kind == "para":
            for sentence in _SENTENCE_END.split(text):
                if files(sentence):
                    yield sentence, files(sentence)
        elif kind == "table":
            cited = files(text)
            j = i - 1
            while j >= 0 and parts[j][0] != "heading":
                cited |= files(parts[j][1]) if parts[j][0] == "para" else set()
                j -= 1
            if i + 1 < len(parts) and parts[i + 1][0] == "para":
                cited |= files(parts[i + 1][1])
            if cited:
                yield text, cited


def misquoted(markdown: str, results_dir: Path) -> list[str]:
    """One line per quoted number that none of its cited results files holds."""
    known = {p.relative_to(results_dir).as_posix() for p in results_dir.rglob("*.json")}
    cache: dict[str, list[float]] = {}
    problems = []
    for passage, cited in claims(markdown, known):
        values = [v for name in sorted(cited) for v in cache.setdefault(
            name, list(numbers_in(json.loads((results_dir / name).read_text(encoding="utf-8")))))]
        for quoted in quoted_numbers(passage):
            if not appears(quoted, values):
                context = " ".join(passage.split())
                at = context.find(quoted)
                problems.append(f"{quoted} is in none of {sorted(cited)}: ...{context[max(0, at - 70) : at + 40]}...")
    return problems


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")) + [ROOT / "README.md"], ids=lambda p: p.name)
def test_numbers_quoted_with_a_results_file_are_in_it(doc: Path) -> None:
    problems = misquoted(doc.read_text(encoding="utf-8"), RESULTS)
    assert not problems, f"{doc.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_check_catches_a_stale_number(tmp_path: Path) -> None:
    (tmp_path / "speed.json").write_text(json.dumps({"ms_per_pair": 35.49, "passages": 14862, "share": 0.312}))
    good = "The judge took 35.5 ms per pair on 14,862 passages, 31% of them (`benchmarks/results/speed.json`)."
    assert misquoted(good, tmp_path) == []
    stale = "The judge took 10-86 ms per pair (`speed.json`)."
    assert [p.split(" ")[0] for p in misquoted(stale, tmp_path)] == ["10", "86"]
    table = "Results in `speed.json`:\n\n| run | ms |\n|---|---|\n| a | 35.5 |\n| b | 85.5 |\n"
    assert [p.split(" ")[0] for p in misquoted(table, tmp_path)] == ["85.5"]


def test_what_is_not_a_quoted_number() -> None:
    text = ("Qwen2.5-1.5B at `--top_k 3.0` scored +0.023 more, a list scores <= 0.35 and at least 70% "
            "of RAMP-v0 tasks; 1.6 s and 2,296 passages and 12.5%.")
    assert quoted_numbers(text) == ["1.6", "2,296", "12.5"]


def test_every_results_file_is_in_the_index() -> None:
    """``benchmarks/results/INDEX.md`` names every results file (current or superseded), so a
    newcomer can tell what each is and which script made it."""
    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    index = (results / "INDEX.md").read_text(encoding="utf-8")
    files = [p for p in results.iterdir() if p.name != "INDEX.md" and p.name != "superseded"]
    files += list((results / "superseded").iterdir())
    missing = sorted(p.name for p in files if f"`{p.name}`" not in index and f"`{p.name}/`" not in index)
    assert missing == [], f"add these to benchmarks/results/INDEX.md: {missing}"

"""Streaming loaders for corpus files.

Formats (chosen by extension, or ``fmt=``):

* ``jsonl`` (also ``.jsonl.gz``): one object a line, ``{"id", "title", "contents" | "text"}``
  as used by pyserini and FlashRAG. When only ``contents`` is present and no
  ``title``, the pyserini convention ``"title\\ntext"`` is split on the first newline
  only if the object has no ``title`` key and the contents starts with a quoted title
  (``"Title"\\ntext``, as in the DPR-derived pyserini files).
* ``tsv`` (also ``.tsv.gz``): DPR's ``psgs_w100.tsv``: ``id\\ttext\\ttitle`` with a header line
  (or headerless rows with numeric ids). One record a line, exactly as many fields as the
  header; a field wholly in double quotes is CSV-unquoted, ambiguous quoting is a bad record,
  and an unknown header is an error listing the expected columns.
* ``parquet``: columns ``id``, ``title`` and ``text`` or ``contents``; read in record batches.

All loaders are generators, so a 21M-passage file is never held in memory. A bad
record raises :class:`CorpusFormatError` naming the file and line (``on_error="raise"``,
the default) or is skipped and counted in ``stats.skipped`` (``on_error="skip"``).
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ramp_env.corpus.passage import Passage
from ramp_env.errors import InvalidOptionError, RampEnvError
from ramp_env.text.canonical import corpus_text

OnError = Literal["raise", "skip"]
FORMATS = ("jsonl", "tsv", "parquet")


class CorpusFormatError(RampEnvError, ValueError):
    """A corpus record could not be read; names the file and the line (or row)."""

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, int, str]]:
        # rebuilt from its fields: errors cross process boundaries (vector envs, Ray, pools)
        return type(self), (self.path, self.line, self.reason)


@dataclass
class LoadStats:
    """Counts kept while a corpus streams: records read and records skipped."""

    read: int = 0
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def skip(self, error: CorpusFormatError) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(str(error))


def detect_format(path: str | Path) -> str:
    """Return ``"jsonl"``, ``"tsv"`` or ``"parquet"`` from the file name."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, fmt in ((".jsonl", "jsonl"), (".json", "jsonl"), (".tsv", "tsv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise InvalidOptionError(f"cannot tell the corpus format of {path!s}: expected .jsonl, .tsv or .parquet (or pass fmt=)")


_BOM = b"\xef\xbb\xbf"


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _raw_lines(path: Path, fh: io.BufferedIOBase) -> Iterator[bytes]:
    """The file's lines; a damaged gzip stream is an error naming the file, in either
    ``on_error`` mode: nothing after the damage can be read, so no line can be skipped."""
    line_no = 0
    try:
        for line_no, raw in enumerate(fh, start=1):  # line_no is read in the handler below
            yield raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise CorpusFormatError(path, line_no + 1, f"truncated or corrupt gzip file ({exc})") from exc


def _decoded_lines(path: Path) -> Iterator[tuple[int, str, CorpusFormatError | None]]:
    """``(line number, text, error)`` for each line; ``error`` is set when the line is not UTF-8
    (``text`` then has U+FFFD for the bad bytes, so a quoted TSV field keeps its shape).

    Lines are decoded one by one (not through a buffered text stream) so that a
    wrongly encoded line is reported at its own number and, with ``on_error="skip"``,
    only that line is lost; a leading byte-order mark (Windows editors) is dropped.
    Line endings are kept.
    """
    with _open_binary(path) as fh:
        for line_no, raw in enumerate(_raw_lines(path, fh), start=1):
            if line_no == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                yield line_no, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                error = CorpusFormatError(path, line_no, f"not valid UTF-8 at byte {exc.start} ({exc.reason})")
                yield line_no, raw.decode("utf-8", errors="replace"), error


def _make_passage(path: Path, line: int, pid: object, title: object, text: object) -> Passage:
    if pid is None or (isinstance(pid, str) and not pid.strip()):
        raise CorpusFormatError(path, line, "missing passage id")
    if isinstance(pid, bool) or not isinstance(pid, str | int):
        raise CorpusFormatError(path, line, f"passage id must be a string or an integer, got {type(pid).__name__}")
    if isinstance(pid, str) and any("\ud800" <= ch <= "\udfff" for ch in pid):
        # JSON can spell a lone surrogate ("\\ud800"); no store or index can hold it
        raise CorpusFormatError(path, line, "passage id contains a lone surrogate (not valid Unicode)")
    if not isinstance(text, str):
        raise CorpusFormatError(path, line, "missing text: expected a 'contents' or 'text' string")
    if title is not None and not isinstance(title, str):
        raise CorpusFormatError(path, line, f"title must be a string, got {type(title).__name__}")
    text = corpus_text(text).strip()
    if not text:
        raise CorpusFormatError(path, line, "empty text")
    return Passage(id=str(pid).strip(), title=corpus_text(title or "").strip(), text=text)


def _iter_jsonl(path: Path) -> Iterator[tuple[int, Passage | CorpusFormatError]]:
    for line_no, line, error in _decoded_lines(path):
        if error is not None:
            yield line_no, error
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, CorpusFormatError(path, line_no, f"bad JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            yield line_no, CorpusFormatError(path, line_no, "expected a JSON object")
            continue
        text = obj.get("text", obj.get("contents"))
        title = obj.get("title")
        if "title" not in obj and "contents" in obj and "text" not in obj and isinstance(text, str):
            first, sep, rest = text.partition("\n")
            if sep and first.startswith('"') and first.endswith('"'):
                title, text = first.strip('"'), rest
        try:
            yield line_no, _make_passage(path, line_no, obj.get("id", obj.get("_id")), title, text)
        except CorpusFormatError as exc:
            yield line_no, exc


_TSV_EXPECTED = (
    "a header line naming the columns id, text (or contents) and optionally title, tab-separated "
    "(DPR's psgs_w100.tsv starts with 'id<TAB>text<TAB>title'), or headerless DPR rows "
    "'id<TAB>text<TAB>title' with numeric ids"
)


class _QuotingError(RampEnvError, ValueError):
    pass


def _split_tsv_line(line: str) -> list[str]:
    """One physical line's fields. A record never spans lines (DPR files have one passage a line):
    a stray quote can at worst spoil its own row, never swallow the rows after it. A field
    wholly in double quotes is unquoted CSV-style (doubled quotes inside it become one, as
    DPR writes them); a quote inside an unquoted field is text; a quoted field that does not close, or
    text after a closing quote, is ambiguous and raises :class:`_QuotingError`.

    Hand-written rather than ``csv.reader``: the csv module caps fields at 128 KiB unless
    ``csv.field_size_limit`` is raised, which is process-wide state a library must not change.
    """
    if '"' not in line:
        return line.split("\t")
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            parts, j = [], i + 1
            while True:
                k = line.find('"', j)
                if k < 0:
                    raise _QuotingError(f"the quoted field {len(fields) + 1} does not close")
                parts.append(line[j:k])
                if k + 1 < n and line[k + 1] == '"':  # a doubled quote inside a quoted field
                    parts.append('"')
                    j = k + 2
                    continue
                break
            fields.append("".join(parts))
            i = k + 1
            if i == n:
                return fields
            if line[i] != "\t":
                raise _QuotingError(f"text after the closing quote of field {len(fields)}")
            i += 1
        else:
            k = line.find("\t", i)
            if k < 0:
                fields.append(line[i:])
                return fields
            fields.append(line[i:k])
            i = k + 1


def _iter_tsv(path: Path) -> Iterator[tuple[int, Passage | CorpusFormatError]]:
    columns: dict[str, int] | None = None
    width = 0
    for line_no, line, error in _decoded_lines(path):
        line = line.rstrip("\r\n")
        if error is not None:
            if columns is None:  # an unreadable first line cannot be told from a header: stop
                raise error
            yield line_no, error
            continue
        if not line.strip():
            continue
        try:
            row = _split_tsv_line(line)
        except _QuotingError as exc:
            if columns is None:
                raise CorpusFormatError(path, line_no, f"unreadable TSV header ({exc}); expected {_TSV_EXPECTED}") from exc
            yield line_no, CorpusFormatError(path, line_no, f"ambiguous quoting in TSV row ({exc}); quote a whole "
                                                            "field as \"...\" with inner quotes doubled, or not at all")
            continue
        if columns is None:
            lowered = [cell.strip().lower() for cell in row]
            if "id" in lowered and ("text" in lowered or "contents" in lowered):
                text_name = "text" if "text" in lowered else "contents"
                columns = {"id": lowered.index("id"), "text": lowered.index(text_name)}
                if "title" in lowered:
                    columns["title"] = lowered.index("title")
                width = len(row)
                continue
            if len(row) == 3 and row[0].strip().isdigit():
                columns, width = {"id": 0, "text": 1, "title": 2}, 3  # headerless DPR rows
            else:
                # refuse rather than read an unknown header as a passage (or data as a header)
                raise CorpusFormatError(path, line_no, f"unrecognised TSV header {row[:6]!r}; expected {_TSV_EXPECTED}")
        if len(row) != width:
            yield line_no, CorpusFormatError(path, line_no, f"expected {width} tab-separated fields, got {len(row)}")
            continue
        title = row[columns["title"]] if "title" in columns else ""
        try:
            yield line_no, _make_passage(path, line_no, row[columns["id"]], title, row[columns["text"]])
        except CorpusFormatError as exc:
            yield line_no, exc


def _iter_parquet(path: Path) -> Iterator[tuple[int, Passage | CorpusFormatError]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise CorpusFormatError(path, 0, f"not a readable Parquet file ({exc})") from exc
    names = set(pf.schema_arrow.names)
    text_col = "text" if "text" in names else "contents" if "contents" in names else None
    if "id" not in names or text_col is None:
        raise CorpusFormatError(path, 0, f"Parquet file needs columns 'id' and 'text' or 'contents'; has {sorted(names)}")
    columns = ["id", text_col] + (["title"] if "title" in names else [])
    row = 0
    for batch in pf.iter_batches(batch_size=8192, columns=columns):
        data = batch.to_pydict()
        titles = data.get("title", [None] * batch.num_rows)
        for pid, text, title in zip(data["id"], data[text_col], titles):
            row += 1
            try:
                yield row, _make_passage(path, row, pid, title, text)
            except CorpusFormatError as exc:
                yield row, exc


def iter_passages(
    path: str | Path,
    fmt: str | None = None,
    on_error: OnError = "raise",
    stats: LoadStats | None = None,
) -> Iterator[Passage]:
    """Stream the passages of a corpus file.

    Args:
        path: a ``.jsonl``, ``.tsv`` or ``.parquet`` file (``.gz`` allowed for the text formats).
        fmt: force a format instead of guessing from the name.
        on_error: ``"raise"`` a :class:`CorpusFormatError` at the first bad record, or
            ``"skip"`` it and count it in ``stats``.
        stats: optional :class:`LoadStats` filled as the stream is consumed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InvalidOptionError(f"unknown corpus format {fmt!r}; expected one of {FORMATS}")
    if on_error not in ("raise", "skip"):
        raise InvalidOptionError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    stats = stats if stats is not None else LoadStats()
    reader = {"jsonl": _iter_jsonl, "tsv": _iter_tsv, "parquet": _iter_parquet}[fmt]
    for _, item in reader(path):
        if isinstance(item, CorpusFormatError):
            if on_error == "raise":
                raise item
            stats.skip(item)
            continue
        stats.read += 1
        yield item

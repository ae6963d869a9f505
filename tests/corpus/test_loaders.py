"""Corpus loaders: each format on a small fixture, and bad records named by file and line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ramp_env.corpus import CorpusFormatError, Passage, detect_format, iter_passages
from ramp_env.corpus.loaders import LoadStats
from tests.conftest import FIXTURES


def test_jsonl_fixture_reads_contents_text_and_pyserini_titles() -> None:
    passages = list(iter_passages(FIXTURES / "tiny.jsonl"))
    assert len(passages) == 5  # the blank line is not a record
    assert all(isinstance(p, Passage) and p.id and p.text for p in passages)
    # line 4 has no title key and a pyserini '"Title"\ntext' contents field
    assert passages[3].title and not passages[3].text.startswith('"')
    # line 6 uses "_id" and "text"
    raw = [json.loads(line) for line in (FIXTURES / "tiny.jsonl").read_text().splitlines() if line.strip()]
    assert passages[4].id == raw[4]["_id"]


def test_dpr_tsv_fixture_maps_columns_by_header() -> None:
    passages = list(iter_passages(FIXTURES / "tiny_dpr.tsv"))
    assert [p.id for p in passages] == ["1", "2", "3", "4", "5"]
    assert passages[0].title == "Abraham Lincoln"
    assert passages[0].text.startswith("Abraham Lincoln was the 16th president")


def test_tsv_without_header_uses_dpr_order(tmp_path: Path) -> None:
    path = tmp_path / "noheader.tsv"
    path.write_text("7\tSome passage text here.\tA Title\n", encoding="utf-8")
    (passage,) = iter_passages(path)
    assert (passage.id, passage.title, passage.text) == ("7", "A Title", "Some passage text here.")


def test_parquet_streams_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    n = 20_000  # more than one 8192-row batch
    table = pa.table({"id": [f"p{i}" for i in range(n)], "title": ["T"] * n, "contents": [f"text {i}" for i in range(n)]})
    pq.write_table(table, path, row_group_size=5000)
    passages = list(iter_passages(path))
    assert len(passages) == n and passages[-1] == Passage("p19999", "T", "text 19999")


def test_gzipped_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "a", "title": "T", "text": "hello world"}) + "\n")
    assert detect_format(path) == "jsonl"
    assert [p.id for p in iter_passages(path)] == ["a"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"id": "a", "text": "ok"}\n{"id": "b", "text": \n', "bad JSON"),
        ('{"id": "a", "text": "ok"}\n{"id": "b"}\n', "missing text"),
        ('{"id": "a", "text": "ok"}\n{"text": "no id"}\n', "missing passage id"),
        ('{"id": "a", "text": "ok"}\n["not", "an", "object"]\n', "expected a JSON object"),
        ('{"id": "a", "text": "ok"}\n{"id": "b", "text": "   "}\n', "empty text"),
    ],
)
def test_bad_jsonl_record_names_file_and_line(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusFormatError) as err:
        list(iter_passages(path))
    assert err.value.line == 2 and reason in str(err.value) and str(path) in str(err.value)
    stats = LoadStats()
    assert [p.id for p in iter_passages(path, on_error="skip", stats=stats)] == ["a"]
    assert stats.skipped == 1 and stats.read == 1


def test_wrong_encoding_is_an_error_not_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"id": "a", "text": "ok"}\n{"id": "b", "text": "Zürich"}\n'.encode("latin-1"))
    with pytest.raises(CorpusFormatError, match="not valid UTF-8"):
        list(iter_passages(path))


def test_control_characters_are_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "ctl.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "a\x00b\u00a0c\u200bd"}) + "\n", encoding="utf-8")
    (passage,) = iter_passages(path)
    assert passage.text == "a b cd"


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot tell the corpus format"):
        detect_format(tmp_path / "corpus.txt")
    with pytest.raises(FileNotFoundError, match="corpus file not found"):
        list(iter_passages(tmp_path / "missing.jsonl"))

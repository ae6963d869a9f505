"""Fuzzing corpus files: every bad record is an error naming the file and its line, or is skipped
and counted; the passages that come out are exactly the good records, never a silently wrong corpus.

Files are built line by line from good records and every kind of damage (blank
lines, bad JSON, non-objects, missing or mistyped fields, empty text, lone
surrogates, undecodable bytes), so the test knows which line each outcome belongs to.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ramp_env.corpus.loaders import CorpusFormatError, LoadStats, iter_passages
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.text.canonical import corpus_text  # what the loaders store: references decoded, cleaned

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
WORDS = st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=60).filter(
    lambda t: t.strip().lower() not in {"id", "text", "contents", "title"}  # would read as a header row
)


def expected_text(text: str) -> str | None:
    """The passage text the loader should keep, or None when the record must be rejected."""
    cleaned = corpus_text(text).strip()
    return cleaned or None


@st.composite
def jsonl_line(draw: st.DrawFn, number: int) -> tuple[bytes, tuple[str, str, str] | None | str]:
    """One line and what it means: a ``(id, title, text)`` record, ``None`` (ignored) or ``"bad"``."""
    kind = draw(st.sampled_from(["good", "good", "good", "blank", "bad_json", "not_object", "no_id", "no_text",
                                 "empty_text", "bad_title", "bad_id", "surrogate_id", "bad_utf8"]))
    pid = f"p{number}"
    if kind == "good":
        text, title = draw(ANY_TEXT), draw(st.one_of(st.none(), ANY_TEXT))
        key = draw(st.sampled_from(["text", "contents"]))
        record = {"id" if draw(st.booleans()) else "_id": pid, key: text}
        if title is not None:
            record["title"] = title
        if expected_text(text) is None:
            return json.dumps(record).encode(), "bad"  # empty once cleaned: rejected, not kept empty
        if key == "contents" and title is None and text.partition("\n")[1]:
            first = text.partition("\n")[0]
            if first.startswith('"') and first.endswith('"'):  # the pyserini "Title"\ntext convention
                return json.dumps(record).encode(), "skip-check"
        return json.dumps(record).encode(), (pid, corpus_text(title or "").strip(), expected_text(text))
    lines: dict[str, bytes] = {
        "blank": draw(st.sampled_from([b"", b"   ", b"\t", b"\r"])),
        "bad_json": draw(st.sampled_from([b'{"id": "x", "text": "unterminated', b"{'id': 1}", b"{,}", b"nul\x00l"])),
        "not_object": draw(st.sampled_from([b"[1, 2]", b"42", b'"just a string"', b"null"])),
        "no_id": json.dumps({"text": "some text"}).encode(),
        "no_text": json.dumps({"id": pid, "title": "T"}).encode(),
        "empty_text": json.dumps({"id": pid, "text": draw(st.sampled_from(["", "   ", "\u200b", "\x00\x01"]))}).encode(),
        "bad_title": json.dumps({"id": pid, "text": "words here", "title": draw(st.sampled_from([1, [], {}]))}).encode(),
        "bad_id": json.dumps({"id": draw(st.sampled_from([None, True, 1.5, [1], {"a": 1}, ""])), "text": "x y"}).encode(),
        "surrogate_id": json.dumps({"id": pid + "\ud800", "text": "x y"}).encode(),
        "bad_utf8": draw(st.sampled_from([b'{"id": "x", "text": "caf\xe9"}', b"\xff\xfe", b'{"id": "\xc3", "text": "t"}'])),
    }
    return lines[kind], (None if kind == "blank" else "bad")


@st.composite
def jsonl_file(draw: st.DrawFn) -> tuple[bytes, list]:
    n = draw(st.integers(0, 25))
    pairs = [draw(jsonl_line(i)) for i in range(n)]
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    body = ending.join(line for line, _ in pairs) + (ending if pairs and draw(st.booleans()) else b"")
    return bom + body, [meaning for _, meaning in pairs]


def check_outcomes(path: Path, meanings: list) -> None:
    if "skip-check" in meanings:
        return  # the title-splitting convention decides those; covered by tests/corpus
    good = [m for m in meanings if isinstance(m, tuple)]
    bad_lines = [i + 1 for i, m in enumerate(meanings) if m == "bad"]
    stats = LoadStats()
    kept = [(p.id, p.title, p.text) for p in iter_passages(path, on_error="skip", stats=stats)]
    assert kept == good  # exactly the good records, in order, unchanged
    assert (stats.read, stats.skipped) == (len(good), len(bad_lines))
    if bad_lines:
        with pytest.raises(CorpusFormatError) as err:
            list(iter_passages(path))
        assert err.value.path == str(path) and err.value.line == bad_lines[0]
        assert f"{path}:{bad_lines[0]}:" in str(err.value)
    else:
        assert [(p.id, p.title, p.text) for p in iter_passages(path)] == good


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=jsonl_file(), gz=st.booleans())
def test_jsonl_files_give_exactly_their_good_records(tmp_path: Path, case: tuple[bytes, list], gz: bool) -> None:
    data, meanings = case
    path = tmp_path / ("corpus.jsonl.gz" if gz else "corpus.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    check_outcomes(path, meanings)


@st.composite
def tsv_file(draw: st.DrawFn) -> tuple[bytes, list]:
    header = draw(st.booleans())
    # without a header, the first row must look like DPR data (numeric id, 3 fields) or the file is refused
    lines, meanings = ([b"id\ttext\ttitle"], [None]) if header else ([b"0\tthe first passage\tFirst"], [("0", "First", "the first passage")])
    for i in range(1, draw(st.integers(1, 21))):
        kind = draw(st.sampled_from(["good", "good", "good", "blank", "short", "empty_text", "bad_utf8"]))
        if kind == "good":
            text = draw(WORDS.filter(lambda t: "\n" not in t and "\r" not in t))
            title = draw(WORDS.filter(lambda t: "\n" not in t and "\r" not in t))
            buffer = io.StringIO()
            csv.writer(buffer, delimiter="\t", lineterminator="").writerow([str(i), text, title])
            lines.append(buffer.getvalue().encode())
            keep = expected_text(text)
            meanings.append((str(i), corpus_text(title).strip(), keep) if keep else "bad")
        elif kind == "blank":
            lines.append(b"")
            meanings.append(None)
        elif kind == "short":
            lines.append(f"{i}".encode())
            meanings.append("bad")
        elif kind == "empty_text":
            lines.append(f"{i}\t \tTitle".encode())
            meanings.append("bad")
        else:
            lines.append(f"{i}\tcaf".encode() + b"\xe9\tTitle")
            meanings.append("bad")
    return b"\n".join(lines) + b"\n", meanings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=tsv_file())
def test_tsv_files_give_exactly_their_good_records(tmp_path: Path, case: tuple[bytes, list]) -> None:
    data, meanings = case
    path = tmp_path / "psgs.tsv"
    path.write_bytes(data)
    check_outcomes(path, meanings)


def _records(n: int) -> list[dict[str, str]]:
    return [{"id": f"d{i}", "title": f"Doc {i}", "text": f"café number {i} in the text"} for i in range(n)]


def test_a_latin1_file_is_named_at_its_first_accented_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in _records(5)]
    lines[0] = json.dumps({"id": "plain", "text": "ascii only"})  # identical in Latin-1 and UTF-8
    path.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(CorpusFormatError, match="not valid UTF-8") as err:
        list(iter_passages(path))
    assert err.value.line == 2
    stats = LoadStats()
    assert [p.id for p in iter_passages(path, on_error="skip", stats=stats)] == ["plain"]
    assert stats.skipped == 4


def test_a_utf16_file_never_becomes_a_corpus(tmp_path: Path) -> None:
    path = tmp_path / "utf16.jsonl"
    path.write_bytes("\n".join(json.dumps(r) for r in _records(3)).encode("utf-16"))
    with pytest.raises(CorpusFormatError) as err:
        list(iter_passages(path))
    assert err.value.line == 1
    with pytest.raises(ValueError, match="no readable passages"):
        PreparedCorpus.open(path, cache_dir=tmp_path / "cache", on_error="skip", progress=False)


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_truncated_gzip_file_is_an_error_naming_it(tmp_path: Path, on_error: str) -> None:
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in _records(3000)).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    # skipping cannot help: everything after the cut is gone, so both modes stop
    with pytest.raises(CorpusFormatError, match="truncated or corrupt gzip") as err:
        list(iter_passages(path, on_error=on_error))  # type: ignore[arg-type]
    assert err.value.path == str(path) and err.value.line > 1


def test_a_bom_header_is_not_a_passage(tmp_path: Path) -> None:
    path = tmp_path / "bom.tsv"
    path.write_bytes(b"\xef\xbb\xbfid\ttext\ttitle\n1\tthe only passage\tT\n")
    assert [(p.id, p.text) for p in iter_passages(path)] == [("1", "the only passage")]


def test_skipped_records_are_counted_in_the_prepared_manifest(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(r) for r in _records(6)]
    lines[2] = "{broken"
    lines[4] = json.dumps({"id": "no text"})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = PreparedCorpus.open(path, cache_dir=tmp_path / "cache", on_error="skip", progress=False)
    assert corpus.manifest["passages"] == len(corpus.store) == 4
    assert corpus.manifest["skipped"] == 2
    examples = corpus.manifest["skipped_examples"]
    assert examples[0].startswith(f"{path}:3: bad JSON") and examples[1].startswith(f"{path}:5: missing text")
    assert [p.id for p in corpus.store] == ["d0", "d1", "d3", "d5"]


@pytest.mark.parametrize(
    "content, message",
    [("", "no readable passages"), ("\n\n  \n", "no readable passages"),
     (json.dumps({"id": "a", "text": "x"}) + "\n" + json.dumps({"id": "a", "text": "y"}) + "\n", "duplicate passage id 'a'")],
    ids=["empty", "blank-lines", "duplicate-ids"],
)
def test_corpora_that_cannot_be_prepared_say_why(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        PreparedCorpus.open(path, cache_dir=tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache").rglob("manifest.json"))  # nothing half-prepared is left to trust


def test_parquet_with_null_and_mistyped_cells(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": ["a", None, "c", "d"], "title": ["A", "B", None, "D"], "text": ["one", "two", "three", None]})
    path = tmp_path / "c.parquet"
    pq.write_table(table, path)
    stats = LoadStats()
    assert [(p.id, p.title) for p in iter_passages(path, on_error="skip", stats=stats)] == [("a", "A"), ("c", "")]
    assert stats.skipped == 2
    with pytest.raises(CorpusFormatError, match="missing passage id") as err:
        list(iter_passages(path))
    assert err.value.line == 2
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(CorpusFormatError, match="not a readable Parquet"):
        list(iter_passages(tmp_path / "junk.parquet"))


def _dpr_rows(n: int) -> list[str]:
    return [f"{i}\tPassage number {i} says something about topic {i % 17}.\tTitle {i}" for i in range(1, n + 1)]


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_stray_quotes_in_a_dpr_tsv_never_merge_rows(tmp_path: Path, on_error: str) -> None:
    """Two unclosed quotes in 1,000 rows used to swallow the rows between them into one 50k-char passage."""
    rows = _dpr_rows(1000)
    rows[99] = '100\t"An unclosed quote opens this passage.\tTitle 100'
    rows[899] = '900\tAnother one "inside is text, but this one closes nothing\t"Title 900'
    path = tmp_path / "psgs_w100.tsv"
    path.write_text("id\ttext\ttitle\n" + "\n".join(rows) + "\n", encoding="utf-8")
    if on_error == "raise":
        with pytest.raises(CorpusFormatError, match="ambiguous quoting") as err:
            list(iter_passages(path))
        assert err.value.line == 101  # the header is line 1
        return
    stats = LoadStats()
    passages = list(iter_passages(path, on_error="skip", stats=stats))
    assert len(passages) == 998 and stats.skipped == 2
    assert [e.split(": ")[0] for e in stats.skipped_examples] == [f"{path}:101", f"{path}:901"]
    assert max(len(p.text) for p in passages) < 100  # no passage swallowed its neighbours
    assert [p.id for p in passages] == [str(i) for i in range(1, 1001) if i not in (100, 900)]


def test_dpr_quoting_is_read_and_inner_quotes_are_text(tmp_path: Path) -> None:
    path = tmp_path / "quoted.tsv"
    path.write_text('id\ttext\ttitle\n1\t"Aaron ( or ; ""Ahärôn"") is a prophet"\tAaron\n'
                    '2\tHe said "hello" twice\t"Quoted ""Title"""\n3\t"tab\tinside"\tT\n', encoding="utf-8")
    got = [(p.id, p.text, p.title) for p in iter_passages(path)]
    assert got == [("1", 'Aaron ( or ; "Ahärôn") is a prophet', "Aaron"), ("2", 'He said "hello" twice',
                   'Quoted "Title"'), ("3", "tab\tinside", "T")]


@pytest.mark.parametrize("first_line", ["pid\tpassage\ttitle", "doc-1\tsome text\tA title", "id\ttitle"],
                         ids=["unknown-names", "headerless-with-text-ids", "no-text-column"])
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_an_unrecognised_tsv_header_is_refused_with_the_expected_columns(
    tmp_path: Path, first_line: str, on_error: str
) -> None:
    path = tmp_path / "odd.tsv"
    path.write_text(first_line + "\n7\tSome passage text here.\tA Title\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="unrecognised TSV header") as err:
        list(iter_passages(path, on_error=on_error))  # type: ignore[arg-type]
    assert err.value.line == 1 and "id, text (or contents)" in str(err.value)


def test_rows_with_more_fields_than_the_header_are_bad_records(tmp_path: Path) -> None:
    path = tmp_path / "wide.tsv"
    path.write_text("id\ttext\ttitle\n1\tgood text\tT\n2\tsplit\ttext by a tab\tT\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="expected 3 tab-separated fields, got 4") as err:
        list(iter_passages(path))
    assert err.value.line == 3


@pytest.mark.parametrize("columns", [{"title": ["T"], "text": ["x y"]}, {"id": ["a"], "title": ["T"]}, {"body": ["x"]}],
                         ids=["no-id", "no-text", "neither"])
def test_parquet_without_the_needed_columns_names_them(tmp_path: Path, columns: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "cols.parquet"
    pq.write_table(pa.table(columns), path)
    for on_error in ("raise", "skip"):
        with pytest.raises(CorpusFormatError, match="needs columns 'id' and 'text' or 'contents'") as err:
            list(iter_passages(path, on_error=on_error))  # type: ignore[arg-type]
        assert str(sorted(columns)) in str(err.value)


@given(st.lists(st.sampled_from(["a", "b", " ", "&", ";", "#", "x", "3", "2", "amp", "nbsp", "lt"]), max_size=40))
@settings(max_examples=200, deadline=None)
def test_html_references_are_decoded_on_load_like_the_check_decodes_them(pieces: list[str]) -> None:
    # issue 22: the stored text, the index and the near-copy check read one canonical form
    from ramp_env.masking.near_duplicates import is_near_duplicate
    from ramp_env.text.canonical import canonical_words, decode_entities

    text = "".join(pieces)
    stored = corpus_text(text)
    if decode_entities(stored) != stored:
        return  # nested deeper than MAX_DECODE_ROUNDS: the check decodes further than the loader did
    assert corpus_text(stored) == stored  # decoding on load is idempotent
    assert canonical_words(stored) == canonical_words(text)
    if len(canonical_words(text)) >= 3:
        assert is_near_duplicate(text, stored)

"""benchmarks/span_seed_diff.py: what a span-rule change dropped, added and retyped; bad seed files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ramp_env.corpus.span_seed import SEED_FORMAT


def write_seed(path: Path, rows: list[list], extractor: str = "x") -> Path:
    lines = [json.dumps({"format": SEED_FORMAT, "version": 1, "extractor": extractor, "passages": len(rows)})]
    lines += [json.dumps(r) for r in rows]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_drops_additions_and_retypes_are_counted_by_type(tmp_path: Path) -> None:
    from span_seed_diff import compare, read_seed

    old = write_seed(tmp_path / "old.gz", [["a", "h", [[0, 4, "PERSON"], [9, 12, "NUMBER"]]], ["b", "h", []]], "v3")
    new = write_seed(tmp_path / "new.gz", [["a", "h", [[9, 12, "DATE"]]], ["b", "h", [[1, 3, "NORP"]]]], "v5")
    (old_key, a), (new_key, b) = read_seed(old), read_seed(new)
    summary, examples = compare(a, b)
    assert (old_key, new_key) == ("v3", "v5")
    assert summary["dropped"] == {"PERSON": 1} and summary["added"] == {"NORP": 1}
    assert summary["retyped"] == {"NUMBER->DATE": 1} and summary["passages_changed"] == 2
    assert (summary["spans_old"], summary["spans_new"], summary["spans_changed"]) == (2, 2, 3)
    assert examples["retyped"] == [("a", (9, 12), "NUMBER->DATE")]


def test_a_file_that_is_no_seed_is_one_error_naming_it(tmp_path: Path) -> None:
    from span_seed_diff import read_seed

    plain = tmp_path / "plain.txt"
    plain.write_text("x\n")
    with pytest.raises(SystemExit, match="plain.txt: cannot read a span seed"):
        read_seed(plain)
    other = tmp_path / "other.gz"
    other.write_bytes(gzip.compress(b'{"format": "something else"}\n'))
    with pytest.raises(SystemExit, match="other.gz:1: not a span seed header"):
        read_seed(other)
    broken = write_seed(tmp_path / "broken.gz", [["a", "h", [[0, 4, "PERSON"]]], ["b", "h"]])
    with pytest.raises(SystemExit, match="broken.gz:3: not a seed row"):
        read_seed(broken)

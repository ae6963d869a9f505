"""benchmarks/factbook_corpus.py: Factbook text fields as passages (no install needed: a fake data folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LONG = "Albania declared independence from the Ottoman Empire in 1912 " * 4  # over 200 characters


def _country(tmp_path: Path, region: str, code: str, entry: dict) -> None:
    folder = tmp_path / region
    folder.mkdir(exist_ok=True)
    (folder / f"{code}.json").write_text(json.dumps(entry), encoding="utf-8")


def test_long_text_fields_become_passages_with_the_country_name(tmp_path: Path) -> None:
    from factbook_corpus import factbook_passages

    _country(tmp_path, "europe", "al", {
        "Introduction": {"Background": {"text": f"<p>{LONG}</p> &amp; more"}},
        "Government": {"Country name": {"conventional short form": {"text": "Albania"}},
                       "Capital": {"name": {"text": "Tirana"}}},  # short: no passage
    })
    _country(tmp_path, "world", "xx", {"Introduction": {"Background": {"text": LONG}},
                                       "Government": {"Country name": {"conventional short form": {"text": "none"}}}})
    rows = list(factbook_passages(tmp_path))
    assert [r["id"] for r in rows] == ["factbook:al:Introduction - Background", "factbook:xx:Introduction - Background"]
    assert rows[0]["title"] == "Albania: Introduction - Background"
    assert rows[0]["text"].startswith("Albania declared") and rows[0]["text"].endswith("& more")
    assert "<p>" not in rows[0]["text"] and "  " not in rows[0]["text"]
    assert rows[1]["title"].startswith("xx:")  # no usable name: the file's code


def test_a_missing_output_folder_stops_before_any_work(tmp_path: Path) -> None:
    from factbook_corpus import main

    with pytest.raises(SystemExit, match="does not exist"):
        main(["--out", str(tmp_path / "no" / "corpus.jsonl")])

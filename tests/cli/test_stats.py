"""``ramp-env stats``: counts that agree with an independent recount, sampling said out loud, JSON and tables."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ramp_env.cli import main
from ramp_env.corpus.passage import Passage
from ramp_env.masking.task import maskable_spans
from ramp_env.text.spans import RuleSpanExtractor


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> tuple[Path, list[dict[str, str]]]:
    records = [json.loads(line) for line in wiki_sample.read_text(encoding="utf-8").splitlines()[:60]]
    source = records[0]
    # a cluster of four: the source, an exact copy, a copy under another title, a copy plus a sentence
    records += [
        {"id": "dup:exact", "title": source["title"], "text": source["text"]},
        {"id": "dup:title", "title": "Another title", "text": source["text"]},
        {"id": "dup:plus", "title": source["title"], "text": source["text"] + " It was noted by many."},
    ]
    path = tmp_path_factory.mktemp("stats") / "small.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, records


def stats(capsys, corpus: Path, cache_dir: Path, *extra: str) -> tuple[int, str]:
    code = main([
        "stats", "--corpus", str(corpus), "--cache-dir", str(cache_dir), "--span-extractor", "rules",
        "--retriever", "rank_bm25", "--no-progress", *extra,
    ])
    return code, capsys.readouterr().out


def test_json_counts_match_a_recount(small_corpus, cache_dir: Path, capsys) -> None:
    path, records = small_corpus
    code, out = stats(capsys, path, cache_dir, "--json", "--sample", "0")
    assert code == 0
    report = json.loads(out)
    assert report["passages"] == report["analysed_passages"] == len(records) and not report["sampled"]
    # recount spans and eligibility with the extractor directly
    rules = RuleSpanExtractor()
    spans, maskable, eligible = Counter(), Counter(), Counter()
    for r in records:
        found = rules.extract(r["text"])
        spans.update(s.label.value for s in found)
        cands = maskable_spans(Passage(r["id"], r["title"], r["text"]), found)
        maskable.update(s.label.value for s in cands)
        for k in range(1, 5):
            eligible[k] += len(cands) >= k and len(r["text"]) <= 4000
    assert {t: c["spans"] for t, c in report["spans_per_type"].items()} == dict(spans)
    assert {t: c["maskable"] for t, c in report["spans_per_type"].items()} == dict(maskable)
    assert {int(k): e["passages"] for k, e in report["eligible_passages_per_mask_count"].items()} == dict(eligible)
    for t, c in report["spans_per_type"].items():
        assert 0 <= c["supported"] <= c["maskable"], t
    for e in report["eligible_passages_per_mask_count"].values():
        assert e["supported_passages"] <= e["passages"]
    # the planted cluster of four is found; the rest of the sample has no copies of it
    assert 4 in report["near_duplicates"]["largest_clusters"]


def test_sampling_is_announced_and_seeded(small_corpus, cache_dir: Path, capsys) -> None:
    path, records = small_corpus
    code, table = stats(capsys, path, cache_dir, "--sample", "10", "--no-evidence")
    assert code == 0
    assert "SAMPLED" in table and "10 random passages" in table and "--no-evidence" in table
    _, a = stats(capsys, path, cache_dir, "--sample", "10", "--seed", "3", "--json", "--no-evidence")
    _, b = stats(capsys, path, cache_dir, "--sample", "10", "--seed", "3", "--json", "--no-evidence")
    ja, jb = json.loads(a), json.loads(b)
    assert ja["sampled"] and ja["analysed_passages"] == 10 and ja["passages"] == len(records)
    ja.pop("seconds"), jb.pop("seconds")
    assert ja == jb
    assert all("supported" not in c for c in ja["spans_per_type"].values())
    e1 = ja["eligible_passages_per_mask_count"]["1"]
    assert e1["estimated_passages"] == round(e1["passages"] * len(records) / 10)


def test_bad_arguments_are_clear_errors(small_corpus, cache_dir: Path, capsys) -> None:
    path, _ = small_corpus
    code = main(["stats", "--corpus", str(path), "--cache-dir", str(cache_dir), "--sample", "-1", "--no-progress"])
    assert code == 2 and "--sample must be >= 0" in capsys.readouterr().err
    code = main(["stats", "--corpus", str(path / "missing.jsonl"), "--cache-dir", str(cache_dir)])
    assert code == 2 and "not found" in capsys.readouterr().err


def test_type_mix_and_distinct_passages_per_mask_count(small_corpus, cache_dir: Path, capsys) -> None:
    path, _ = small_corpus
    code, out = stats(capsys, path, cache_dir, "--json", "--sample", "0")
    assert code == 0
    report = json.loads(out)
    assert report["mask_strategy"] == "balanced"
    for k, e in report["eligible_passages_per_mask_count"].items():
        assert e["distinct_passages"] == e["estimated_supported_passages"]
        assert e["expected_distinct_in_100_draws"] <= min(100, e["distinct_passages"])
        assert e["repeats_passages"] == (e["distinct_passages"] < 300)  # a 63-passage corpus repeats
        if e["mask_type_mix"]:  # empty when no passage is eligible, or balanced masking kept none
            assert sum(e["mask_type_mix"].values()) == pytest.approx(1.0, abs=1e-3), k
            assert set(e["mask_type_mix"]) <= set(report["spans_per_type"])
        assert bool(e["mask_type_mix"]) == bool(e["distinct_passages"]) or k != "1"  # one mask is never rejected
        if not e["distinct_passages"]:
            assert e["mask_type_mix"] == {}
    code, table = stats(capsys, path, cache_dir, "--sample", "0")
    assert "mask type mix" in table and "(repeats passages)" in table

"""The passage split: deterministic by id, near-duplicate clusters on one side, cached atomically."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.near_duplicates import near_duplicate_ids
from ramp_env.masking.split import (
    SPLIT_VERSION,
    TEST_FRACTION,
    PassageSplit,
    assign_sides,
    check_split,
    id_is_test,
)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted_corpus(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> Path:
    """The wiki sample plus near copies of 60 of its passages (edited, halved, extended), with ids
    that hash to both sides, so only clustering can put each copy beside its original."""
    records = _records(wiki_sample)
    rng = random.Random(7)
    copies = []
    for i, original in enumerate(rng.sample(records, 60)):
        words = original["text"].split()
        variant = i % 3
        if variant == 0:
            words[len(words) // 2] = "zzxqv"
            text = " ".join(words)
        elif variant == 1:
            text = " ".join(words[: max(12, len(words) // 2)])
        else:
            text = original["text"] + " It was later renamed by the council."
        copies.append({"id": f"copy-{i}-{original['id']}", "title": original["title"], "text": text})
    return _write(tmp_path_factory.mktemp("planted") / "planted.jsonl", records + copies)


def test_id_side_is_a_stable_hash_with_the_test_fraction() -> None:
    ids = [f"passage-{i}" for i in range(20000)]
    sides = [id_is_test(i) for i in ids]
    assert sides == [id_is_test(i) for i in ids]
    assert abs(np.mean(sides) - TEST_FRACTION) < 0.01


def test_a_cluster_takes_the_side_of_its_smallest_id_in_any_order() -> None:
    test_id = next(f"a{i}" for i in range(1000) if id_is_test(f"a{i}"))
    train_id = next(f"b{i}" for i in range(1000) if not id_is_test(f"b{i}"))
    # cluster 0 = {test_id, "z-copy"}: smallest id is test_id; cluster 2 = {train_id, "zz"}
    ids, roots = [test_id, "z-copy", train_id, "zz"], np.array([0, 0, 2, 2])
    assert assign_sides(ids, roots).tolist() == [True, True, False, False]
    order = [3, 1, 2, 0]  # the same corpus reordered: roots renumbered, sides by id unchanged
    reordered = [ids[i] for i in order]
    new_roots = np.array([0, 1, 0, 1])  # "zz" with train_id, "z-copy" with test_id
    assert dict(zip(reordered, assign_sides(reordered, new_roots).tolist())) == dict(
        zip(ids, assign_sides(ids, roots).tolist())
    )


def test_bad_split_names_are_clear_errors() -> None:
    assert check_split(None) is None and check_split("train") == "train"
    with pytest.raises(ValueError, match="split must be 'train', 'test' or None"):
        check_split("dev")


def test_every_near_copy_is_on_its_originals_side(planted_corpus: Path, cache_dir: Path) -> None:
    corpus = PreparedCorpus.open(planted_corpus, cache_dir=cache_dir, progress=False)
    split = PassageSplit.for_corpus(corpus)
    assert len(split) == len(corpus.store)
    assert 0.1 < split.test.mean() < 0.3
    retriever = corpus.retriever("tantivy")
    pairs = 0
    for row, passage in enumerate(corpus.store, start=1):
        for pid in near_duplicate_ids(passage, retriever, exclude_ids=(passage.id,)):
            other = corpus.store.rowid_of(pid)
            assert split.side_of_row(row) == split.side_of_row(other), (passage.id, pid)
            pairs += 1
    assert pairs >= 120  # each planted copy and its original find each other
    # the planted copies were given ids that hash either way: clustering, not luck, aligned them
    moved = [p.id for r, p in enumerate(corpus.store, start=1) if id_is_test(p.id) != bool(split.test[r - 1])]
    assert any(pid.startswith(("wiki:", "copy-")) for pid in moved)
    assert split.ids("test", corpus).isdisjoint(split.ids("train", corpus))
    assert len(split.ids("test", corpus)) + len(split.ids("train", corpus)) == len(corpus.store)


def test_split_is_stable_under_corpus_reordering(planted_corpus: Path, tmp_path: Path, cache_dir: Path) -> None:
    records = _records(planted_corpus)
    random.Random(3).shuffle(records)
    shuffled = _write(tmp_path / "shuffled.jsonl", records)
    a = PreparedCorpus.open(planted_corpus, cache_dir=cache_dir, progress=False)
    b = PreparedCorpus.open(shuffled, cache_dir=cache_dir, progress=False)
    sa, sb = PassageSplit.for_corpus(a), PassageSplit.for_corpus(b)
    assert sa.ids("test", a) == sb.ids("test", b)


def test_split_is_cached_next_to_the_corpus_and_recomputed_when_damaged(
    wiki_sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ramp_env.masking.split as split_module

    corpus = PreparedCorpus.open(wiki_sample, cache_dir=tmp_path, progress=False)
    first = PassageSplit.for_corpus(corpus)
    path = PassageSplit.path_for(corpus)
    assert path.name == f"split-v{SPLIT_VERSION}.npz" and path.parent == corpus.directory
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["fingerprint"] == corpus.manifest["fingerprint"] and meta["version"] == SPLIT_VERSION
    assert not list(corpus.directory.glob(".*split*"))  # no temporary file left behind
    monkeypatch.setattr(split_module, "_CACHE", {})
    calls = []
    monkeypatch.setattr(split_module, "near_duplicate_clusters", lambda *a, **k: calls.append(1) or first.cluster)
    assert np.array_equal(PassageSplit.for_corpus(corpus).test, first.test) and not calls  # read, not computed
    monkeypatch.setattr(split_module, "_CACHE", {})
    path.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="unreadable"):
        again = PassageSplit.for_corpus(corpus)
    assert calls and np.array_equal(again.test, first.test)

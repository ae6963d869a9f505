"""Near-duplicate definition and search-based detection, on both BM25 backends."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.near_duplicates import (
    NEAR_DUPLICATE_THRESHOLD,
    NearDuplicateFinder,
    canonical_words,
    is_near_duplicate,
    near_duplicate_ids,
    near_duplicate_similarity,
)
from ramp_env.retrieval import Hit, Retriever

SOURCE_ID = "wiki:Alexander the Great#0"  # 93 words, from the wiki sample


def variants(title: str, text: str) -> dict[str, tuple[str, str]]:
    """id -> (title, text) of every leak case of issue 10: all must count as copies of ``text``."""
    words = text.split()
    mid = len(words) // 2
    one_word = words[:mid] + ["Zanzibar"] + words[mid + 1 :]
    at = text.index(" a ") + 1  # a Latin "a" standing alone
    one_letter = text.replace("Alexander", "Alexandor", 1)
    lookalike = text[:at] + "\u0430" + text[at + 1 :]  # Cyrillic small a
    lookalike_inside = text.replace("Macedon", "M\u0430cedon")  # Cyrillic a inside a word
    out = {f"copy:exact{i}": (title, text) for i in range(1, 6)}
    out.update(
        {
            "copy:plus-sentence": (title, text + " He is remembered in legends across three continents."),
            "copy:one-word": (title, " ".join(one_word)),
            "copy:one-letter": (title, one_letter),
            "copy:lookalike": (title, lookalike),
            "copy:lookalike-inside": (title, lookalike_inside),
            "copy:first-half": (title, " ".join(words[:mid])),
            "copy:other-title": ("Great conquerors of antiquity", text),
            "copy:case-space": (title.upper(), "  " + "\n\t ".join(text.upper().split()) + "  "),
        }
    )
    return out


def build_leak_corpus(directory: Path, sample: Path) -> tuple[Path, str, set[str]]:
    """The wiki sample plus every near copy of one passage; returns (file, source id, copy ids)."""
    records = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    source = next(r for r in records if r["id"] == SOURCE_ID)
    copies = variants(source["title"], source["text"])
    records += [{"id": pid, "title": t, "text": x} for pid, (t, x) in copies.items()]
    path = directory / "leaky.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, SOURCE_ID, set(copies)


@pytest.fixture(scope="module")
def leak_corpus(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path, cache_dir: Path):
    path, source_id, copy_ids = build_leak_corpus(tmp_path_factory.mktemp("leaky"), wiki_sample)
    corpus = PreparedCorpus.open(path, cache_dir=cache_dir, progress=False)
    return corpus, source_id, copy_ids


# -- the definition ---------------------------------------------------------------------------

SOURCE_TEXT = (
    "Alexander III of Macedon, commonly known as Alexander the Great, was a king of the ancient Greek "
    "kingdom of Macedon. He succeeded his father Philip II to the throne in 336 BC at the age of 20 "
    "and spent most of his ruling years conducting a lengthy military campaign throughout Western Asia, "
    "Central Asia, parts of South Asia, and Egypt."
)


@pytest.mark.parametrize("name", sorted(variants("Alexander the Great", SOURCE_TEXT)))
def test_every_leak_case_is_a_near_duplicate(name: str) -> None:
    _, text = variants("Alexander the Great", SOURCE_TEXT)[name]
    assert is_near_duplicate(SOURCE_TEXT, text)
    assert is_near_duplicate(text, SOURCE_TEXT)  # symmetric


def test_lookalike_letters_fold_to_latin() -> None:
    assert canonical_words("P\u0430ris ＰＡＲＩＳ Caf\u00e9 \ufb01le") == ["paris", "paris", "cafe", "file"]
    assert near_duplicate_similarity(SOURCE_TEXT, SOURCE_TEXT.replace("a", "\u0430")) == 1.0
    # zero-width and soft-hyphen insertions, mathematical bold, Greek alpha, no-break spaces
    for disguised in ("Par\u200bis is big", "Par\u00adis is big", "\U0001d40f\U0001d41a\U0001d42b\U0001d422\U0001d42c is big",
                      "P\u03b1ris is big", "Paris\u00a0is\u2003big"):
        assert canonical_words(disguised) == ["paris", "is", "big"], disguised


def test_different_passages_are_not_near_duplicates() -> None:
    # templated siblings from the default corpus share their frame but not their facts
    isfahan = (
        "Isfahan is a city in the Central District of Isfahan County, Isfahan Province, Iran. It is the capital "
        "of the province, the county, and the district. It is located 440 kilometres south of Tehran."
    )
    ahvaz = (
        "Ahvaz is a city in the Central District of Ahvaz County, Khuzestan province, Iran, serving as capital "
        "of the province, the county, and the district."
    )
    assert 0.3 < near_duplicate_similarity(isfahan, ahvaz) < NEAR_DUPLICATE_THRESHOLD
    assert not is_near_duplicate(isfahan, ahvaz)
    other = "Aristotle was an Ancient Greek philosopher and polymath, a student of Plato and teacher of Alexander."
    assert near_duplicate_similarity(SOURCE_TEXT, other) < 0.1


def test_empty_and_tiny_texts() -> None:
    assert not is_near_duplicate("", "")
    assert not is_near_duplicate("...", SOURCE_TEXT)
    assert is_near_duplicate("Paris", "paris")  # shorter than a shingle: the same words only
    assert not is_near_duplicate("Paris", "Paris is the capital of France.")


# -- finding copies through the search engine ---------------------------------------------------


class CountingRetriever:
    """A real backend behind the bare Retriever protocol, counting searches."""

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner
        self.calls = 0

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        self.calls += 1
        return self.inner.search(query, k, exclude_ids)


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_near_duplicate_ids_finds_every_copy(leak_corpus, backend: str) -> None:
    corpus, source_id, copy_ids = leak_corpus
    source = corpus.store.get(corpus.store.rowid_of(source_id))
    retriever = CountingRetriever(corpus.retriever(backend))
    found = near_duplicate_ids(source, retriever, exclude_ids=(source_id,))
    assert found == copy_ids
    assert retriever.calls <= 6  # a few queries, no scan of the 980 passages


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_finder_caches_per_passage(leak_corpus, backend: str) -> None:
    corpus, source_id, copy_ids = leak_corpus
    source = corpus.store.get(corpus.store.rowid_of(source_id))
    retriever = CountingRetriever(corpus.retriever(backend))
    finder = NearDuplicateFinder(retriever)
    assert finder.ids(source_id, source.text) == copy_ids
    calls = retriever.calls
    assert finder.ids(source_id, source.text) == copy_ids
    assert retriever.calls == calls
    # an unrelated passage of the sample has no copies
    other = corpus.store.get(1)
    assert finder.ids(other.id, other.text) == frozenset()


def test_many_copies_are_found_by_paging(tmp_path: Path, cache_dir: Path) -> None:
    text = SOURCE_TEXT
    records = [{"id": f"c{i}", "title": "Alexander", "text": text} for i in range(60)]
    records += [
        {"id": f"o{i}", "title": f"Other {i}", "text": f"King number {i} ruled Macedon for {i} years in peace."}
        for i in range(30)
    ]
    path = tmp_path / "copies.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    corpus = PreparedCorpus.open(path, cache_dir=cache_dir, progress=False)
    for backend in ("tantivy", "rank_bm25"):
        found = near_duplicate_ids(corpus.store.get(1), corpus.retriever(backend), exclude_ids=("c0",))
        assert found == {f"c{i}" for i in range(1, 60)}, backend

"""Disguised copies of a task's source (issue 22): words joined by ``_``, ``™``, NBSP or HTML
references look like the source to search and must look like it to the near-copy check too.
Both backends; the env's search and ``task_evidence()`` are checked end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking.near_duplicates import is_near_duplicate, near_duplicate_similarity
from ramp_env.retrieval.base import analyze
from ramp_env.text.canonical import canonical_words, corpus_text

BACKENDS = ["tantivy", "rank_bm25"]
SOURCE_ID = "wiki:Alexander the Great#0"
JOINERS = {
    "underscore": "_",
    "trademark": "\u2122",
    "nbsp-entity": "&nbsp;",
    "space-entity": "&#32;",
    "hex-entity": "&#x20;",
    "nested-entity": "&amp;nbsp;",
    "nbsp-char": "\u00a0",
    "middle-dot": "\u00b7",
    "slash": "/",
}


def disguised(text: str) -> dict[str, str]:
    """The source with every space replaced by each joiner."""
    return {f"copy:{name}": text.replace(" ", joiner) for name, joiner in JOINERS.items()}


@pytest.fixture(scope="module")
def disguised_corpus(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> tuple[Path, set[str]]:
    records = [json.loads(line) for line in wiki_sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    source = next(r for r in records if r["id"] == SOURCE_ID)
    copies = disguised(source["text"])
    records += [{"id": pid, "title": f"Mirror {i}", "text": text} for i, (pid, text) in enumerate(copies.items())]
    path = tmp_path_factory.mktemp("disguised") / "disguised.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, set(copies)


SOURCE_TEXT = (
    "Alexander III of Macedon, commonly known as Alexander the Great, was a king of the ancient Greek "
    "kingdom of Macedon. He succeeded his father Philip II to the throne in 336 BC at the age of 20."
)


@pytest.mark.parametrize("name", sorted(JOINERS))
def test_a_joined_copy_is_a_near_duplicate(name: str) -> None:
    copy = corpus_text(SOURCE_TEXT.replace(" ", JOINERS[name]))  # as the corpus loader stores it
    assert near_duplicate_similarity(SOURCE_TEXT, copy) == 1.0
    raw = SOURCE_TEXT.replace(" ", JOINERS[name])  # and as a custom retriever might return it
    assert is_near_duplicate(SOURCE_TEXT, raw)


@pytest.mark.parametrize("name", sorted(JOINERS))
def test_the_check_splits_words_where_search_does(name: str) -> None:
    # the class of the bug: search (both backends analyse with this) seeing the source's terms
    # in a text where the check saw other words
    copy = corpus_text(SOURCE_TEXT.replace(" ", JOINERS[name]))
    assert analyze(copy) == analyze(SOURCE_TEXT)
    assert canonical_words(copy) == canonical_words(SOURCE_TEXT)


def test_entities_are_decoded_on_load_and_only_complete_references() -> None:
    assert corpus_text("a&nbsp;b&#32;c&#x5f;d &amp;nbsp;e") == "a b c_d  e"
    # HTML5 decodes "&para" without its ";": ordinary text must not change
    assert corpus_text("a&paradigm AT&T R&D &copy") == "a&paradigm AT&T R&D &copy"


def _env(path: Path, cache_dir: Path, backend: str, **kwargs: object) -> RAMPEnv:
    return RAMPEnv(
        corpus=str(path), cache_dir=str(cache_dir), span_extractor="rules", progress=False, retriever=backend,
        max_searches=10, max_steps=12, top_k=5, **kwargs,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_disguised_copies_never_come_back_from_search(disguised_corpus, cache_dir: Path, backend: str) -> None:
    path, copy_ids = disguised_corpus
    env = _env(path, cache_dir, backend, require_evidence=False)
    env.reset(seed=0, options={"passage_id": SOURCE_ID})
    assert copy_ids <= env.excluded_ids()
    task = env.task
    for query in (task.masked_text, task.text, " ".join(task.answers)):
        _, _, _, _, info = env.step(f"<search>{query}</search>")
        assert not set(info["retrieved_ids"]) & copy_ids, query
        assert len(info["retrieved_ids"]) == 5


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("require_evidence", [False, True])
def test_disguised_copies_are_never_evidence(disguised_corpus, cache_dir: Path, backend: str,
                                             require_evidence: bool) -> None:
    path, copy_ids = disguised_corpus
    env = _env(path, cache_dir, backend, require_evidence=require_evidence)
    try:
        env.reset(seed=0, options={"passage_id": SOURCE_ID})
    except ValueError:
        pytest.skip("no span of the source is stated by another passage")  # only with require_evidence
    listed = {pid for ids in env.task_evidence() for pid in ids}
    assert not listed & copy_ids
    assert SOURCE_ID not in listed

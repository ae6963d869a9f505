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
    "soft-hyphen-split-entity": "&nb\u00adsp;",
    "entity-made-by-decoding": "&n&shy;bsp;",
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
    env = _env(path, cache_dir, backend, require_evidence="none")
    env.reset(seed=0, options={"passage_id": SOURCE_ID})
    assert copy_ids <= env.excluded_ids()
    task = env.task
    for query in (task.masked_text, task.text, " ".join(task.answers)):
        _, _, _, _, info = env.step(f"<search>{query}</search>")
        assert not set(info["retrieved_ids"]) & copy_ids, query
        assert len(info["retrieved_ids"]) == 5


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("require_evidence", ["none", "all"])
def test_disguised_copies_are_never_evidence(disguised_corpus, cache_dir: Path, backend: str,
                                             require_evidence: str) -> None:
    path, copy_ids = disguised_corpus
    env = _env(path, cache_dir, backend, require_evidence=require_evidence)
    try:
        env.reset(seed=0, options={"passage_id": SOURCE_ID})
    except ValueError:
        pytest.skip("no span of the source is stated by another passage")  # only with require_evidence
    listed = {pid for ids in env.task_evidence() for pid in ids}
    assert not listed & copy_ids
    assert SOURCE_ID not in listed


# -- partial copies: the policy of ramp_env.masking.near_duplicates, pinned -----------------------

LONG_SOURCE = (
    "Alexander III of Macedon, commonly known as Alexander the Great, was a king of the ancient Greek "
    "kingdom of Macedon. He succeeded his father Philip II to the throne in 336 BC at the age of 20 and "
    "spent most of his ruling years conducting a lengthy military campaign throughout Western Asia, Central "
    "Asia, parts of South Asia, and Egypt. By the age of 30, he had created one of the largest empires in "
    "history, stretching from Greece to northwestern India."
)
OTHER = (
    "The Danube is the second-longest river in Europe, after the Volga in Russia. It flows through much of "
    "Central and Southeastern Europe, from the Black Forest into the Black Sea. A large and historically "
    "important river, it was once a frontier of the Roman Empire. Its drainage basin extends into nine more "
    "countries, and the river has been an important trade route for centuries."
)


def partial_copies(text: str) -> dict[str, str]:
    words = text.split()
    first_sentence = text.split(". ")[0] + "."
    half = " ".join(words[: len(words) // 2])
    return {
        "one_sentence_alone": first_sentence,
        "first_half_alone": half,
        "whole_source_in_longer": f"{OTHER} {text}",
        "filler_word_interleaved": " ".join(f"{w} zzxqv" for w in words),
        "source_words_interleaved": " ".join(f"{w} {words[(7 * i) % len(words)]}" for i, w in enumerate(words)),
        "one_sentence_in_longer": f"{OTHER} {first_sentence}",
        "first_half_in_longer": f"{half} {OTHER}",
        "every_third_word_changed": " ".join(w if i % 3 != 2 else "zzxqv" for i, w in enumerate(words)),
    }


COPY = {"one_sentence_alone", "first_half_alone", "whole_source_in_longer", "filler_word_interleaved",
        "source_words_interleaved"}
OTHER_PASSAGE = {"one_sentence_in_longer", "first_half_in_longer", "every_third_word_changed"}


@pytest.mark.parametrize("name", sorted(COPY | OTHER_PASSAGE))
def test_partial_copies_follow_the_documented_policy(name: str) -> None:
    import ramp_env.masking.near_duplicates as module

    text = partial_copies(LONG_SOURCE)[name]
    assert is_near_duplicate(LONG_SOURCE, text) is (name in COPY)
    assert is_near_duplicate(text, LONG_SOURCE) is (name in COPY)  # symmetric
    # the docs name each case on the side the code puts it
    doc = " ".join((module.__doc__ or "").split())
    copy_part, other_part = doc.split("**a copy**", 1)[1].split("**another passage**", 1)
    phrase = {
        "one_sentence_alone": ("one sentence", copy_part), "first_half_alone": ("the first half", copy_part),
        "whole_source_in_longer": ("inside a longer passage", copy_part),
        "filler_word_interleaved": ("words inserted between its words", copy_part),
        "source_words_interleaved": ("words inserted between its words", copy_part),
        "one_sentence_in_longer": ("one sentence or half of the source inside a passage", other_part),
        "first_half_in_longer": ("one sentence or half of the source inside a passage", other_part),
        "every_third_word_changed": ("every third word changed", other_part),
    }[name]
    assert phrase[0] in phrase[1]


@pytest.fixture(scope="module")
def partial_corpus(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> tuple[Path, str]:
    records = [json.loads(line) for line in wiki_sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    source = next(r for r in records if r["id"] == SOURCE_ID)
    records += [{"id": f"partial:{name}", "title": f"Page {i}", "text": text}
                for i, (name, text) in enumerate(partial_copies(source["text"]).items())]
    path = tmp_path_factory.mktemp("partial") / "partial.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path, source["text"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_env_excludes_exactly_the_copies(partial_corpus, cache_dir: Path, backend: str) -> None:
    path, text = partial_corpus
    env = _env(path, cache_dir, backend, require_evidence="none")
    env.reset(seed=0, options={"passage_id": SOURCE_ID})
    excluded = env.excluded_ids()
    expected = {f"partial:{name}" for name, copy in partial_copies(text).items() if is_near_duplicate(text, copy)}
    assert {f"partial:{name}" for name in COPY} <= expected  # the wiki passage is short: the same split as above
    assert {pid for pid in excluded if pid.startswith("partial:")} == expected
    _, _, _, _, info = env.step(f"<search>{env.task.masked_text}</search>")
    assert not set(info["retrieved_ids"]) & expected
    listed = {pid for ids in env.task_evidence() for pid in ids}
    assert not listed & (expected | {SOURCE_ID})


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copy_in_the_title_field_is_a_copy(tmp_path: Path, wiki_sample: Path, cache_dir: Path, backend: str) -> None:
    # results show a hit's title too: the source put in the title of an unrelated passage leaks the same
    records = [json.loads(line) for line in wiki_sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    source = next(r for r in records if r["id"] == SOURCE_ID)
    records.append({"id": "copy:in-title", "title": source["text"], "text": OTHER})
    path = tmp_path / "titled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for require_evidence in ("none", "all"):
        env = _env(path, cache_dir, backend, require_evidence=require_evidence)
        env.reset(seed=0, options={"passage_id": SOURCE_ID})
        assert "copy:in-title" in env.excluded_ids()
        _, _, _, _, info = env.step(f"<search>{env.task.masked_text}</search>")
        assert "copy:in-title" not in info["retrieved_ids"]
        assert "copy:in-title" not in {pid for ids in env.task_evidence() for pid in ids}

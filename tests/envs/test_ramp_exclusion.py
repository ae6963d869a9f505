"""RAMP-v0 never returns the source or any near copy of it, and still fills ``top_k``, on both backends."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

import pytest

from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking.near_duplicates import is_near_duplicate
from ramp_env.retrieval import Hit, Retriever
from tests.masking.test_near_duplicates import build_leak_corpus

BACKENDS = ["tantivy", "rank_bm25"]


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> tuple[Path, str, set[str]]:
    return build_leak_corpus(tmp_path_factory.mktemp("leaky-env"), wiki_sample)


def make(leaky, cache_dir: Path, **kwargs: object) -> RAMPEnv:
    path, _, _ = leaky
    kwargs.setdefault("retriever", "tantivy")
    kwargs.setdefault("require_evidence", "none")  # these tests are about search, not which spans are masked
    return RAMPEnv(corpus=str(path), cache_dir=str(cache_dir), span_extractor="rules", progress=False, **kwargs)


def leak_queries(env: RAMPEnv) -> list[str]:
    task = env.task
    assert task is not None
    sentences = [s for s in task.text.split(". ") if s]
    return [task.text, task.masked_text, f"{task.title} {' '.join(task.answers)}", *sentences]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("top_k", [3, 10])
def test_no_copy_ever_comes_back_and_top_k_is_filled(leaky, cache_dir: Path, backend: str, top_k: int) -> None:
    _, source_id, copy_ids = leaky
    env = make(leaky, cache_dir, retriever=backend, top_k=top_k, max_searches=20, max_steps=30)
    env.reset(seed=0, options={"passage_id": source_id})
    assert env.excluded_ids() == {source_id} | copy_ids
    for query in leak_queries(env):
        _, _, _, _, info = env.step(f"<search>{query}</search>")
        returned = set(info["retrieved_ids"])
        assert not returned & ({source_id} | copy_ids), query
        assert len(info["retrieved_ids"]) == top_k, query
        assert not any(is_near_duplicate(env.task.text, h.text) for h in env.last_results)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copy_is_not_a_task_of_its_own_leak(leaky, cache_dir: Path, backend: str) -> None:
    # when a copy is the task, the original and the other copies are excluded in turn
    _, source_id, copy_ids = leaky
    env = make(leaky, cache_dir, retriever=backend, top_k=5)
    env.reset(seed=0, options={"passage_id": "copy:lookalike"})
    _, _, _, _, info = env.step(f"<search>{env.task.text}</search>")
    assert not set(info["retrieved_ids"]) & ({source_id} | copy_ids)
    assert len(info["retrieved_ids"]) == 5


class IgnoresExclusions:
    """A user Retriever that ignores ``exclude_ids``: the env's own check must still hold."""

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner

    def search(self, query: str, k: int, exclude_ids: Collection[str] = ()) -> list[Hit]:
        return self.inner.search(query, k)


@pytest.mark.parametrize("backend", BACKENDS)
def test_exclusion_holds_for_a_retriever_that_ignores_it(leaky, cache_dir: Path, backend: str) -> None:
    _, source_id, copy_ids = leaky
    probe = make(leaky, cache_dir, retriever=backend)
    env = make(leaky, cache_dir, retriever=IgnoresExclusions(probe.retriever), top_k=4)
    env.reset(seed=0, options={"passage_id": source_id})
    _, _, _, _, info = env.step(f"<search>{env.task.text}</search>")
    assert not set(info["retrieved_ids"]) & ({source_id} | copy_ids)
    assert len(info["retrieved_ids"]) == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_top_k_filled_when_copies_outnumber_it(tmp_path: Path, cache_dir: Path, backend: str) -> None:
    # five exact copies and exactly three other passages that match: top_k=3 returns those three
    text = (
        "Alexander III of Macedon was a king of the ancient Greek kingdom of Macedon. He succeeded his "
        "father Philip II to the throne in 336 BC at the age of 20."
    )
    records = [{"id": f"copy{i}", "title": "Alexander", "text": text} for i in range(6)]
    records += [
        {"id": f"other{i}", "title": f"Ruler {i}", "text": f"Ruler {i} of Macedon governed in peace for {i + 3} years."}
        for i in range(3)
    ]
    records += [{"id": f"filler{i}", "title": "Fish", "text": f"Fish species {i} swims in cold rivers."} for i in range(20)]
    path = tmp_path / "five-copies.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    env = RAMPEnv(
        corpus=str(path), cache_dir=str(cache_dir), span_extractor="rules", progress=False, retriever=backend, top_k=3,
        require_evidence="none",
    )
    env.reset(seed=0, options={"passage_id": "copy0"})
    _, _, _, _, info = env.step("<search>Alexander king of Macedon Philip throne</search>")
    assert sorted(info["retrieved_ids"]) == ["other0", "other1", "other2"]

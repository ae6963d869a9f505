"""RAMP-v0's split=: train and test tasks never share a passage, train searches never see test."""

from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env

from ramp_env.masking.split import PassageSplit


def _sides(env) -> tuple[frozenset[str], frozenset[str]]:
    split = PassageSplit.for_corpus(env.corpus)
    return split.ids("train", env.corpus), split.ids("test", env.corpus)


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_train_episodes_never_see_a_test_passage(make_env, backend: str) -> None:
    env = make_env(split="train", retriever=backend)
    train, test = _sides(env)
    assert not train & test
    seen_tasks = set()
    for seed in range(40):
        env.reset(seed=seed)
        task = env.task
        seen_tasks.add(task.passage_id)
        assert task.passage_id in train
        assert all(set(ids) <= train for ids in task.evidence_ids)  # evidence among train passages
        for query in (task.title, task.masked_text[:120], task.answers[0]):
            _, _, _, _, info = env.step(f"<search>{query}</search>")
            assert not set(info["retrieved_ids"]) & test
            if env.unwrapped.done:
                break
    assert len(seen_tasks) > 20
    # the agent's own engine is the restricted view: queries drawn from every passage of the corpus
    for passage in env.corpus.store:
        for hit in env.retriever.search(passage.title + " " + " ".join(passage.text.split()[:8]), 5):
            assert hit.passage_id in train
    env.close()


def test_every_train_and_test_passage_makes_tasks_of_its_own_side_only(make_env) -> None:
    train_env, test_env = make_env(split="train"), make_env(split="test")
    train, test = _sides(train_env)
    for env, side in ((train_env, train), (test_env, test)):
        eligible = env._eligible_rows(1)
        ids = {p.id for p in env.corpus.store.get_many(eligible.tolist())}
        assert ids and ids <= side
    # a passage of the other side is refused by name; one of its own side is played
    other = next(iter(test))
    with pytest.raises(ValueError, match="is a test passage; this env plays split='train'"):
        train_env.reset(options={"passage_id": other})
    train_env.close()
    test_env.close()


def test_test_episodes_search_every_passage_but_the_source_and_its_copies(make_env) -> None:
    env = make_env(split="test")
    train, test = _sides(env)
    returned = set()
    for seed in range(25):
        env.reset(seed=seed)
        for query in (env.task.title, env.task.answers[0]):
            _, _, _, _, info = env.step(f"<search>{query}</search>")
            assert env.task.passage_id not in info["retrieved_ids"]
            returned |= set(info["retrieved_ids"])
    assert returned & train and returned & test  # both sides are searchable at test time
    env.close()


def test_train_evidence_has_its_own_cache_file(make_env) -> None:
    env = make_env(split="train")
    env.reset(seed=0)
    names = {p.name for p in env.corpus.directory.glob("evidence-*.sqlite")}
    assert any("-train-split" in n for n in names)
    assert env.evidence.cache is not None and "-train-split" in env.evidence.cache.path.name
    env.close()


def test_split_arguments_are_checked_before_the_corpus_is_opened(make_env) -> None:
    with pytest.raises(ValueError, match="split must be"):
        make_env(split="validation")
    with pytest.raises(ValueError, match="cannot be combined with split='train'"):
        make_env(split="train", tasks="test")


def test_check_env_passes_on_a_train_env(make_env) -> None:
    env = make_env(split="train")
    check_env(env, skip_render_check=True)
    env.close()


def test_a_task_pool_draws_only_its_side(make_env) -> None:
    env = make_env(split="test", task_pool=400, require_evidence="none")
    _, test = _sides(env)
    drawn = set()
    for seed in range(30):
        env.reset(seed=seed)
        drawn.add(env.task.passage_id)
    assert drawn <= test and len(drawn) > 5
    env.close()


def test_the_side_mask_is_made_once_per_env_not_per_draw(make_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing a train task needs the train-side mask; PassageSplit.mask("train") negates the whole
    test mask, so the env keeps the one it made when it opened rather than asking on each draw."""
    env = make_env(split="train", task_pool=1.0, require_evidence="none")
    calls = []
    original = PassageSplit.mask
    monkeypatch.setattr(PassageSplit, "mask", lambda self, split: calls.append(split) or original(self, split))
    train, _ = _sides(env)
    for seed in range(5):
        env.reset(seed=seed)
        assert env.task.passage_id in train
    assert calls == []
    env.close()

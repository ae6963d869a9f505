"""gym.make_vec over RAMP-v0: sync and async agree with single envs, shared memory carries text,
and workers open the prepared corpus instead of rebuilding it."""

from __future__ import annotations

import copy
import multiprocessing as mp
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import ramp_env
from ramp_env.corpus.prepared import LAZY_CACHE_PREFIXES, PreparedCorpus
from ramp_env.spaces import SharedMemoryText, SharedTextBatch, text_space

TEXT_KEYS = ("title", "passage", "results", "message")
# a search, a malformed action, then an answer: covers results, penalties, termination and autoreset
SCRIPT = ["<search>{title} history city war</search>", "no tag here", "<answer>[mask_1]: {title}</answer>", "<search>war</search>"]


@pytest.fixture(scope="module")
def env_kwargs(cache_dir: Path, wiki_sample: Path) -> dict[str, object]:
    return {"corpus": str(wiki_sample), "cache_dir": str(cache_dir), "span_extractor": "rules", "progress": False}


def single_env_trace(env_kwargs: dict[str, object], seed: int) -> list[tuple]:
    """What one env does under SCRIPT from reset(seed), with gymnasium's next-step autoreset."""
    env = gym.make("RAMP-v0", **env_kwargs)
    obs, _ = env.reset(seed=seed)
    trace = [({k: obs[k] for k in TEXT_KEYS}, None)]
    done = False
    for template in SCRIPT:
        if done:  # next-step autoreset: this step only resets
            obs, _ = env.reset()
            trace.append(({k: obs[k] for k in TEXT_KEYS}, 0.0))
            done = False
            continue
        obs, reward, terminated, truncated, _ = env.step(template.format(title=obs["title"]))
        trace.append(({k: obs[k] for k in TEXT_KEYS}, reward))
        done = terminated or truncated
    env.close()
    return trace


def vector_trace(venv: gym.vector.VectorEnv, seed: int) -> list[list[tuple]]:
    obs, _ = venv.reset(seed=seed)
    n = venv.num_envs
    traces = [[({k: obs[k][i] for k in TEXT_KEYS}, None)] for i in range(n)]
    for template in SCRIPT:
        actions = [template.format(title=obs["title"][i]) for i in range(n)]
        obs, rewards, _, _, _ = venv.step(actions)
        for i in range(n):
            traces[i].append(({k: obs[k][i] for k in TEXT_KEYS}, float(rewards[i])))
    return traces


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode, vector_kwargs",
    [("sync", {}), ("async", {}), ("async", {"shared_memory": False})],
    ids=["sync", "async-shared-memory", "async-pipes"],
)
def test_vector_env_matches_single_envs(env_kwargs, mode: str, vector_kwargs: dict[str, object]) -> None:
    expected = [single_env_trace(env_kwargs, seed) for seed in (7, 8)]  # make_vec seeds env i with seed + i
    venv = gym.make_vec("RAMP-v0", num_envs=2, vectorization_mode=mode, vector_kwargs=vector_kwargs, **env_kwargs)
    try:
        got = vector_trace(venv, seed=7)
    finally:
        venv.close()
    assert got == expected
    # the trace really exercised search results and a finished episode
    assert any(step[0]["results"] for step in expected[0]) and expected[0][3][1] is not None


def test_async_shared_memory_returns_tuples_of_fresh_text(env_kwargs) -> None:
    venv = gym.make_vec("RAMP-v0", num_envs=2, vectorization_mode="async", **env_kwargs)
    try:
        first, _ = venv.reset(seed=0)
        second, _, _, _, _ = venv.step(["<search>river</search>", "<search>king</search>"])
    finally:
        venv.close()
    assert isinstance(first["passage"], tuple) and all(isinstance(p, str) for p in first["passage"])
    assert all("[mask_1]" in p for p in first["passage"])  # gymnasium's own Text decodes to "\t\t\t..."
    assert first["results"] == ("", "") and all(r.startswith("[1] ") for r in second["results"])
    assert second["searches_left"].tolist() == [3, 3]


def test_copy_false_gives_live_views(env_kwargs) -> None:
    venv = gym.make_vec(
        "RAMP-v0", num_envs=2, vectorization_mode="async", vector_kwargs={"copy": False}, **env_kwargs
    )
    try:
        obs, _ = venv.reset(seed=0)
        view = obs["message"]
        before = tuple(view)
        venv.step(["nonsense", "nonsense"])
    finally:
        venv.close()
    assert isinstance(view, SharedTextBatch)
    assert tuple(view) != before and all(m.startswith("Invalid action") for m in view)  # updated in place
    assert copy.deepcopy(view) == tuple(view) and isinstance(copy.deepcopy(view), tuple)


@pytest.fixture()
def small_space() -> SharedMemoryText:
    return SharedMemoryText(max_length=8, charset="abcé€\n")


def test_shared_text_round_trip(small_space: SharedMemoryText) -> None:
    from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

    memory = create_shared_memory(small_space, n=3)
    batch = read_from_shared_memory(small_space, memory, n=3)
    values = ["", "é€\nab", "abcabcab"]  # empty, non-ASCII and newline, exactly max_length
    for i, value in enumerate(values):
        write_to_shared_memory(small_space, i, value, memory)
    assert list(batch) == values and batch[-1] == values[-1] and batch[1:] == tuple(values[1:])
    write_to_shared_memory(small_space, 1, "c", memory)  # shorter than before: no stale tail
    assert batch[1] == "c"
    with pytest.raises(IndexError):
        batch[3]
    with pytest.raises(ValueError, match="max_length"):
        write_to_shared_memory(small_space, 0, "a" * 9, memory)


def test_shared_text_is_a_text_space(small_space: SharedMemoryText) -> None:
    assert small_space == gym.spaces.Text(max_length=8, charset="abcé€\n")
    assert small_space.contains("é€") and not small_space.contains("x")
    sample = small_space.sample()
    assert small_space.contains(sample)
    flat = gym.spaces.flatten(small_space, "ab")
    assert gym.spaces.unflatten(small_space, flat) == "ab"


def test_text_spaces_share_their_charset_tables_but_nothing_else() -> None:
    charset = frozenset("abcdef")
    short, long = text_space(3, charset), text_space(9, charset, min_length=2)
    assert short.character_list is long.character_list  # built once, not per space
    assert (short.min_length, short.max_length, long.min_length, long.max_length) == (0, 3, 2, 9)
    assert short.contains("abc") and not short.contains("abcd") and not long.contains("a")
    long.seed(1)
    first = long.sample()
    long.seed(1)
    short.seed(1)
    short.sample()  # drawing from one space does not move the other's generator
    assert long.sample() == first
    with pytest.raises(ValueError, match="min_length"):
        text_space(2, charset, min_length=3)


def _artefacts(corpus_dir: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in corpus_dir.iterdir()
            if not p.name.startswith(LAZY_CACHE_PREFIXES)}  # envs fill those on purpose


def test_workers_open_the_prepared_corpus_and_never_rebuild(env_kwargs) -> None:
    env = gym.make("RAMP-v0", **env_kwargs)  # prepares everything once
    corpus_dir = env.unwrapped.corpus.directory
    index_dir = env.unwrapped.retriever.index_dir
    env.close()
    before = _artefacts(corpus_dir)
    venv = gym.make_vec("RAMP-v0", num_envs=3, vectorization_mode="async", **env_kwargs)
    try:
        venv.reset(seed=0)
        venv.step(["<search>music</search>"] * 3)
        # the retriever pickles as paths: each worker reports the index it has open
        retrievers = venv.get_attr("retriever")
    finally:
        venv.close()
    assert {r.index_dir for r in retrievers} == {index_dir}
    assert _artefacts(corpus_dir) == before  # same files, same inodes, untouched: nothing was rebuilt
    assert not any(".tmp-" in name for name in before)


def _child_sees_no_open_corpora(queue: mp.Queue) -> None:
    from ramp_env.corpus import prepared

    queue.put(len(prepared._OPEN))


def test_forked_children_reopen_corpora(env_kwargs) -> None:
    PreparedCorpus.open(env_kwargs["corpus"], cache_dir=env_kwargs["cache_dir"], progress=False)
    from ramp_env.corpus import prepared

    assert len(prepared._OPEN) >= 1
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_sees_no_open_corpora, args=(queue,))
    child.start()
    child.join(30)
    # SQLite connections must not cross fork(): the child starts with an empty cache
    assert child.exitcode == 0 and queue.get(timeout=5) == 0


def test_vector_rewards_are_batched_arrays(env_kwargs) -> None:
    venv = gym.make_vec("RAMP-v0", num_envs=2, vectorization_mode="sync", **env_kwargs)
    venv.reset(seed=3)
    _, rewards, terminated, truncated, infos = venv.step(["bad", "<search>city</search>"])
    venv.close()
    assert isinstance(rewards, np.ndarray) and rewards.tolist() == [-0.1, 0.0]
    assert terminated.tolist() == [False, False] and truncated.tolist() == [False, False]
    assert list(infos["action"]) == ["invalid", "search"]

"""Frozen task sets: deterministic bytes, checked checksums, played in order whatever the seed."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gymnasium.utils.env_checker import check_env

from ramp_env.masking.split import PassageSplit
from ramp_env.tasksets.frozen import (
    TEST_TASKS_VERSION,
    FrozenTask,
    decode_tasks,
    encode_tasks,
    load_task_set,
    manifest_path,
    task_set_path,
)

ROOT = Path(__file__).resolve().parents[2]
PER_MASK = 3  # the wiki sample's test side has 3 passages that take 4 type-balanced masks


def _build(out_dir: Path, cache_dir: Path, wiki_sample: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, str(ROOT / "benchmarks" / "build_test_tasks.py"), "--corpus", str(wiki_sample),
        "--span-extractor", "rules", "--cache-dir", str(cache_dir), "--out-dir", str(out_dir),
        "--tasks-per-mask", str(PER_MASK), "--results", str(out_dir / "runtime.json"), *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path, wiki_sample: Path) -> Path:
    """A task set built by the script from the wiki sample (rule spans), as the lead builds the shipped one."""
    out = tmp_path_factory.mktemp("taskset")
    done = _build(out, cache_dir, wiki_sample)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "wrote" in done.stdout and " s" in done.stdout  # the runtime is printed
    return out / f"test-v{TEST_TASKS_VERSION}.jsonl.gz"


def _task(index: int = 0) -> FrozenTask:
    return FrozenTask(1, index, "p", ((0, 5),), ("Paris",), ("PLACE",), (("q",),), "0" * 64)


def test_encoding_is_deterministic_with_no_time_or_name_in_the_gzip_header() -> None:
    data = encode_tasks([_task(1), _task(0)])
    assert data == encode_tasks([_task(0), _task(1)])
    assert data[3] == 0 and data[4:8] == b"\0\0\0\0"  # FLG: no FNAME; MTIME 0
    assert [t.index for t in decode_tasks(data, "x")] == [0, 1]


def test_malformed_task_lines_name_file_and_line() -> None:
    bad = gzip.compress(b'{"num_masks": 1}\n', mtime=0)
    with pytest.raises(ValueError, match=r"f\.jsonl\.gz:1: a frozen task needs exactly the keys"):
        decode_tasks(bad, "f.jsonl.gz")
    obj = _task().to_json() | {"answers": ["a", "b"]}
    data = gzip.compress((json.dumps(obj) + "\n").encode(), mtime=0)
    with pytest.raises(ValueError, match="f:1: spans, answers, span_types and evidence_ids"):
        decode_tasks(data, "f")


def test_rebuilding_reproduces_the_file_byte_for_byte(built: Path, cache_dir: Path, wiki_sample: Path,
                                                       tmp_path: Path) -> None:
    again = _build(tmp_path, cache_dir, wiki_sample)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / built.name).read_bytes() == built.read_bytes()
    assert manifest_path(tmp_path / built.name).read_bytes() == manifest_path(built).read_bytes()
    check = _build(built.parent, cache_dir, wiki_sample, "--check", "--limit", "2")
    assert check.returncode == 0 and "identical" in check.stdout, check.stdout + check.stderr[-2000:]


def test_the_script_refuses_other_tasks_under_the_same_version(built: Path, cache_dir: Path, wiki_sample: Path,
                                                               tmp_path: Path) -> None:
    shutil.copy(built, tmp_path / built.name)
    shutil.copy(manifest_path(built), manifest_path(tmp_path / built.name))
    done = _build(tmp_path, cache_dir, wiki_sample, "--tasks-per-mask", str(PER_MASK - 1))
    assert done.returncode != 0 and "Bump" in done.stderr
    check = _build(tmp_path, cache_dir, wiki_sample, "--check", "--tasks-per-mask", str(PER_MASK - 1))
    assert check.returncode == 1 and "DIFFERENT" in check.stdout


def test_built_tasks_come_from_distinct_test_passages(built: Path, make_env) -> None:
    task_set = load_task_set(built)
    assert task_set.label == f"test-v{TEST_TASKS_VERSION}" and len(task_set.sha256) == 64
    assert sorted(task_set.tasks) == [1, 2, 3, 4]
    env = make_env(split="test")
    split = PassageSplit.for_corpus(env.corpus)
    test_ids = split.ids("test", env.corpus)
    for k, tasks in task_set.tasks.items():
        assert len(tasks) == PER_MASK
        assert len({t.passage_id for t in tasks}) == PER_MASK
        assert all(t.passage_id in test_ids and len(t.answers) == k and all(t.evidence_ids) for t in tasks)
    env.close()


def test_a_damaged_file_fails_its_checksum(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / built.name
    data = bytearray(built.read_bytes())
    data[-9] ^= 0xFF
    copy.write_bytes(bytes(data))
    shutil.copy(manifest_path(built), manifest_path(copy))
    with pytest.raises(ValueError, match="differs from the manifest"):
        load_task_set(copy)
    with pytest.raises(ValueError, match="must be one of"):
        load_task_set(tmp_path / "tasks.json")


def test_env_plays_the_frozen_tasks_in_order_whatever_the_seed(built: Path, make_env) -> None:
    task_set = load_task_set(built)
    env = make_env(tasks=str(built), num_masks=2)
    expected = [t.passage_id for t in task_set.for_masks(2)]
    for seed in (5, 0, 123):
        played = []
        for i in range(PER_MASK + 2):  # two more than the set: wraps to the first two
            _, info = env.reset(seed=seed if i == 0 else None)  # a seed (any) starts the set again
            played.append(env.task.passage_id)
            assert info["task_set"] == f"test-v{TEST_TASKS_VERSION}" and info["task_index"] == i % PER_MASK
        assert played == expected + expected[:2]
    _, info = env.reset(seed=1, options={"task_index": 2})
    assert env.task.passage_id == expected[2] and info["task_index"] == 2
    frozen = task_set.for_masks(2)[2]
    assert env.task.answers == frozen.answers and env.task.evidence_ids == frozen.evidence_ids
    assert env.task.masked_text.count("[mask_") == 2 and frozen.answers[0] not in env.task.masked_text
    _, info = env.reset(options={"num_masks": 3})  # each mask count has its own list and cursor
    assert env.task.passage_id == task_set.for_masks(3)[0].passage_id
    with pytest.raises(ValueError, match="task_index"):
        env.reset(options={"passage_id": expected[0]})
    with pytest.raises(ValueError, match="has tasks for"):
        env.reset(options={"num_masks": 5})
    env.close()
    check_env(make_env(tasks=str(built)), skip_render_check=True)


def test_playing_a_task_reuses_the_check_made_on_open(built: Path, make_env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening checks every task's passage (read and hashed); playing a task does not do it again."""
    from ramp_env.envs import benchmark_split

    env = make_env(tasks=str(built), num_masks=1)
    hashed = []
    original = benchmark_split.text_sha256
    monkeypatch.setattr(benchmark_split, "text_sha256", lambda text: hashed.append(text) or original(text))
    for masks in (1, 2, 3):
        for i in range(PER_MASK):
            env.reset(options={"num_masks": masks, "task_index": i})
    assert hashed == []
    env.close()


def test_a_task_set_refuses_a_corpus_without_its_passages(built: Path, make_env, tmp_path: Path,
                                                          wiki_sample: Path) -> None:
    lines = wiki_sample.read_text(encoding="utf-8").splitlines()
    edited = [json.loads(line) for line in lines]
    for record in edited:
        record["text"] = record["text"] + " Edited."
    other = tmp_path / "edited.jsonl"
    other.write_text("".join(json.dumps(r) + "\n" for r in edited), encoding="utf-8")
    with pytest.raises(ValueError, match="has another text under that id"):
        make_env(corpus=str(other), tasks=str(built))


def test_an_earlier_shipped_version_loads_by_name_and_a_missing_one_names_those_shipped() -> None:
    v1 = load_task_set("test-v1")  # the set the older results files cite
    assert (v1.label, v1.sha256[:12]) == ("test-v1", "0ace0d4c1de8")
    v2 = load_task_set("test-v2")  # span rules v5: the set the leaderboard cited before test-v3
    assert (v2.label, v2.sha256[:12]) == ("test-v2", "5e65a33d0242")
    assert load_task_set("test").label == f"test-v{TEST_TASKS_VERSION}"
    with pytest.raises(FileNotFoundError, match=r"test-v99 is missing .*'test-v1'"):
        load_task_set("test-v99")
    with pytest.raises(ValueError, match="must be one of"):
        load_task_set("train-v1")  # no such set


def test_the_shipped_test_set_loads_with_its_checksum() -> None:
    task_set = load_task_set("test")
    assert task_set.label == f"test-v{TEST_TASKS_VERSION}"
    assert task_set.manifest["sha256"] == task_set.sha256
    assert sorted(task_set.tasks) == [1, 2, 3, 4]
    counts = {str(k): len(v) for k, v in task_set.tasks.items()}
    assert counts == task_set.manifest["tasks_per_mask_count"] and max(counts.values()) <= 150
    for tasks in task_set.tasks.values():  # one task per distinct passage within a mask count
        assert len({t.passage_id for t in tasks}) == len(tasks)
    assert "CC BY-SA 4.0" in task_set.manifest["licence"]


@pytest.mark.slow
def test_the_shipped_test_set_rebuilds_byte_for_byte_from_the_default_corpus() -> None:
    """The first tasks per mask count of a rebuild equal the shipped file's (the whole set with
    ``benchmarks/build_test_tasks.py --check``). Uses $RAMP_ENV_CACHE's default corpus
    (prepared on first use: minutes)."""
    command = [sys.executable, str(ROOT / "benchmarks" / "build_test_tasks.py"), "--check", "--limit", "3"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=env, check=False)
    assert done.returncode == 0 and "identical" in done.stdout, done.stdout + done.stderr[-3000:]


def test_held_out_env_and_specs_of_the_training_examples(built: Path, make_env, tmp_path: Path) -> None:
    from agents.llm.rollout import held_out_specs, seeded_specs
    from ramp_env.envs.benchmark_split import check_tasks
    from ramp_env.tasksets import held_out_env_kwargs

    assert held_out_env_kwargs("default") == {"tasks": "test", "split": "test"}
    assert held_out_env_kwargs(tmp_path / "corpus.jsonl") == {"split": "test"}
    for corpus in ("default", tmp_path / "corpus.jsonl"):  # merged over a training env's keywords, as examples do
        merged = {"split": "train", **held_out_env_kwargs(corpus)}
        assert check_tasks(merged.get("tasks"), merged["split"]) == "test"
    test_env = make_env(split="test")
    assert held_out_specs(test_env, 3, 1, 4) == seeded_specs(3, 1, 4)
    frozen = make_env(tasks=str(built))
    specs = held_out_specs(frozen, 3, 2, PER_MASK + 5)  # capped at the set's size, in its order
    assert [dict(s.options) for s in specs] == [{"num_masks": 2, "task_index": i} for i in range(PER_MASK)]
    played = [frozen.reset(seed=s.seed, options=dict(s.options)) and frozen.task.passage_id for s in specs]
    assert played == [t.passage_id for t in load_task_set(built).for_masks(2)]
    test_env.close()
    frozen.close()


def test_the_build_record_counts_the_tasks_the_previous_version_shares(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from build_test_tasks import shared_with_previous

    previous = task_set_path("test", TEST_TASKS_VERSION - 1, tmp_path)
    previous.write_bytes(encode_tasks([_task(0), _task(1)]))
    moved = FrozenTask(1, 2, "p", ((6, 11),), ("Paris",), ("PLACE",), (("q",),), "0" * 64)  # other spans
    assert shared_with_previous([_task(0), moved], tmp_path) == {
        "task_set": f"test-v{TEST_TASKS_VERSION - 1}", "tasks": 2, "shared": 1}
    assert shared_with_previous([_task(0)], tmp_path / "empty") is None  # no previous version shipped there

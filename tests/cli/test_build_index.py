"""``ramp-env build-index --task-pool``: spans of the env's task pool only, ahead of time."""

from __future__ import annotations

import json
from pathlib import Path

from ramp_env.cli import main
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking.pool import TaskPool


def test_task_pool_spans_are_prepared_for_exactly_the_env_pool(tmp_path: Path, wiki_sample: Path, capsys) -> None:
    cache = tmp_path / "cache"
    args = ["build-index", "--corpus", str(wiki_sample), "--cache-dir", str(cache), "--span-extractor", "rules"]
    assert main([*args, "--task-pool", "30"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["task_pool_spans_extracted"] == 30
    assert main([*args, "--task-pool", "30"]) == 0  # again: all cached
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["task_pool_spans_extracted"] == 0
    directory = Path(summary["directory"])
    assert not (directory / "spans-rules-v1.sqlite").exists()  # no eager table
    env = RAMPEnv(corpus=str(wiki_sample), cache_dir=str(cache), span_extractor="rules", task_pool=30,
                  require_evidence="none", progress=False)
    pool = TaskPool(30, len(env.corpus.store))
    before = env.spans.extracted  # the same process shares the table build-index filled
    for seed in range(10):
        env.reset(seed=seed)
        assert env.corpus.store.rowid_of(env.task.passage_id) in pool
    assert env.spans.extracted == before  # every drawn passage was prepared by build-index


def test_bad_task_pool_fails_before_preparing(tmp_path: Path, wiki_sample: Path, capsys) -> None:
    cache = tmp_path / "cache"
    code = main(["build-index", "--corpus", str(wiki_sample), "--cache-dir", str(cache), "--task-pool", "0"])
    assert code == 2 and "task_pool" in capsys.readouterr().err
    assert not (cache / "corpora").exists()


def test_task_pool_1_means_one_passage_as_in_the_env(tmp_path: Path, wiki_sample: Path, capsys) -> None:
    # issue 22: `--task-pool 1` meant every passage while task_pool=1 means one; "1.0" is every passage
    cache = tmp_path / "cache"
    args = ["build-index", "--corpus", str(wiki_sample), "--cache-dir", str(cache), "--span-extractor", "rules",
            "--no-spans"]
    assert main([*args, "--task-pool", "1"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["task_pool_spans_extracted"] == 1
    env = RAMPEnv(corpus=str(wiki_sample), cache_dir=str(cache), span_extractor="rules", task_pool=1,
                  require_evidence="none", progress=False)
    assert len(env.task_pool) == 1
    for bad in ("2.5", "1.5", "abc"):
        assert main([*args, "--task-pool", bad]) == 2
        assert "task_pool" in capsys.readouterr().err

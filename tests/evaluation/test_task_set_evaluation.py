"""Evaluating on a frozen task set: same tasks whatever the seed, records that carry their version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ramp_env.evaluation import evaluate, summarize
from ramp_env.evaluation.records import ResultsFile
from ramp_env.rewards.base import DEFAULT_REWARD
from ramp_env.tasksets.frozen import TEST_TASKS_VERSION, load_task_set, manifest_path

LABEL = f"test-v{TEST_TASKS_VERSION}"  # what the script names the set it builds

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def task_file(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path, wiki_sample: Path) -> Path:
    from benchmarks.build_test_tasks import main

    out = tmp_path_factory.mktemp("tasks")
    assert main(["--corpus", str(wiki_sample), "--span-extractor", "rules", "--cache-dir", str(cache_dir),
                 "--out-dir", str(out), "--tasks-per-mask", "3", "--results", str(out / "runtime.json")]) == 0
    return out / f"{LABEL}.jsonl.gz"


def _kwargs(cache_dir: Path, wiki_sample: Path, tasks: Path) -> dict:
    return {"corpus": str(wiki_sample), "cache_dir": str(cache_dir), "span_extractor": "rules",
            "progress": False, "tasks": str(tasks)}


def test_two_seeds_score_the_same_tasks_and_records_carry_the_version(task_file: Path, cache_dir: Path,
                                                                       wiki_sample: Path) -> None:
    task_set = load_task_set(task_file)
    runs = [
        evaluate(["bm25"], episodes=3, num_masks=[1, 2], seed=seed, env_kwargs=_kwargs(cache_dir, wiki_sample, task_file),
                 progress=False)
        for seed in (0, 41)
    ]
    ids = [[(r.num_masks, r.task_id) for r in run.records] for run in runs]
    assert ids[0] == ids[1]
    assert [t for k, t in ids[0] if k == 1] == [t.passage_id for t in task_set.for_masks(1)]
    for record in runs[0].records + runs[1].records:
        assert (record.task_set, record.task_set_sha256, record.reward_name) == (LABEL, task_set.sha256, DEFAULT_REWARD)
    assert runs[0].table.startswith(f"Tasks: {LABEL} (sha256 {task_set.sha256[:12]}) | reward: {DEFAULT_REWARD}")


def test_resuming_results_of_another_task_set_version_is_a_clear_error(
    task_file: Path, cache_dir: Path, wiki_sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    evaluate(["random"], episodes=2, num_masks=[1], env_kwargs=_kwargs(cache_dir, wiki_sample, task_file),
             out_dir=out, progress=False)
    # the same tasks published as the next version: another identity, so no resuming into these results
    later = TEST_TASKS_VERSION + 1
    v2 = tmp_path / "v2" / f"test-v{later}.jsonl.gz"
    v2.parent.mkdir()
    shutil.copy(task_file, v2)
    manifest = json.loads(manifest_path(task_file).read_text())
    manifest_path(v2).write_text(json.dumps({**manifest, "version": later}))
    with pytest.raises(ValueError, match=rf"holds results on {LABEL} .*this run plays test-v{later} .*cannot be resumed"):
        evaluate(["random"], episodes=2, num_masks=[1], env_kwargs=_kwargs(cache_dir, wiki_sample, v2),
                 out_dir=out, progress=False)
    # seeded tasks are another identity too
    seeded = {k: v for k, v in _kwargs(cache_dir, wiki_sample, task_file).items() if k != "tasks"}
    with pytest.raises(ValueError, match="tasks drawn by seed"):
        evaluate(["random"], episodes=2, num_masks=[1], env_kwargs=seeded, out_dir=out, progress=False)
    # and a leaderboard never averages two versions
    records = ResultsFile(out / "results.jsonl").read()
    other = [type(r).from_dict({**json.loads(r.to_json()), "task_set": f"test-v{later}"}) for r in records]
    with pytest.raises(ValueError, match="cannot be resumed or merged"):
        summarize(records + other)


def test_cli_tasks_defaults_to_the_whole_set_and_names_it(task_file: Path, cache_dir: Path, wiki_sample: Path,
                                                          tmp_path: Path) -> None:
    env = {"RAMP_ENV_CACHE": str(cache_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(ROOT)}
    outputs = []
    for seed in ("0", "9"):
        out = tmp_path / f"seed{seed}"
        done = subprocess.run(
            [sys.executable, "-m", "ramp_env", "evaluate", "--agent", "random", "--tasks", str(task_file),
             "--corpus", str(wiki_sample), "--span-extractor", "rules", "--seed", seed, "--out", str(out),
             "--no-progress"],
            capture_output=True, text=True, timeout=600, env=env, check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"Tasks: {LABEL} (sha256" in done.stdout
        records = ResultsFile(out / "results.jsonl").read()
        assert sorted({r.num_masks for r in records}) == [1, 2, 3, 4] and len(records) == 12
        outputs.append([(r.num_masks, r.episode, r.task_id) for r in records])
        assert (out / "leaderboard.md").read_text().startswith(f"Tasks: {LABEL}")
    assert sorted(outputs[0]) == sorted(outputs[1])
    too_many = subprocess.run(
        [sys.executable, "-m", "ramp_env", "evaluate", "--tasks", str(task_file), "--episodes", "4",
         "--corpus", str(wiki_sample), "--span-extractor", "rules"],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )
    assert too_many.returncode != 0 and "would replay tasks" in too_many.stderr

"""benchmarks/cpu_learning.py end to end in --quick mode, on the wiki sample with a tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_paired_bootstrap_ci_brackets_the_mean_difference() -> None:
    from benchmarks.cpu_learning import bootstrap_mean_ci, paired_difference

    a = [1.0, 0.0, 1.0, 1.0, 0.5, 1.0, 0.0, 1.0]
    b = [0.0, 0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 1.0]
    diff = paired_difference(a, b, resamples=2000, seed=0)
    assert diff["mean"] == pytest.approx(3.5 / 8, abs=1e-4)
    assert diff["ci95"][0] < diff["mean"] < diff["ci95"][1] and diff["excludes_zero"]
    assert (diff["wins"], diff["losses"]) == (4, 0)
    same = paired_difference(a, a, resamples=2000, seed=0)
    assert same["ci95"] == [0.0, 0.0] and not same["excludes_zero"]
    low, high = bootstrap_mean_ci([0.0, 1.0] * 50, resamples=2000, seed=0)
    assert 0.38 < low < 0.5 < high < 0.62
    with pytest.raises(ValueError, match="same tasks"):
        paired_difference([1.0], [1.0, 0.0], 100, 0)


@pytest.mark.slow
def test_quick_run_writes_results_with_cis(tmp_path, tiny_model, smollm2_tokenizer, cache_dir, wiki_sample) -> None:
    model_dir = tmp_path / "tiny"
    tiny_model().save_pretrained(model_dir)
    smollm2_tokenizer.save_pretrained(model_dir)
    out = tmp_path / "results" / "cpu_learning.json"
    command = [
        sys.executable, str(ROOT / "benchmarks" / "cpu_learning.py"), "--quick", "--model", str(model_dir),
        "--corpus", str(wiki_sample), "--cache_dir", str(cache_dir), "--span_extractor", "rules",
        "--out", str(out), "--work_dir", str(tmp_path / "work"), "--eval_tasks", "4", "--train_episodes", "16",
        "--max_new_tokens", "8",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    summary = results["summary"]
    assert summary["held_out_tasks"] == 4
    scores = results["per_task_scores"]
    assert {len(v) for v in scores.values()} == {4}
    assert set(scores) == {"base", "sft", "dapo", "teacher", "format_control"}
    # the format-only control answers and never searches, so SFT is claimed to search only against it
    control = summary["paired_differences"]["sft_minus_format_control"]
    expected = float(np.mean(scores["sft"]) - np.mean(scores["format_control"]))
    assert control["mean"] == pytest.approx(expected, abs=1e-4)
    assert summary["targets"]["sft_above_format_control"] == (control["excludes_zero"] and control["mean"] > 0)
    assert summary["budget"] == {"max_searches": 1, "top_k": 1, "max_hit_chars": 300, "max_new_tokens": 8}
    assert "'penalized_recall' reward" in results["score"]
    for name, model in summary["models"].items():
        assert model["ci95"][0] <= model["mean"] <= model["ci95"][1], name
    for diff in summary["paired_differences"].values():
        assert diff["ci95"][0] <= diff["mean"] <= diff["ci95"][1]
    # held-out passages never trained on, and the partial-progress file is gone once complete
    trained = {json.loads(line)["task_id"] for line in (tmp_path / "work" / "sft_trajectories.jsonl").open()}
    assert not trained & set(results["held_out"]["task_ids"])
    assert not out.with_name("cpu_learning.partial.json").exists()
    assert summary["dapo_diagnostics"]["groups_sampled_total"] >= 1
    # a variant that changes only DAPO's learning rate reuses every other stage from the results file
    variant = tmp_path / "results" / "variant.json"
    rerun = [*command[: command.index("--out")], "--out", str(variant), *command[command.index("--out") + 2 :],
             "--dapo_learning_rate", "3e-5", "--dapo_pool", "unseen_reached", "--reuse_from", str(out)]
    done = subprocess.run(rerun, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    second = json.loads(variant.read_text())
    assert set(second["reused"]) == {"tasks", "teacher_data", "eval_base", "sft", "eval_sft"}
    assert second["per_task_scores"]["sft"] == scores["sft"] and second["held_out"] == results["held_out"]
    assert second["dapo"]["config"]["learning_rate"] == 3e-5
    # --dapo_pool unseen_reached: DAPO never draws a passage of the SFT data
    drawn = {t for step in second["dapo"]["kept_groups_log"] for t in step["kept_task_ids"]}
    assert not drawn & trained and 1 <= second["teacher_data"]["dapo_task_pool"]
    assert (tmp_path / "work" / "dapo_cpu_learning" / "config.json").is_file()  # the first run's model is kept
    assert (tmp_path / "work" / "dapo_variant" / "config.json").is_file()
    # --dapo_steps 0: no DAPO stage and no DAPO row, everything else reused
    no_dapo = tmp_path / "results" / "no_dapo.json"
    rerun = [*command[: command.index("--out")], "--out", str(no_dapo), *command[command.index("--out") + 2 :],
             "--dapo_steps", "0", "--reuse_from", str(out)]
    done = subprocess.run(rerun, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    third = json.loads(no_dapo.read_text())
    assert set(third["per_task_scores"]) == {"base", "sft", "teacher", "format_control"} and third["dapo"] is None
    assert set(third["reused"]) == {"tasks", "teacher_data", "eval_base", "sft", "eval_sft"}
    assert third["summary"]["paired_differences"]["sft_minus_format_control"] == control
    assert not (tmp_path / "work" / "dapo_no_dapo").exists()


def test_a_stage_is_reused_only_when_its_inputs_are_unchanged() -> None:
    from benchmarks.cpu_learning import STAGE_SETTINGS, Args, reusable_stages

    settings = {f: getattr(Args(), f) for f in Args.__dataclass_fields__ if f not in ("out", "resume", "reuse_from")}
    previous = {"settings": dict(settings), "stages": {name: {} for name in STAGE_SETTINGS}}
    assert reusable_stages(previous, settings) == list(STAGE_SETTINGS)
    assert reusable_stages(previous, {**settings, "dapo_learning_rate": 3e-5}) == [
        "tasks", "teacher_data", "eval_base", "sft", "eval_sft"]
    assert reusable_stages(previous, {**settings, "max_new_tokens": 48}) == ["tasks", "teacher_data", "sft"]
    assert reusable_stages(previous, {**settings, "eval_seed": 7}) == []
    assert reusable_stages({"settings": settings}, settings) == [] and reusable_stages([], settings) == []
    # a run made before a setting existed had its default
    older = {"settings": {k: v for k, v in settings.items() if k != "train_dtype"}, "stages": previous["stages"]}
    assert reusable_stages(older, settings) == list(STAGE_SETTINGS)
    assert reusable_stages(older, {**settings, "train_dtype": "float32"}) == ["tasks", "teacher_data", "eval_base"]
    # a run from before the passage split held passages out by hand: none of its stages is reused
    split = {**settings, "held_out_source": "frozen test set or test split"}
    assert reusable_stages(previous, split) == []
    assert reusable_stages({**previous, "settings": split}, split) == list(STAGE_SETTINGS)


def test_stages_on_one_frozen_set_version_are_not_reused_on_another() -> None:
    from benchmarks.cpu_learning import STAGE_SETTINGS, Args, reusable_stages
    from ramp_env.tasksets import TEST_TASKS_VERSION

    current = Args(out="x.json").resolved()
    assert current.task_set == f"test-v{TEST_TASKS_VERSION}"  # "test" is recorded as the version it names
    assert Args(out="x.json", corpus="my.jsonl").resolved().task_set == ""  # another corpus: no frozen set
    settings = {f: getattr(current, f) for f in Args.__dataclass_fields__ if f not in ("out", "resume", "reuse_from")}
    # a run from before the option: its tasks stage names the set it played
    stages = {name: {} for name in STAGE_SETTINGS}
    stages["tasks"] = {"task_set": {"task_set": "test-v1", "task_set_sha256": "0ace"}}
    older = {"settings": {k: v for k, v in settings.items() if k != "task_set"}, "stages": stages}
    assert reusable_stages(older, {**settings, "task_set": "test-v1"}) == list(STAGE_SETTINGS)
    assert reusable_stages(older, {**settings, "task_set": "test-v99"}) == []


def test_the_settings_record_the_training_dtype_used_not_auto(tmp_path) -> None:
    from agents.training.precision import training_dtype
    from benchmarks.cpu_learning import Args

    # a stage is reused by its settings, so "auto" must not hide which precision trained it
    assert Args().train_dtype == "auto"
    assert Args(out=str(tmp_path / "o.json")).resolved().train_dtype == training_dtype("auto") != "auto"
    assert Args(out=str(tmp_path / "o.json"), train_dtype="bfloat16").resolved().train_dtype == "bfloat16"


def test_a_malformed_reused_stage_is_refused_with_the_file_named(tmp_path) -> None:
    from benchmarks.cpu_learning import STAGE_SETTINGS, Args, main

    out = tmp_path / "out.json"
    args = Args(out=str(out), work_dir=str(tmp_path / "work"), reuse_from=str(tmp_path / "bad.json"))
    settings = {f: getattr(args.resolved(), f) for f in Args.__dataclass_fields__
                if f not in ("out", "resume", "reuse_from")}
    (tmp_path / "bad.json").write_text(json.dumps({"settings": settings, "stages": {"tasks": {"seeds": [1, 2]}}}))
    with pytest.raises(SystemExit, match=r"bad.json: stage 'tasks' is malformed"):
        main(args)
    with pytest.raises(SystemExit, match="no such file"):
        main(Args(out=str(out), work_dir=str(tmp_path / "work"), reuse_from=str(tmp_path / "missing.json")))
    assert "tasks" in STAGE_SETTINGS and not out.exists()


@pytest.mark.slow
def test_replication_scores_the_run_on_new_tasks_it_never_saw(tmp_path, tiny_model, smollm2_tokenizer, cache_dir,
                                                              wiki_sample) -> None:
    model_dir = tmp_path / "tiny"
    tiny_model().save_pretrained(model_dir)
    smollm2_tokenizer.save_pretrained(model_dir)
    out = tmp_path / "results" / "cpu_learning.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, str(ROOT / "benchmarks" / "cpu_learning.py"), "--quick", "--model", str(model_dir),
        "--corpus", str(wiki_sample), "--cache_dir", str(cache_dir), "--span_extractor", "rules",
        "--out", str(out), "--work_dir", str(tmp_path / "work"), "--eval_tasks", "3", "--train_episodes", "12",
        "--max_new_tokens", "8",
    ]
    done = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    replication = tmp_path / "results" / "replication.json"
    command = [
        sys.executable, str(ROOT / "benchmarks" / "cpu_learning_replication.py"), "--results", str(out),
        "--work_dir", str(tmp_path / "work"), "--dapo_dir", str(tmp_path / "work" / "dapo_cpu_learning"),
        "--tasks", "3", "--max_candidates", "400", "--out", str(replication),
    ]
    done = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(replication.read_text())
    run = json.loads(out.read_text())
    trained = {json.loads(line)["task_id"] for line in (tmp_path / "work" / "sft_trajectories.jsonl").open()}
    new = set(report["new_tasks"]["task_ids"])
    assert len(new) == 3 and not new & (trained | set(run["held_out"]["task_ids"]))
    assert report["replication"]["tasks"] == 3 and report["pooled_with_run"]["tasks"] == 6
    diff = report["replication"]["dapo_minus_sft"]
    assert diff["ci95"][0] <= diff["mean"] <= diff["ci95"][1]
    # the same checkpoints by sampled rollouts (avg@k), on the run's tasks and the replication's, split per model
    sampled_out = tmp_path / "results" / "sampled.json"
    sampled = [
        sys.executable, str(ROOT / "benchmarks" / "cpu_learning_sampled.py"), "--results", str(out),
        "--sft_dir", str(tmp_path / "work" / "sft"), "--dapo_dir", str(tmp_path / "work" / "dapo_cpu_learning"),
        "--replication", str(replication), "--samples", "2", "--temperature", "1.0", "--out", str(sampled_out),
    ]
    for only in ("sft", ""):
        step = [*sampled, "--only", only] if only else sampled
        done = subprocess.run(step, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
    assert "sft: reusing" in done.stdout  # the final run took the SFT scores of the --only run
    assert not list(sampled_out.parent.glob("sampled.*.partial.json"))
    report = json.loads(sampled_out.read_text())
    assert report["samples"] == 2 and report["pooled"]["sampled"]["tasks"] == 6
    assert {m["machine_at_start"]["cpu_count"] for m in report["evaluation_machines"].values()} == {os.cpu_count()}
    for part, count in (("run", 3), ("replication", 3)):
        scores = report["per_task_sampled_scores"][part]
        assert len(scores["sft"]) == len(scores["dapo"]) == count
        assert report[part]["greedy"]["sft"]["mean"] == round(sum(
            (run if part == "run" else json.loads(replication.read_text()))["per_task_scores"]["sft"]) / count, 4)
    # a checkpoint that is not there fails before any work, naming it
    command[command.index("--dapo_dir") + 1] = str(tmp_path / "nowhere")
    done = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "nowhere" in done.stderr


def test_a_replay_of_an_older_run_plays_the_frozen_set_it_names(monkeypatch) -> None:
    import benchmarks.cpu_learning as run
    from benchmarks.cpu_learning_replication import run_args

    older = {"settings": {"held_out_source": run.Args.held_out_source, "num_masks": 1},
             "held_out": {"task_set": {"task_set": "test-v1", "task_set_sha256": "0ace"}}}
    args = run_args(older, "work")
    assert args.task_set == "test-v1"
    assert run_args({**older, "settings": {**older["settings"], "task_set": "test-v2"}}, "work").task_set == "test-v2"
    made = {}
    monkeypatch.setattr(run, "RAMPEnv", lambda **kwargs: made.update(kwargs))  # records what the env would get
    run.make_env(args, held_out=True)
    assert made["tasks"] == "test-v1" and made["split"] == "test"
    made.clear()
    run.make_env(args)  # a training env plays no frozen set
    assert "tasks" not in made and made["split"] == "train"

"""benchmarks/format_control.py: the closed-book control on a run's stored tasks, paired only where verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def control(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the scripts import their siblings by name
    import format_control

    return format_control


def fake_run(control, tmp_path: Path, cache_dir: Path, wiki_sample: Path, tasks: int = 4) -> dict:
    """A results file shaped like cpu_learning.py's, its tasks and teacher scores played on the wiki sample."""
    from agents.bm25_heuristic import BM25HeuristicAgent
    from ramp_env.evaluation.runner import episode_seed

    run = control.run
    args = run.Args(corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules")
    env = control.control_env(args)
    teacher = BM25HeuristicAgent(span_extractor="rules")
    seeds, task_ids, teacher_scores = [], [], []
    for i in range(tasks):
        seed = episode_seed(1000, 1, i)
        trajectory, _ = run.teacher_episode(env, teacher, seed, 1)
        seeds.append(seed)
        task_ids.append(trajectory.task_id)
        teacher_scores.append(trajectory.score)
    settings = {"corpus": str(wiki_sample), "cache_dir": str(cache_dir), "span_extractor": "rules",
                "bootstrap_resamples": 500}
    return {
        "settings": settings, "score": "recall", "ci_method": "percentile bootstrap",
        "held_out": {"seeds": seeds, "task_ids": task_ids},
        "per_task_scores": {"sft": [1.0] * tasks, "dapo": [0.5] * tasks, "teacher": teacher_scores},
    }


def test_control_is_paired_only_on_tasks_the_replay_reproduces(control, tmp_path, cache_dir, wiki_sample) -> None:
    results = fake_run(control, tmp_path, cache_dir, wiki_sample)
    results["held_out"]["task_ids"][1] = "wiki:Not the passage#0"  # a task that replays to another passage
    results["per_task_scores"]["teacher"][2] += 0.25  # a task whose mask must differ: the teacher scores otherwise
    path = tmp_path / "run.json"
    path.write_text(json.dumps(results))
    out = tmp_path / "results" / "format_control.json"
    report = control.main(control.Args(results=str(path), replication="", out=str(out)))
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["paired_tasks"] == {"run": 2}
    assert [u["seed"] for u in report["unpaired"]] == results["held_out"]["seeds"][1:3]
    assert "Not the passage" in report["unpaired"][0]["mismatch"] and "teacher" in report["unpaired"][1]["mismatch"]
    # the control answers in the format and never searches
    assert report["control_format"]["answered"] == 1.0 and report["control_format"]["searches"] == 0
    assert report["control_format"]["format_errors"] == 0
    assert report["control_format"]["example_action"].startswith("<answer>")
    run = report["comparisons"]["run"]
    kept = [row["control"] for row in report["per_task"]["run"] if row["paired"]]
    assert run["models"]["control"]["mean"] == pytest.approx(sum(kept) / 2, abs=1e-4)
    assert run["sft_minus_control"]["mean"] == pytest.approx(1.0 - sum(kept) / 2, abs=1e-4)
    assert set(run) >= {"dapo_minus_control", "teacher_minus_control"}


def test_nothing_paired_is_a_clear_error(control, tmp_path, cache_dir, wiki_sample) -> None:
    results = fake_run(control, tmp_path, cache_dir, wiki_sample, tasks=2)
    results["held_out"]["task_ids"] = ["wiki:elsewhere#0", "wiki:elsewhere#1"]
    path = tmp_path / "run.json"
    path.write_text(json.dumps(results))
    with pytest.raises(SystemExit, match="no stored task could be paired"):
        control.main(control.Args(results=str(path), replication="", out=str(tmp_path / "out.json")))
    assert not (tmp_path / "out.json").exists()

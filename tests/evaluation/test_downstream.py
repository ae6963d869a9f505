"""The Table-2 harness: agents x QA datasets in token recall, from ``ramp-env evaluate --datasets``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ramp_env.evaluation.downstream import dataset_label, downstream_cells, format_downstream
from ramp_env.evaluation.records import EpisodeRecord

QA_FIXTURES = Path(__file__).parents[1] / "qa" / "fixtures"


def record(agent: str, recall: float, f1: float, reward: float = 0.0) -> EpisodeRecord:
    return EpisodeRecord(agent=agent, env_id="MultiHopQA-v0", env_config="{}", num_masks=1, seed=0, episode=0,
                         reward=reward, per_mask_scores=[reward], searches=0, steps=1, seconds=0.0,
                         answer_metrics={"recall": recall, "f1": f1, "em": 0.0})


def test_cells_average_and_missing_datasets() -> None:
    records = {
        "a.json": [record("x", 1.0, 0.5), record("x", 0.0, 0.5), record("y", 0.5, 0.5)],
        "dir/b.jsonl": [record("x", 0.5, 0.1)],
    }
    cells = downstream_cells(records)
    assert cells["x"]["a.json"].mean == 0.5 and cells["x"]["a.json"].n == 2
    assert cells["x"]["dir/b.jsonl"].mean == 0.5 and "dir/b.jsonl" not in cells["y"]
    table = format_downstream(records).splitlines()
    assert [c.strip() for c in table[2].split("|")[1:-1]] == ["agent", "a", "b", "avg"]
    x_row = next(line for line in table if line.startswith("| x"))
    y_row = next(line for line in table if line.startswith("| y"))
    assert x_row.rstrip(" |").endswith("50.0")  # mean of the dataset means (50, 50)
    assert y_row.split("|")[-2].strip() == ""  # y missed dataset b: no average
    assert downstream_cells(records, "f1")["x"]["dir/b.jsonl"].mean == pytest.approx(0.1)
    with pytest.raises(ValueError, match="metric"):
        downstream_cells(records, "bleu")


def test_reward_table_is_titled_with_the_envs_reward() -> None:
    records = {"a.json": [record("x", 1.0, 0.5, reward=0.25), record("x", 0.0, 0.5, reward=0.75)]}
    table = format_downstream(records, "reward", reward_name="judge")
    assert table.startswith("reward=judge (%")
    assert next(line for line in table.splitlines() if line.startswith("| x")).rstrip(" |").endswith("50.0")


def test_datasets_need_the_qa_env() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ramp_env", "evaluate", "--datasets", "hotpot.json", "--agent", "random"],
        check=False, capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode != 0 and "--env MultiHopQA-v0" in done.stderr and "Traceback" not in done.stderr


def test_dataset_labels() -> None:
    assert dataset_label("/data/hotpot_dev_distractor_v1.json") == "hotpot_dev_distractor_v1"
    assert dataset_label("fanoutqa-dev") == "fanoutqa-dev"
    assert dataset_label("x/FreshQA_v1.csv") == "FreshQA_v1"


@pytest.mark.slow
def test_cli_prints_agents_by_datasets_in_recall(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    out = tmp_path / "down"
    datasets = [str(QA_FIXTURES / "bamboogle_sample.csv"), str(QA_FIXTURES / "hotpot_dev_distractor_sample.json")]
    done = subprocess.run(
        [sys.executable, "-m", "ramp_env", "evaluate", "--env", "MultiHopQA-v0", "--datasets", *datasets,
         "--agent", "oracle", "random", "--episodes", "3", "--corpus", str(wiki_sample),
         "--cache-dir", str(cache_dir), "--out", str(out), "--no-progress"],
        check=False, capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    recall_table = done.stdout.split("\n\n")[0:2]
    lines = [line for line in "\n".join(recall_table).splitlines() if line.startswith("|")]
    assert lines[0].split("|")[2].strip() == "bamboogle_sample"
    assert lines[0].split("|")[3].strip() == "hotpot_dev_distractor_sample"
    oracle = next(line for line in lines if line.startswith("| oracle"))
    assert [c.strip() for c in oracle.split("|")[2:-1]] == ["100.0 ± 0.0 (3)", "100.0 ± 0.0 (3)", "100.0"]
    for label in ("bamboogle_sample", "hotpot_dev_distractor_sample"):
        rows = [json.loads(x) for x in (out / label / "results.jsonl").read_text().splitlines()]
        assert len(rows) == 6 and all("recall" in r["answer_metrics"] for r in rows)
    assert (out / "downstream.md").read_text().startswith("recall")
    assert "reward=" not in done.stdout  # the default reward (F1) is already a column
    judged = subprocess.run(
        [sys.executable, "-m", "ramp_env", "evaluate", "--env", "MultiHopQA-v0", "--datasets", datasets[0],
         "--agent", "oracle", "--episodes", "2", "--corpus", str(wiki_sample), "--cache-dir", str(cache_dir),
         "--env-arg", "reward=penalized_recall", "--no-progress"],
        check=False, capture_output=True, text=True, timeout=600, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert judged.returncode == 0, judged.stderr
    reward_table = judged.stdout.split("reward=penalized_recall (%")[1]
    assert "| oracle" in reward_table and "100.0" in reward_table
    missing = subprocess.run(
        [sys.executable, "-m", "ramp_env", "evaluate", "--env", "MultiHopQA-v0", "--datasets", "nope.json",
         "--agent", "oracle", "--episodes", "1", "--corpus", str(wiki_sample), "--cache-dir", str(cache_dir)],
        check=False, capture_output=True, text=True, timeout=600, env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode != 0 and "nope.json" in missing.stderr


def test_sequential_questions_are_paired_across_agents_and_resumes(tmp_path: Path, cache_dir: Path,
                                                                   wiki_sample: Path) -> None:
    """With order=sequential, episode i is question i for every agent, also after a resume."""
    from ramp_env.evaluation.harness import evaluate

    kwargs = {"dataset": "fanoutqa-dev", "order": "sequential",
              "corpus": str(wiki_sample), "cache_dir": str(cache_dir), "progress": False}
    run = evaluate(["random", "closed_book"], episodes=3, env_id="MultiHopQA-v0", env_kwargs=kwargs,
                   out_dir=tmp_path / "r", progress=False)
    by_agent: dict[str, list[str]] = {}
    for r in sorted(run.records, key=lambda r: r.episode):
        by_agent.setdefault(r.agent, []).append(r.task_id)
    assert by_agent["random"] == by_agent["closed_book"] and len(set(by_agent["random"])) == 3
    # a resumed run with more episodes plays only the new ones, and they continue the order
    more = evaluate(["random"], episodes=4, env_id="MultiHopQA-v0", env_kwargs=kwargs, out_dir=tmp_path / "r",
                    progress=False)
    ids = [r.task_id for r in sorted((r for r in more.records if r.agent == "random"), key=lambda r: r.episode)]
    assert ids[:3] == by_agent["random"] and ids[3] not in ids[:3]

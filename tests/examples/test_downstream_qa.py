"""examples/downstream_qa.py end to end in its --quick mode (CPU, the bundled HotpotQA sample)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "downstream_qa.py"
HOTPOT = ROOT / "tests" / "qa" / "fixtures" / "hotpot_dev_distractor_sample.json"


def run_example(tmp_path: Path, cache_dir: Path, wiki_sample: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAMP_ENV_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--corpus", str(wiki_sample), "--threads", "1", *extra],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("downstream_qa_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's string annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_mode_trains_saves_and_prints_the_table(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    out = tmp_path / "run"
    result = run_example(tmp_path, cache_dir, wiki_sample, "--output_dir", str(out))
    assert result.returncode == 0, result.stderr[-3000:]

    # a loadable checkpoint, saved after SFT and one DAPO step
    assert (out / "model" / "config.json").is_file()
    assert any((out / "model").glob("*.safetensors"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"] == ["sft", "rl"]
    assert summary["sft"]["steps"] >= 1 and summary["rl"]["steps"] == 1
    assert (out / "teacher_trajectories.jsonl").read_text().strip()

    # the Table-2 table: rows the trained and the initial model, the sample's column and the average
    table = (out / "downstream.md").read_text()
    assert "recall" in table and "f1" in table and "em" in table
    rows = [line for line in table.splitlines() if line.startswith(("| downstream", "| init"))]
    assert len(rows) == 3 * 2  # two models in each of the recall, F1 and EM tables
    assert "hotpot_dev_distractor_sample" in table
    assert all("(2)" in row for row in rows)  # each of the sample's 2 questions once
    records = [
        json.loads(line)
        for line in (out / "eval" / "downstream" / "hotpot_dev_distractor_sample" / "results.jsonl").read_text().splitlines()
    ]
    assert sorted(r["episode"] for r in records) == [0, 1]
    assert {r["task_id"] for r in records} == {e["_id"] for e in json.loads(HOTPOT.read_text())}
    assert all(set(r["answer_metrics"]) >= {"em", "f1", "recall"} for r in records)


def test_bad_inputs_fail_before_any_training(tmp_path: Path, wiki_sample: Path) -> None:
    example = load_example()

    def fails(match: str, **changes: object) -> None:
        settings: dict[str, object] = {"quick": True, "corpus": str(wiki_sample), "output_dir": str(tmp_path / "out")}
        args = example.Args(**(settings | changes))
        with pytest.raises(SystemExit, match=match):
            example.main(args)

    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    fails("is a file", output_dir=str(blocker))
    fails(r"missing\.json: not a file", train_file=str(tmp_path / "missing.json"))
    fails("--stages", stages="sft,ppo")
    fails("--stages", stages="")
    fails("--teacher_args is not JSON", teacher_args="{bad")
    fails("must be a JSON object", teacher_args="[1]")
    fails("--sft_file", sft_file=str(tmp_path / "no_trajectories.jsonl"))
    fails("not a model folder", init_from=str(tmp_path / "no_model"))
    fails(r"nope\.json is not a file", eval_datasets=[str(tmp_path / "nope.json")])
    assert not (tmp_path / "out").exists()  # nothing written before the checks passed

"""What users write survives crashes: trajectories are replaced atomically, evaluation results
are appended record by record, and a process killed mid-write loses nothing already finished."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ramp_env.evaluation.records import EpisodeRecord, ResultsFile
from ramp_env.trajectories import Trajectory, read_trajectories, write_trajectories
from tests.robustness._processes import kill, wait_for, worker


def trajectory(i: int) -> Trajectory:
    return Trajectory(task_id=f"old{i}", messages=[{"role": "user", "content": "masked passage"}],
                      actions=["<answer>x</answer>"], tool_results=["graded"], rewards=[1.0], per_mask_scores=[1.0],
                      num_masks=1, seed=i)


def record(i: int) -> EpisodeRecord:
    return EpisodeRecord(agent="a", env_id="RAMP-v0", env_config="{}", num_masks=1, seed=0, episode=i, reward=0.5,
                         per_mask_scores=[0.5], searches=1, steps=2, seconds=0.1)


def leftovers(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.tmp-*"))


@pytest.mark.slow
def test_trajectories_killed_mid_write_keep_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "trajectories.jsonl"
    write_trajectories(path, [trajectory(0), trajectory(1)])
    before = path.read_bytes()
    proc = worker("write-trajectories", "--out-file", str(path), "--count", "400", "--slow", "0.01")
    wait_for(lambda: any(p.stat().st_size > 0 for p in leftovers(path)), 120, "the write to start", proc)
    time.sleep(0.2)
    kill(proc)
    assert path.read_bytes() == before  # untouched: the new file never replaced it half-written
    assert [t.task_id for t in read_trajectories(path)] == ["old0", "old1"]
    write_trajectories(path, [trajectory(5)])  # the next write succeeds and clears the dead one's temp file
    assert [t.task_id for t in read_trajectories(path)] == ["old5"] and not leftovers(path)


def test_a_failing_trajectory_stream_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "trajectories.jsonl"
    write_trajectories(path, [trajectory(0)])

    def broken():
        yield trajectory(1)
        raise RuntimeError("the collector crashed")

    with pytest.raises(RuntimeError, match="collector crashed"):
        write_trajectories(path, broken())
    assert [t.task_id for t in read_trajectories(path)] == ["old0"] and not leftovers(path)


@pytest.mark.slow
def test_results_killed_mid_run_keep_every_finished_episode_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    proc = worker("append-results", "--out-file", str(path), "--count", "400", "--slow", "0.01")
    wait_for(lambda: path.is_file() and path.read_text().count("\n") >= 5, 120, "results to be written", proc)
    kill(proc)
    done = ResultsFile(path).read()
    assert [r.episode for r in done] == list(range(len(done))) and len(done) >= 5  # a prefix, all complete
    assert all(r == record(r.episode) for r in done)
    # a crash can tear the last line; reading skips it and the next append cuts it off
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(record(len(done)).to_json()[:40])
    assert len(ResultsFile(path).read()) == len(done)
    resumed = list(ResultsFile(path).append(record(i) for i in range(len(done), len(done) + 3)))
    assert [r.episode for r in ResultsFile(path).read()] == list(range(len(done) + 3)) and len(resumed) == 3


def test_a_corrupt_line_inside_results_is_named(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(record(0).to_json() + "\n{not json\n" + record(2).to_json() + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"results\.jsonl:2"):
        ResultsFile(path).read()

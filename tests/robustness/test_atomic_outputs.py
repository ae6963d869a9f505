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


@pytest.mark.parametrize(
    "line, reason",
    [(b"42", "expected a JSON object, got int"), (b'["a", 1]', "expected a JSON object, got list"),
     (b"null", "expected a JSON object, got NoneType"), (b'{"agent": "a"}', "missing"),
     (b'{"agent": "caf\xe9"}', "not valid UTF-8 at byte 14")],
    ids=["number", "list", "null", "missing-fields", "bad-utf8"],
)
def test_every_bad_results_line_is_a_value_error_naming_its_line(tmp_path: Path, line: bytes, reason: str) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(record(0).to_json().encode() + b"\n" + line + b"\n" + record(2).to_json().encode() + b"\n")
    with pytest.raises(ValueError, match=r"results\.jsonl:2: ") as err:
        ResultsFile(path).read()
    assert reason in str(err.value)


@pytest.mark.parametrize(
    "line, reason",
    [(b"42", "must be a JSON object"), (b'{"task_id": "x"}', "missing field"),
     (b'{"task_id": "caf\xe9"}', "not valid UTF-8 at byte 16"), (b"{broken", "bad trajectory record")],
    ids=["number", "missing-fields", "bad-utf8", "bad-json"],
)
def test_every_bad_trajectory_line_is_a_value_error_naming_its_line(tmp_path: Path, line: bytes, reason: str) -> None:
    path = tmp_path / "trajectories.jsonl"
    write_trajectories(path, [trajectory(0)])
    path.write_bytes(path.read_bytes() + line + b"\n")
    with pytest.raises(ValueError, match=r"trajectories\.jsonl:2: ") as err:
        read_trajectories(path)
    assert reason in str(err.value)


@pytest.mark.slow
def test_results_interrupted_with_sigint_keep_every_finished_episode(tmp_path: Path) -> None:
    import signal

    path = tmp_path / "results.jsonl"
    proc = worker("append-results", "--out-file", str(path), "--count", "400", "--slow", "0.01")
    wait_for(lambda: path.is_file() and path.read_text().count("\n") >= 5, 120, "results to be written", proc)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: KeyboardInterrupt in the writer
    proc.wait(timeout=60)
    assert proc.returncode != 0
    done = ResultsFile(path).read()
    assert [r.episode for r in done] == list(range(len(done))) and len(done) >= 5
    assert all(r == record(r.episode) for r in done)
    resumed = list(ResultsFile(path).append(record(i) for i in range(len(done), len(done) + 2)))
    assert [r.episode for r in ResultsFile(path).read()] == list(range(len(done) + 2)) and len(resumed) == 2

"""Killed processes and planted files around the env's own processes and temporary files.

* An ``AsyncVectorEnv`` worker killed with SIGKILL: the next step raises at once,
  and :func:`~ramp_env.distributed.vector.close_vector_env` returns promptly and
  leaves no worker running (a plain ``close()`` raises on the dead pipe, or waits
  forever for a worker stuck mid-step).
* Symlinks planted where a build's leftovers are cleaned up (names of dead
  builders' temporary files) are removed as links: what they point to survives.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import gymnasium as gym
import pytest

import ramp_env  # noqa: F401 - registers RAMP-v0
from ramp_env.cache import atomic_write_text, host_tag
from ramp_env.distributed.vector import close_vector_env


def close_within(venv: gym.vector.VectorEnv, seconds: float) -> float:
    started = time.monotonic()
    thread = threading.Thread(target=close_vector_env, args=(venv,), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"close_vector_env still running after {seconds} s"
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("when", ["between-steps", "mid-step"])
def test_a_killed_async_worker_fails_the_step_and_closes_cleanly(cache_dir: Path, wiki_sample: Path, when: str) -> None:
    venv = gym.make_vec("RAMP-v0", num_envs=2, vectorization_mode="async", corpus=str(wiki_sample),
                        cache_dir=str(cache_dir), span_extractor="rules", progress=False)
    processes = list(venv.processes)
    try:
        venv.reset(seed=0)
        if when == "mid-step":
            venv.step_async(["<search>river</search>"] * 2)
        os.kill(processes[0].pid, signal.SIGKILL)
        processes[0].join(10)
        with pytest.raises(Exception):  # noqa: B017 - gymnasium raises the pipe's own error
            if when == "mid-step":
                venv.step_wait(timeout=30)  # raises unless the worker had answered before it died
            venv.step(["<search>river</search>"] * 2)
        assert close_within(venv, 30) < 30
        assert venv.closed and not any(p.is_alive() for p in processes)
    finally:
        for process in processes:  # never leave a worker behind, whatever failed above
            if process.is_alive():
                process.kill()


def test_closing_a_healthy_vector_env_is_graceful(cache_dir: Path, wiki_sample: Path) -> None:
    venv = gym.make_vec("RAMP-v0", num_envs=2, vectorization_mode="sync", corpus=str(wiki_sample),
                        cache_dir=str(cache_dir), span_extractor="rules", progress=False)
    venv.reset(seed=0)
    close_within(venv, 30)
    assert venv.closed


def test_planted_symlinks_among_leftovers_never_reach_their_targets(tmp_path: Path) -> None:
    outside_dir = tmp_path / "precious"
    outside_dir.mkdir()
    (outside_dir / "keep.txt").write_text("keep me")
    outside_file = tmp_path / "precious.txt"
    outside_file.write_text("keep me too")
    out = tmp_path / "out"
    out.mkdir()
    dead_pid = 2**22 + 12345  # above any pid_max: certainly not running
    planted = [out / f".result.json.tmp-{host_tag() or 'nohost'}-{dead_pid}-dir",
               out / f".result.json.tmp-{host_tag() or 'nohost'}-{dead_pid}-file"]
    planted[0].symlink_to(outside_dir, target_is_directory=True)
    planted[1].symlink_to(outside_file)
    for link in planted:  # and old enough to be anyone's stale leftover
        os.utime(link, (time.time() - 7 * 24 * 3600,) * 2, follow_symlinks=False)
    atomic_write_text(out / "result.json", "{}\n")
    assert (out / "result.json").read_text() == "{}\n"
    assert (outside_dir / "keep.txt").read_text() == "keep me" and outside_file.read_text() == "keep me too"

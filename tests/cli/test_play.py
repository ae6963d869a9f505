"""``ramp-env play --env ID --env-arg KEY=VALUE`` plays every registered env, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ramp_env
from tests.conftest import WIKI_SAMPLE

HOTPOT = Path(__file__).resolve().parents[1] / "qa" / "fixtures" / "hotpot_dev_distractor_sample.json"
# per env: the arguments that keep it small (a fixture corpus or dataset), and a line that ends an episode
ENVS = {
    "RAMP-v0": (["--corpus", str(WIKI_SAMPLE), "--span-extractor", "rules"], "a Plato; Athens"),
    "RAMP-Lite-v0": ([], "a Plato"),
    "MultiHopQA-v0": (["--corpus", str(WIKI_SAMPLE), "--env-arg", f"dataset={HOTPOT}"], "a yes"),
}


def play(*args: str, cache: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ramp_env", "play", *args], input=stdin, capture_output=True, text=True,
        timeout=600, check=False, env={"RAMP_ENV_CACHE": str(cache), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )


def test_every_registered_env_is_covered() -> None:
    assert set(ENVS) == set(ramp_env.ENV_IDS)


@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_play_any_env_with_env_args(env_id: str, cache_dir: Path) -> None:
    args, answer = ENVS[env_id]
    done = play("--env", env_id, "--env-arg", "max_searches=1", "--seed", "0", *args, cache=cache_dir,
                stdin=f"s Aristotle\ns Plato\n{answer}\n")
    assert done.returncode == 0, done.stderr
    assert "Search 1/1" in done.stdout  # --env-arg max_searches=1 reached the env
    assert "search budget is used up" in done.stdout
    assert "reward" in done.stdout and "gold: " in done.stdout and "total reward over 1 episode(s)" in done.stdout


def test_a_bad_env_argument_is_one_line(cache_dir: Path) -> None:
    done = play("--env", "RAMP-Lite-v0", "--env-arg", "no_such_arg=1", cache=cache_dir, stdin="")
    assert done.returncode != 0 and "no_such_arg" in done.stderr and "Traceback" not in done.stderr

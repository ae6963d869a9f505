"""The exercise checkers are passable (the solutions pass) and not free (the starters fail).

Each checker runs in its own pytest process, pointed at a folder by
``RAMP_EXERCISE_DIR``, so no exercise file is edited to grade another copy.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"
CHECKERS = {
    "test_ex1_query_writer.py": {"test_matches_the_bm25_heuristic_query"},
    "test_ex2_reward.py": {
        "test_listing_candidates_earns_little",
        "test_a_long_text_containing_the_answer_earns_nothing_much",
        "test_enumerating_agent_scores_below_an_honest_one",
    },
}


def run_checkers(exercise_dir: Path, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    """Every checker in one pytest process (one start-up), grading the copies in ``exercise_dir``."""
    env = {**os.environ, "RAMP_EXERCISE_DIR": str(exercise_dir), "RAMP_ENV_CACHE": str(cache_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", *(str(EXERCISES / c) for c in sorted(CHECKERS)), "-q", "-rf",
         "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=900,
    )


def failed_tests(output: str) -> set[str]:
    """Names of the tests pytest's ``-rf`` summary lists as failed (parametrisations folded)."""
    names = set()
    for line in output.splitlines():
        if line.startswith("FAILED "):
            names.add(line.split("::", 1)[1].split(" ", 1)[0].split("[", 1)[0])
    return names


def failure_messages(output: str) -> list[tuple[str, str]]:
    """``(test, message)`` of each failure section pytest printed: the text under its
    ``____ test ____`` header (the checkers fail with ``pytrace=False``: the message alone)."""
    lines = output.splitlines()
    found = []
    for i, line in enumerate(lines):
        header = re.fullmatch(r"_{3,} (\S+) _{3,}", line.strip())
        if header:
            body = [x for x in lines[i + 1 :] if x.strip()]
            found.append((header.group(1), body[0] if body else ""))
    return found


def test_failure_messages_are_read_from_pytest_output() -> None:
    output = "____ test_a[x] ____\nExpected 1, got 2.\n____ test_b ____\n\nExpected a, got b.\n== short =="
    assert failure_messages(output) == [("test_a[x]", "Expected 1, got 2."), ("test_b", "Expected a, got b.")]


def test_every_exercise_has_a_starter_a_solution_and_a_checker() -> None:
    for checker in CHECKERS:
        name = checker.removeprefix("test_")
        assert (EXERCISES / name).is_file() and (EXERCISES / "solutions" / name).is_file(), name
    assert {p.name for p in EXERCISES.glob("test_ex*.py")} == set(CHECKERS)


@pytest.mark.slow
def test_solutions_pass_their_checkers(cache_dir: Path) -> None:
    result = run_checkers(EXERCISES / "solutions", cache_dir)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_unmodified_starters_fail_their_checkers_for_the_right_reasons(cache_dir: Path) -> None:
    result = run_checkers(EXERCISES, cache_dir)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]  # 1: tests failed (not an error)
    assert failed_tests(result.stdout) == set().union(*CHECKERS.values()), result.stdout[-4000:]
    # each failure is one sentence saying what was expected and what was got: no assertion
    # introspection, no numpy reprs, no traceback
    messages = failure_messages(result.stdout)
    assert len(messages) == result.stdout.count("\nFAILED "), result.stdout[-4000:]
    for name, message in messages:
        assert message.startswith("Expected ") and ", got " in message and message.endswith("."), (name, message)
    assert "array(" not in result.stdout and "where " not in result.stdout and "Traceback" not in result.stdout

"""``ramp-env evaluate`` end to end, as a user runs it, and the resume logic of the harness."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ramp_env.cli.evaluate import agent_specs, parse_assignment
from ramp_env.evaluation.harness import OUTPUT_FILES, AgentSpec, evaluate
from ramp_env.evaluation.records import ResultsFile


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ramp_env", "evaluate", *args],
        check=False, capture_output=True, text=True, timeout=600,
        env={"RAMP_ENV_CACHE": str(cache), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_jsonl_and_png(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    out = tmp_path / "results"
    args = (
        "--agent", "bm25", "random", "agents.oracle:OracleAgent", "--episodes", "3", "--num-masks", "1", "2",
        "--seed", "0", "--corpus", str(wiki_sample), "--span-extractor", "rules", "--out", str(out), "--no-progress",
    )
    done = run_cli(*args, cache=cache_dir)
    assert done.returncode == 0, done.stderr
    stdout = done.stdout.splitlines()
    first = next(i for i, line in enumerate(stdout) if line.startswith("|"))
    table = list(itertools.takewhile(lambda line: line.startswith("|"), stdout[first:]))  # the leaderboard
    assert table[0].startswith("| agent") and len(table) == 2 + 3 * 2
    assert any(line.startswith("| mask score by span type") for line in stdout)  # the difficulty breakdown
    assert (out / "difficulty.jsonl").read_text().count("\n") >= 3
    oracle_rows = [line for line in table if "OracleAgent" in line]
    assert all("1.000 ± 0.000" in line for line in oracle_rows)

    lines = (out / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 3 * 2 * 3
    for key in ("agent", "num_masks", "seed", "reward", "per_mask_scores", "searches", "episode", "env_id"):
        assert key in records[0]
    assert {r["agent"] for r in records} == {"bm25", "random", "agents.oracle:OracleAgent"}
    assert all(len(r["per_mask_scores"]) == r["num_masks"] for r in records)
    assert json.loads(records[0]["agent_args"]) == {"span_extractor": "rules"}  # the env's extractor
    assert (out / "score_vs_masks.png").read_bytes()[:4] == b"\x89PNG"
    assert "\n| agent" in (out / "leaderboard.md").read_text()
    assert {p.name for p in out.iterdir()} == set(OUTPUT_FILES)  # each one documented (test below)

    # interrupted mid-write: the partial line is dropped and only missing episodes are replayed
    (out / "results.jsonl").write_text("\n".join(lines[:-4]) + "\n" + lines[-4][:30])
    again = run_cli(*args, cache=cache_dir)
    assert again.returncode == 0, again.stderr
    redone = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert redone[:-4] == records[:-4]
    assert [(r["agent"], r["num_masks"], r["episode"], r["reward"]) for r in redone] == [
        (r["agent"], r["num_masks"], r["episode"], r["reward"]) for r in records
    ]


def test_cli_errors_are_clear(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    bad = run_cli("--agent", "no_such_agent", "--corpus", str(wiki_sample), cache=cache_dir)
    assert bad.returncode == 2 and "unknown agent 'no_such_agent'" in bad.stderr
    listed = run_cli("--list-agents", cache=cache_dir)
    assert listed.returncode == 0 and "bm25" in listed.stdout and "agents.oracle:OracleAgent" in listed.stdout


def test_agent_arguments_go_to_the_agents_that_take_them() -> None:
    assert parse_assignment("max_searches=2") == ("max_searches", 2)
    assert parse_assignment("lm=models/x") == ("lm", "models/x")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignment("oops")
    specs = agent_specs(["bm25", "random", "oracle"], ["seed=3", "bm25.max_searches=2"], "rules")
    by_name = {s.name: s.kwargs for s in specs}
    assert by_name == {
        "bm25": {"max_searches": 2, "span_extractor": "rules"},
        "random": {"seed": 3, "span_extractor": "rules"},
        "oracle": {},
    }
    with pytest.raises(ValueError, match="no agent"):
        agent_specs(["oracle"], ["seed=1"], None)


def test_evaluate_resumes_without_replaying(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    env_kwargs = {"corpus": str(wiki_sample), "cache_dir": str(cache_dir), "span_extractor": "rules", "progress": False}
    first = evaluate([AgentSpec("random", {"span_extractor": "rules"})], 4, [1], seed=5, env_kwargs=env_kwargs,
                     out_dir=tmp_path, progress=False)
    assert len(first.records) == 4
    stamp = (tmp_path / "results.jsonl").stat().st_mtime_ns
    second = evaluate([AgentSpec("random", {"span_extractor": "rules"})], 4, [1], seed=5, env_kwargs=env_kwargs,
                      out_dir=tmp_path, progress=False)
    assert second.records == first.records
    assert (tmp_path / "results.jsonl").stat().st_mtime_ns == stamp, "nothing was replayed"
    # another seed is another experiment: 4 more episodes, and the table only shows this run
    third = evaluate(["oracle"], 2, [1], seed=6, env_kwargs=env_kwargs, out_dir=tmp_path, progress=False)
    assert len(ResultsFile(tmp_path / "results.jsonl").read()) == 6
    assert [r.agent for r in third.records] == ["oracle", "oracle"] and "random" not in third.table


def test_python_api_checks_out_dir_before_any_episode(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="out_dir .* is a file"):
        # the env id is bogus on purpose: the path check must come first
        evaluate(["random"], episodes=1, env_id="NoSuchEnv-v0", out_dir=blocker)


def test_help_texts_print_no_doubled_percent() -> None:
    """argparse %-formats help strings but not descriptions: a ``%%`` there is printed as is."""
    from ramp_env.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)]
    for name, sub in commands.choices.items():
        assert "%%" not in sub.format_help(), f"ramp-env {name} --help prints '%%'"
    assert "95% CI" in commands.choices["evaluate"].format_help()


def test_every_file_evaluate_writes_is_documented() -> None:
    from ramp_env.cli import build_parser

    docs = (Path(__file__).resolve().parents[2] / "docs" / "agents-and-evaluation.md").read_text(encoding="utf-8")
    parser = build_parser()
    (commands,) = [a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)]
    help_text = " ".join(commands.choices["evaluate"].format_help().split())
    for name in OUTPUT_FILES:
        assert f"| `{name}` |" in docs, f"{name} has no row in the docs' table of output files"
        assert name in help_text, f"{name} is not named in `ramp-env evaluate --help`"
    assert "downstream.md" in docs  # what --datasets adds

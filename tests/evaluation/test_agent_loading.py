"""Agents by entry-point name or module:Class."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agents.bm25_heuristic import BM25HeuristicAgent
from agents.oracle import OracleAgent
from ramp_env.evaluation.agent_loading import accepts, make_agent, registered_agents, resolve_agent


def test_baselines_are_registered_entry_points() -> None:
    registered = registered_agents()
    for name in ("random", "closed_book", "bm25", "oracle"):
        assert name in registered
    assert resolve_agent("bm25") is BM25HeuristicAgent
    assert resolve_agent("agents.oracle:OracleAgent") is OracleAgent


def test_unknown_agents_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown agent 'nope'.*bm25"):
        resolve_agent("nope")
    with pytest.raises(ValueError, match="cannot load agent"):
        resolve_agent("agents.oracle:NoSuchAgent")
    with pytest.raises(ValueError, match="cannot load agent"):
        resolve_agent("no_such_module_xyz:Agent")


def test_env_is_passed_when_the_constructor_takes_it(make_env) -> None:
    env = make_env()
    oracle = make_agent("oracle", env=env)
    assert isinstance(oracle, OracleAgent) and oracle.env is env
    agent = make_agent("random", env=env, kwargs={"seed": 3})
    assert not hasattr(agent, "env")
    with pytest.raises(ValueError, match="takes no argument.*bogus"):
        make_agent("random", kwargs={"bogus": 1})
    assert accepts(resolve_agent("bm25"), "span_extractor") and not accepts(resolve_agent("oracle"), "seed")


def test_objects_without_act_are_rejected() -> None:
    with pytest.raises(ValueError, match="without an act"):
        make_agent("collections:OrderedDict")


# -- module:Class and path/to/file.py:Class from the working directory ---------------------------


def _without_cwd_on_path(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    # the `ramp-env` console script's sys.path: the working directory is not on it
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(cwd))])


AGENT_SOURCE = '''
from {helper} import ANSWER


class Agent:
    def act(self, observation):
        return ANSWER
'''


def _write_agent(folder: Path) -> str:
    """An agent module importing a neighbour module; returns its (unique) module name."""
    name = f"cwd_agents_{uuid.uuid4().hex[:8]}"
    helper = f"{name}_helper"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{helper}.py").write_text("ANSWER = '<answer>x</answer>'\n")
    (folder / f"{name}.py").write_text(AGENT_SOURCE.format(helper=helper))
    return name


def test_module_class_is_found_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _write_agent(tmp_path)
    _without_cwd_on_path(monkeypatch, tmp_path)
    path_before = list(sys.path)
    agent = make_agent(f"{name}:Agent")
    assert agent.act({}) == "<answer>x</answer>"  # the neighbour import worked too
    assert sys.path == path_before, "sys.path is only extended during the import"
    with pytest.raises(ValueError, match=f"No module named 'nowhere_{name}'.*{tmp_path}"):
        resolve_agent(f"nowhere_{name}:Agent")


def test_file_paths_name_agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _write_agent(tmp_path / "sub" / "dir")
    _without_cwd_on_path(monkeypatch, tmp_path)
    path_before = list(sys.path)
    relative = resolve_agent(f"sub/dir/{name}.py:Agent")
    absolute = resolve_agent(f"{tmp_path}/sub/dir/{name}.py:Agent")
    assert relative is absolute and relative().act({}) == "<answer>x</answer>"
    assert sys.path == path_before
    with pytest.raises(ValueError, match="no such file"):
        resolve_agent("sub/missing.py:Agent")
    (tmp_path / "broken.py").write_text("def act(:\n")
    with pytest.raises(ValueError, match="cannot load agent.*broken.py"):
        resolve_agent("./broken.py:Agent")


def test_installed_modules_win_over_files_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "agents.py").write_text("class OracleAgent:\n    def act(self, observation):\n        return ''\n")
    _without_cwd_on_path(monkeypatch, tmp_path)
    assert resolve_agent("agents.oracle:OracleAgent") is OracleAgent
    assert resolve_agent("./agents.py:OracleAgent") is not OracleAgent  # the file, named explicitly


def _readme_section() -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    return readme.split("## Agents and benchmarking", 1)[1].split("\n## ", 1)[0]


@pytest.mark.slow
def test_the_readme_agent_example_runs_as_written(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    section = _readme_section()
    snippet = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    command = re.search(r"^(ramp-env evaluate --agent my_agents:\S+.*)$", section, re.MULTILINE)
    assert snippet and command, "README's 'Agents and benchmarking' lost its example"
    (tmp_path / "my_agents.py").write_text(snippet.group(1))
    args = shlex.split(command.group(1))
    # the README's command with fewer episodes on the test corpus
    args[args.index("--episodes") + 1] = "2"
    args[0] = shutil.which("ramp-env", path=str(Path(sys.executable).parent)) or "ramp-env"
    args += ["--corpus", str(wiki_sample), "--span-extractor", "rules", "--no-progress"]
    done = subprocess.run(
        args, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={"RAMP_ENV_CACHE": str(cache_dir), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    agent = command.group(1).split("--agent ", 1)[1].split()[0]
    # the provenance line ("Tasks: ... | reward: ...") comes first, the difficulty tables follow
    leaderboard = next(block for block in done.stdout.split("\n\n") if block.startswith("| agent"))
    rows = [line for line in leaderboard.splitlines() if line.startswith(f"| {agent} ")]
    masks = args[args.index("--num-masks") + 1 :]
    masks = masks[: next((i for i, a in enumerate(masks) if a.startswith("--")), len(masks))]
    assert len(rows) == len(masks), done.stdout


# -- only agent classes or registered factories, checked before anything is called (issue 22) --


@pytest.mark.parametrize("spec", ["os:system", "subprocess:run", "builtins:print", "shutil:rmtree", "os:remove"])
def test_functions_are_refused_before_they_are_called(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    module_name, _, attr = spec.partition(":")
    module = __import__(module_name)
    monkeypatch.setattr(module, attr, lambda *a, **k: calls.append((a, k)))
    with pytest.raises(ValueError, match="not an agent class"):
        make_agent(spec, kwargs={"command": "touch /tmp/pwned"})
    assert calls == []


def test_a_file_factory_is_refused_unrun(tmp_path: Path) -> None:
    marker = tmp_path / "called"
    (tmp_path / "evil.py").write_text(
        f"def make(**kwargs):\n    open({str(marker)!r}, 'w').close()\n    return None\n"
    )
    with pytest.raises(ValueError, match="not an agent class"):
        make_agent(f"{tmp_path / 'evil.py'}:make")
    assert not marker.exists()


def test_registered_factories_still_load() -> None:
    registered = registered_agents()
    assert resolve_agent("agent_pe") is resolve_agent(registered["agent_pe"])  # by name and by its registered value

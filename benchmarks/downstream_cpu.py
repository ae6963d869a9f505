"""Does RAMP pre-training help downstream QA on a CPU? Base vs RAMP-SFT SmolLM2-135M on FanoutQA dev.

Both models play ``MultiHopQA-v0`` (FanoutQA's dev set, the offline default) as greedy
``LLMAgent``s on the same questions (question ``i`` of the file for both: paired), with
the RAMP search tool. The scores are the paper's token recall of the gold answer, plus
F1 and exact match (``info["answer_metrics"]``). Per-model means get percentile-bootstrap
95% CIs and the SFT-minus-base difference a paired bootstrap CI (``scipy.stats.bootstrap``).

The RAMP-SFT model is ``--sft_model PATH`` (e.g. ``runs/cpu_learning/sft`` from
``benchmarks/cpu_learning.py``); without it, ``<work_dir>/sft`` is used, trained first with
``examples/sft_smollm2.py`` (the BM25 heuristic's RAMP trajectories -> SFT) when missing.

Questions are played in waves of ``batch`` for both models; after each wave the per-question
results go atomically to ``<out>.partial.json``, which a rerun with the same settings resumes.
``--max_minutes`` stops starting new waves after that long: the partial file then holds the
finished pairs and their summary, and the results file is not written. The results file is
written (atomically) only when every question is done, and the partial file is then deleted.

    nice -n 10 python benchmarks/downstream_cpu.py                      # 100 questions
    nice -n 10 python benchmarks/downstream_cpu.py --sft_model runs/cpu_learning/sft
    python benchmarks/downstream_cpu.py --quick                         # minutes: the pipeline, not a result
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from _common import check_output, machine, parse_hf_args, run_with_threads  # this folder's shared helpers (on sys.path)
from scipy import stats

from agents.llm import LLMAgent
from agents.llm.rollout import EpisodeSpec, play_episodes
from ramp_env.cache import atomic_write_json
from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.models import load_causal_lm
from ramp_env.qa.loaders import load_qa

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).parent / "results"
METRICS = ("recall", "f1", "em")
QUICK = {"questions": 4, "batch": 2, "max_new_tokens": 16, "bootstrap_resamples": 1000}
# examples/sft_smollm2.py arguments when this script trains its own RAMP-SFT model
# (small: one SFT step took ~3 min of wall time on the loaded 2-core machine; 4 steps taught
# SmolLM2 the action format in benchmarks/cpu_learning.py's quick run)
SFT_FULL = ["--train_episodes", "160", "--max_train_trajectories", "16", "--epochs", "1", "--batch_size", "4",
            "--learning_rate", "1e-4", "--eval_tasks", "1"]
SFT_QUICK = ["--train_episodes", "24", "--max_train_trajectories", "4", "--epochs", "1", "--batch_size", "2",
             "--eval_tasks", "1", "--max_new_tokens", "8"]


@dataclass
class Args:
    quick: bool = field(default=False, metadata={"help": (
        "CI-sized smoke run (see QUICK); writes runs/downstream_cpu_quick.json by default"
    )})
    out: str | None = field(
        default=None, metadata={"help": "the results file (default benchmarks/results/downstream_cpu.json)"}
    )
    work_dir: str | None = field(
        default=None, metadata={"help": "where the self-trained SFT model goes (default runs/downstream_cpu[_quick])"}
    )
    resume: bool = field(
        default=True, metadata={"help": "continue from <out>.partial.json written with the same settings"}
    )
    base_model: str | None = field(
        default=None, metadata={"help": "the base model; None: the offline SmolLM2-135M-Instruct"}
    )
    sft_model: str | None = field(
        default=None, metadata={"help": "a RAMP-SFT checkpoint folder; None: <work_dir>/sft, trained when missing"}
    )
    sft_train_file: str | None = field(
        default=None, metadata={"help": "RAMP trajectories (`ramp-env collect`) for the self-trained SFT model"}
    )
    dataset: str = field(default="fanoutqa-dev", metadata={"help": "the QA dataset: a QA file or fanoutqa-dev"})
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    cache_dir: str | None = field(
        default=None, metadata={"help": "where the prepared corpus is kept (default: RAMP_ENV_CACHE or the user cache)"}
    )
    questions: int = field(
        default=100, metadata={"help": "questions: the first N of the dataset, each played once by each model"}
    )
    max_searches: int = field(
        default=1, metadata={"help": "searches per episode, as in the RAMP SFT data (benchmarks/cpu_learning.py)"}
    )
    max_steps: int = field(default=2, metadata={"help": (
        "turns per episode: one search, then the answer (bounds the turns an untrained model wastes)"
    )})
    top_k: int = field(default=1, metadata={"help": "passages each search returns"})
    max_hit_chars: int = field(default=300, metadata={"help": "characters of each returned passage the agent sees"})
    max_new_tokens: int = field(default=24, metadata={"help": (
        "tokens per turn: \"<search>...</search>\" and short answers fit; an untrained model wastes the rest"
    )})
    batch: int = field(
        default=8, metadata={"help": "questions per batched generation wave (and partial-file checkpoint)"}
    )
    threads: int = field(default=1, metadata={"help": "torch threads: 1 is fastest on a shared 2-core CPU"})
    max_minutes: float | None = field(
        default=None, metadata={"help": "stop starting waves after this long (the partial file keeps the pairs)"}
    )
    bootstrap_resamples: int = field(
        default=10000, metadata={"help": "bootstrap resamples of each confidence interval"}
    )
    seed: int = field(default=0, metadata={"help": "seeds the bootstrap and the models' sampling"})

    def resolved(self) -> Args:
        """With ``quick``, the QUICK sizes replace the settings left at their defaults."""
        defaults = {f.name: f.default for f in fields(Args)}
        args = replace(self, **{k: v for k, v in QUICK.items() if getattr(self, k) == defaults[k]}) if self.quick else self
        suffix = "_quick" if self.quick else ""
        default_out = ROOT / "runs" / "downstream_cpu_quick.json" if self.quick else RESULTS_DIR / "downstream_cpu.json"
        return replace(args, out=args.out or str(default_out), work_dir=args.work_dir or str(ROOT / f"runs/downstream_cpu{suffix}"))


# -- statistics ---------------------------------------------------------------------------------


def bootstrap_mean_ci(values: Sequence[float], resamples: int, seed: int) -> list[float]:
    """Percentile-bootstrap 95% CI of the mean (of per-question scores, or of paired differences)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2 or np.all(data == data[0]):
        mean = float(data.mean()) if len(data) else 0.0
        return [mean, mean]
    result = stats.bootstrap(
        (data,), np.mean, n_resamples=resamples, confidence_level=0.95, method="percentile",
        rng=np.random.default_rng(seed),
    )
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def summarize(done: dict[str, dict[str, Any]], resamples: int, seed: int) -> dict[str, Any]:
    """Per-model means with CIs and the paired SFT-minus-base difference, per metric, over finished pairs."""
    keys = sorted(done, key=int)
    summary: dict[str, Any] = {"questions": len(keys), "models": {}, "sft_minus_base": {}}
    for model in ("base", "sft"):
        row: dict[str, Any] = {}
        for metric in METRICS:
            values = [done[k][model][metric] for k in keys]
            ci = bootstrap_mean_ci(values, resamples, seed)
            row[metric] = {"mean": round(float(np.mean(values)), 4) if values else 0.0, "ci95": [round(x, 4) for x in ci]}
        row["answered"] = round(float(np.mean([done[k][model]["answered"] for k in keys])), 4) if keys else 0.0
        summary["models"][model] = row
    for metric in METRICS:
        diff = np.asarray([done[k]["sft"][metric] - done[k]["base"][metric] for k in keys], dtype=np.float64)
        low, high = bootstrap_mean_ci(diff, resamples, seed)
        summary["sft_minus_base"][metric] = {
            "mean": round(float(diff.mean()), 4) if len(diff) else 0.0, "ci95": [round(low, 4), round(high, 4)],
            "excludes_zero": bool(low > 0 or high < 0), "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum()),
        }
    return summary


# -- models and episodes -----------------------------------------------------------------------


class KeepAnswerMetrics(gym.Wrapper):
    """Keeps the last ``info["answer_metrics"]`` (em/f1/recall of the final answer) of each episode."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.answer_metrics: dict[str, float] = {}
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if "answer_metrics" in info:
            self.answer_metrics = dict(info["answer_metrics"])
        return observation, reward, terminated, truncated, info


def make_env(args: Args) -> KeepAnswerMetrics:
    return KeepAnswerMetrics(MultiHopQAEnv(
        dataset=args.dataset, corpus=args.corpus, cache_dir=args.cache_dir, reward="recall",
        max_searches=args.max_searches, max_steps=args.max_steps, top_k=args.top_k, max_hit_chars=args.max_hit_chars, progress=False,
    ))


def ensure_sft_model(args: Args) -> str:
    """The RAMP-SFT checkpoint: ``--sft_model``, or ``<work_dir>/sft`` (trained with examples/sft_smollm2.py if missing)."""
    if args.sft_model is not None:
        if not (Path(args.sft_model) / "config.json").is_file():
            raise SystemExit(f"--sft_model {args.sft_model}: no model folder (config.json) there")
        return args.sft_model
    sft_dir = Path(str(args.work_dir)) / "sft"
    if (sft_dir / "config.json").is_file():
        print(f"using the RAMP-SFT model already in {sft_dir}")
        return str(sft_dir)
    command = [sys.executable, str(ROOT / "examples" / "sft_smollm2.py"), *(SFT_QUICK if args.quick else SFT_FULL),
               "--corpus", args.corpus, "--threads", str(args.threads), "--output_dir", str(sft_dir)]
    if args.base_model is not None:
        command += ["--model", args.base_model]
    if args.sft_train_file is not None:
        command += ["--train_file", args.sft_train_file]
    print("training the RAMP-SFT model:", " ".join(command), flush=True)
    env = dict(os.environ)
    if args.cache_dir is not None:
        env["RAMP_ENV_CACHE"] = args.cache_dir  # the child process's own environment, not ours
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    return str(sft_dir)


def play_wave(agent: LLMAgent, envs: list[KeepAnswerMetrics], indices: Sequence[int]) -> list[dict[str, Any]]:
    """Questions ``indices`` (one per env), played in lockstep; each question's metrics and answer."""
    specs = [EpisodeSpec(seed=None, options={"index": i}) for i in indices]
    episodes = play_episodes(agent, envs, specs)
    rows = []
    for env, episode in zip(envs, episodes):
        metrics = {m: float(env.answer_metrics.get(m, 0.0)) for m in METRICS}
        rows.append(metrics | {
            "answered": bool(episode.trajectory.terminated),
            "last_action": episode.trajectory.actions[-1][:200] if episode.trajectory.actions else "",
            "generated_tokens": episode.num_generated_tokens,
        })
    return rows


# -- the run ------------------------------------------------------------------------------------


def main(args: Args) -> dict[str, Any]:
    args = args.resolved()
    started = time.perf_counter()
    out = Path(str(args.out))
    partial_path = out.with_name(out.stem + ".partial.json")
    check_output(out)
    if args.questions < 1 or args.batch < 1:
        raise SystemExit("--questions and --batch must be >= 1")
    available = len(load_qa(args.dataset))
    if args.questions > available:
        raise SystemExit(f"--questions {args.questions}: {args.dataset} has only {available} questions")
    sft_model = ensure_sft_model(args)

    envs = [make_env(args) for _ in range(min(args.batch, args.questions))]
    settings = {f.name: getattr(args, f.name) for f in fields(args) if f.name not in ("out", "resume", "max_minutes")}
    settings["sft_model"] = sft_model
    state: dict[str, Any] = {"complete": False, "settings": settings, "done": {}, "seconds": 0.0}
    if args.resume and partial_path.is_file():
        previous = json.loads(partial_path.read_text())
        if previous.get("settings") == settings:
            state = previous
            print(f"resuming from {partial_path}: {len(state['done'])} questions done")
    state["machine_at_start"] = machine()
    done: dict[str, Any] = state["done"]

    torch.manual_seed(args.seed)
    agents = {}
    for name, source in (("base", args.base_model), ("sft", sft_model)):
        model, tokenizer = load_causal_lm(source)
        agents[name] = LLMAgent(model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens,
                                batch_size=args.batch, seed=args.seed)
    todo = [i for i in range(args.questions) if str(i) not in done]
    stopped_early = False
    for start in range(0, len(todo), len(envs)):
        if args.max_minutes is not None and time.perf_counter() - started > 60 * args.max_minutes:
            stopped_early = True
            break
        wave = todo[start : start + len(envs)]
        wave_started = time.perf_counter()
        rows = {name: play_wave(agent, envs[: len(wave)], wave) for name, agent in agents.items()}
        for j, index in enumerate(wave):
            question = envs[0].unwrapped.examples[index]
            done[str(index)] = {"id": question.id, "base": rows["base"][j], "sft": rows["sft"][j]}
        state["seconds"] = round(state["seconds"] + time.perf_counter() - wave_started, 1)
        state["machine_last"] = machine()
        state["summary"] = summarize(done, args.bootstrap_resamples, args.seed)
        atomic_write_json(partial_path, state)
        recall = state["summary"]["sft_minus_base"]["recall"]
        print(f"[{time.strftime('%H:%M:%S')}] {len(done)}/{args.questions} questions; recall sft-base "
              f"{recall['mean']:+.4f} {recall['ci95']}", flush=True)
    for env in envs:
        env.close()
    if stopped_early or len(done) < args.questions:
        kept = f"partial results in {partial_path}" if done else "nothing to keep"
        print(f"stopped after --max_minutes with {len(done)} of {args.questions} questions: {kept}; {out} not written")
        return state

    results = {
        "summary": summarize(done, args.bootstrap_resamples, args.seed),
        "score": "token recall of the final answer against the best gold alias (the paper's Table-2 metric); "
        "F1 and exact match alongside; 0 for an episode that never answered",
        "ci_method": f"percentile bootstrap, {args.bootstrap_resamples} resamples; the difference is paired "
        "by question (scipy.stats.bootstrap)",
        "settings": settings, "eval_seconds": state["seconds"],
        "machine_at_start": state["machine_at_start"], "machine_at_end": machine(),
        "per_question": done,
    }
    atomic_write_json(out, results)
    partial_path.unlink(missing_ok=True)
    print(json.dumps(results["summary"], indent=1))
    print(f"results written to {out}")
    return results


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_hf_args(Args, __doc__, argv)


if __name__ == "__main__":
    run_with_threads(main, parse_args())

"""Does an LLM learn RAMP on a CPU? BM25 trajectories -> SFT -> DAPO, scored with paired bootstrap CIs.

One script, four stages, every model scored on the same held-out tasks:

1. **Tasks.** On the default corpus the held-out tasks are the first ``eval_tasks``
   tasks of the frozen test set (``tasks="test"``, ``ramp_env.tasksets``); on another
   corpus, the first ``eval_tasks`` seeds ``episode_seed(eval_seed, num_masks, i)`` of
   ``split="test"`` with distinct passages (evidence-verified with ``require_evidence``).
   Every training env plays ``split="train"``, so no held-out passage, nor a near copy of
   one, is trained on or comes back from a training search: no hand-made exclusions.
2. **Teacher data.** The BM25 heuristic plays training seeds on ``split="train"``;
   episodes scoring at least ``min_score`` are the SFT data (rejection sampling), and
   training seeds whose answers the teacher reached are DAPO's task pool.
3. **SFT** of SmolLM2-135M-Instruct on those trajectories (``agents.training.sft``).
4. **DAPO** from the SFT model (``agents.training.dapo``), with its diagnostics
   per step: informative-group share, clip fractions, within-group reward std, KL to
   the SFT model.

Base, SFT and DAPO models (greedy ``LLMAgent``), the teacher and a **format-only
control** are scored on the held-out tasks. The control (``agents.closed_book.ClosedBookAgent``,
its corpus frequency prior, no language model) answers every task in the right format and
never searches: the base model answers none, so "SFT beats base" shows only that the format
was learned, and "SFT learned to search" is claimed only when SFT beats the control with a
paired interval above 0 (``targets.sft_above_format_control``). Differences are paired by
task and get percentile-bootstrap 95% CIs (``scipy.stats.bootstrap``). Results go to
``benchmarks/results/cpu_learning.json`` (written atomically at the end). Progress after each stage goes to a separate
``*.partial.json`` next to it, which a rerun resumes from (checkpoints live in
``--work_dir``); the partial file is deleted when the run completes. A stage is
reused when the settings it depends on (``STAGE_SETTINGS``) are unchanged, so a
variant that changes only DAPO's settings reruns only DAPO and its evaluation;
``--reuse_from`` seeds a variant from another run's progress or results file
(results files keep their ``stages``), and ``reused`` in the results names what
was taken from where.

    nice -n 10 python benchmarks/cpu_learning.py              # full run (95 min on a shared 2-core machine)
    python benchmarks/cpu_learning.py --quick                 # a few minutes: the pipeline, not a result
    python benchmarks/cpu_learning.py --dapo_pool unseen_reached \
        --reuse_from PROGRESS_OR_RESULTS.json --out benchmarks/results/cpu_learning_bf16_unseen.json
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from _common import check_output, machine, parse_hf_args, run_with_threads  # this folder's shared helpers (on sys.path)
from scipy import stats

from agents.bm25_heuristic import BM25HeuristicAgent
from agents.closed_book import ClosedBookAgent
from agents.llm import LLMAgent
from agents.llm.rollout import EpisodeSpec, evaluate_agent
from agents.training.checkpoint import save_pretrained_atomic
from agents.training.dapo import DAPOConfig, DAPOTrainer
from agents.training.precision import training_dtype
from agents.training.sft import SFTTrainConfig, train_sft
from ramp_env.cache import atomic_write_json
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.evaluation.runner import episode_seed, run_episode
from ramp_env.models import load_causal_lm
from ramp_env.tasksets import TEST_TASKS_VERSION, held_out_env_kwargs
from ramp_env.trajectories import RecordTrajectories, Trajectory, read_trajectories, write_trajectories

RESULTS_DIR = Path(__file__).parent / "results"
_TASK_INPUTS = ("model", "corpus", "span_extractor", "cache_dir", "num_masks", "max_searches", "top_k",
                "max_hit_chars", "eval_tasks", "eval_seed", "max_eval_candidates", "task_set")
_EVAL_INPUTS = ("max_new_tokens", "eval_batch")
_TEACHER_INPUTS = (*_TASK_INPUTS, "train_episodes", "train_seed", "min_score", "max_train_trajectories")
_SFT_INPUTS = (*_TEACHER_INPUTS, "sft_epochs", "sft_batch_size", "sft_learning_rate", "seed", "train_dtype")
_DAPO_INPUTS = (*_SFT_INPUTS, "dapo_steps", "dapo_pool", "group_size", "tasks_per_step", "max_sampling_rounds",
                "dapo_learning_rate", "updates_per_step", "overlong_filtering", "temperature", "max_new_tokens")
# stage -> the settings its result depends on (its own and every earlier stage's it builds on)
STAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "tasks": _TASK_INPUTS,
    "teacher_data": _TEACHER_INPUTS,
    "eval_base": (*_TASK_INPUTS, *_EVAL_INPUTS),
    "sft": _SFT_INPUTS,
    "eval_sft": (*_SFT_INPUTS, *_EVAL_INPUTS),
    "dapo": _DAPO_INPUTS,
    "eval_dapo": (*_DAPO_INPUTS, *_EVAL_INPUTS),
}
QUICK = {
    "eval_tasks": 8, "max_eval_candidates": 120, "train_episodes": 40, "max_train_trajectories": 8,
    "sft_epochs": 1.0, "dapo_steps": 1, "group_size": 2, "tasks_per_step": 1, "max_new_tokens": 24,
    "bootstrap_resamples": 1000, "eval_batch": 4,
}


@dataclass
class Args:
    quick: bool = field(default=False, metadata={"help": (
        "CI-sized smoke run (see QUICK); writes runs/cpu_learning_quick.json by default"
    )})
    out: str | None = field(
        default=None, metadata={"help": "the results file (default benchmarks/results/cpu_learning.json)"}
    )
    work_dir: str | None = field(
        default=None, metadata={"help": "where checkpoints and trajectories go (default runs/cpu_learning[_quick])"}
    )
    resume: bool = field(default=True, metadata={"help": (
        "reuse the stages the previous run (its *.partial.json) finished with the same inputs"
    )})
    reuse_from: str | None = field(
        default=None, metadata={"help": "another run's progress or results file to take unchanged stages from"}
    )
    model: str | None = field(
        default=None, metadata={"help": "the model to train; None: the offline SmolLM2-135M-Instruct"}
    )
    corpus: str = field(default="default", metadata={"help": "the search corpus: 'default' or a corpus file"})
    task_set: str = field(default="test", metadata={"help": (
        "on the default corpus, the frozen set the held-out tasks come from: 'test' (the shipped version, "
        "recorded as e.g. 'test-v2') or an earlier shipped one ('test-v1', the set older results name)")})
    span_extractor: str = field(
        default="auto", metadata={"help": "salient-span extractor of the env's masks and the teacher's candidates"}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "where the prepared corpus is kept (default: RAMP_ENV_CACHE or the user cache)"}
    )
    threads: int = field(default=1, metadata={"help": "torch threads: 1 is fastest on a shared 2-core CPU"})
    train_dtype: Literal["auto", "float32", "bfloat16"] = field(default="auto", metadata={"help": (
        "precision of training: \"bfloat16\": SFT and DAPO in mixed precision (float32 master weights, bf16 "
        "autocast; faster on CPUs with native bf16, AVX512/AMX); \"float32\"; \"auto\": bf16 where this CPU "
        "has native bf16, else float32 (emulated bf16 on an AVX2-only CPU made a step slower, "
        "benchmarks/results/train_dtype_speed.json). Evaluation always runs in float32."
    )})
    num_masks: int = field(default=1, metadata={"help": "masks per task"})
    max_searches: int = field(default=1, metadata={"help": "searches the agent may make per episode"})
    top_k: int = field(default=1, metadata={"help": "passages each search returns"})
    max_hit_chars: int = field(default=300, metadata={"help": "characters of each returned passage the agent sees"})
    max_new_tokens: int = field(default=32, metadata={"help": (
        "tokens per turn (the teacher's actions fit in 32; an untrained model wastes the rest)"
    )})
    eval_tasks: int = field(default=100, metadata={"help": "held-out tasks each model is scored on"})
    eval_seed: int = field(default=1000, metadata={"help": "first seed of the held-out task search"})
    max_eval_candidates: int = field(
        default=2000, metadata={"help": "seeds tried to find eval_tasks qualifying held-out tasks"}
    )
    eval_batch: int = field(default=8, metadata={"help": "episodes per batched evaluation wave"})
    train_episodes: int = field(default=1600, metadata={"help": "BM25 teacher episodes played for training data"})
    train_seed: int = field(default=0, metadata={"help": "first reset seed of the teacher's training episodes"})
    min_score: float = field(default=0.5, metadata={"help": "rejection sampling threshold for SFT data"})
    max_train_trajectories: int = field(default=480, metadata={"help": (
        "most kept episodes SFT trains on (160 gave SFT a quarter of the teacher's score, 480 half)"
    )})
    sft_epochs: float = field(default=2.0, metadata={"help": "SFT passes over the kept trajectories"})
    sft_batch_size: int = field(default=4, metadata={"help": "trajectories per SFT step"})
    sft_learning_rate: float = field(default=1e-4, metadata={"help": (
        "AdamW learning rate of SFT (taught SmolLM2 the action format in examples/sft_smollm2.py)"
    )})
    dapo_steps: int = field(default=12, metadata={"help": "DAPO steps after SFT (0: no DAPO stage, no DAPO row)"})
    dapo_pool: Literal["teacher_reached", "unseen_reached"] = field(default="teacher_reached", metadata={"help": (
        "DAPO's tasks: training seeds whose answer the teacher's search reached (\"teacher_reached\"), or those"
        " minus the passages of the SFT data (\"unseen_reached\": tasks SFT did not memorise)"
    )})
    group_size: int = field(default=4, metadata={"help": "DAPO episodes sampled per task (G)"})
    tasks_per_step: int = field(default=4, metadata={"help": "DAPO groups with reward variance per step"})
    max_sampling_rounds: int = field(
        default=3, metadata={"help": "DAPO dynamic sampling: rounds of new tasks a step may draw to fill its batch"}
    )
    dapo_learning_rate: float = field(default=1e-5, metadata={"help": "AdamW learning rate of DAPO"})
    updates_per_step: int = field(default=2, metadata={"help": "DAPO optimiser updates per rollout batch"})
    overlong_filtering: bool = field(
        default=True, metadata={"help": "mask episodes cut by a length limit out of the DAPO loss"}
    )
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature of the rollouts"})
    bootstrap_resamples: int = field(
        default=10000, metadata={"help": "bootstrap resamples of each confidence interval"}
    )
    seed: int = field(default=0, metadata={"help": "seeds sampling, task draws and data order"})
    held_out_source: str = field(default="frozen test set or test split; training on split='train'", metadata={"help": (
        "not a knob: names how held-out tasks are kept apart, so runs from before the passage split "
        "(hand-made exclusions) are never resumed or reused"
    )})

    def resolved(self) -> Args:
        """With ``quick``, the QUICK sizes replace the settings left at their defaults."""
        defaults = {f.name: f.default for f in fields(Args)}
        quick = {k: v for k, v in QUICK.items() if getattr(self, k) == defaults[k]}
        args = replace(self, **quick) if self.quick else self
        suffix = "_quick" if self.quick else ""
        default_out = Path("runs") / "cpu_learning_quick.json" if self.quick else RESULTS_DIR / "cpu_learning.json"
        # settings record the dtype used, not "auto", and the task set's version, not "test": a run on
        # test-v1 must not lend its stages to a run on test-v2
        task_set = args.task_set if args.task_set != "test" else f"test-v{TEST_TASKS_VERSION}"
        return replace(args, out=args.out or str(default_out), work_dir=args.work_dir or f"runs/cpu_learning{suffix}",
                       train_dtype=training_dtype(args.train_dtype),
                       task_set=task_set if str(args.corpus) == "default" else "")


# -- statistics ---------------------------------------------------------------------------------


def bootstrap_mean_ci(values: Sequence[float], resamples: int, seed: int) -> list[float]:
    """Percentile-bootstrap 95% CI of the mean (of per-task scores, or of paired per-task differences)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2 or np.all(data == data[0]):
        return [float(data.mean()), float(data.mean())] if len(data) else [0.0, 0.0]
    result = stats.bootstrap(
        (data,), np.mean, n_resamples=resamples, confidence_level=0.95, method="percentile",
        rng=np.random.default_rng(seed),
    )
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def paired_difference(a: Sequence[float], b: Sequence[float], resamples: int, seed: int) -> dict[str, Any]:
    """Mean of ``a - b`` over the same tasks with its paired bootstrap 95% CI, and whether it excludes 0."""
    if len(a) != len(b):
        raise ValueError(f"paired scores need the same tasks: {len(a)} vs {len(b)}")
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    low, high = bootstrap_mean_ci(diff, resamples, seed)
    return {
        "mean": round(float(diff.mean()), 4), "ci95": [round(low, 4), round(high, 4)],
        "excludes_zero": bool(low > 0 or high < 0), "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum()),
    }


# -- environment and tasks ----------------------------------------------------------------------


def supports_require_evidence() -> bool:
    # since issue 25 the env's options are the fields of its config class, not __init__ keywords
    config = getattr(RAMPEnv, "config_class", None)
    if config is not None:
        return "require_evidence" in {f.name for f in fields(config)}
    return "require_evidence" in inspect.signature(RAMPEnv.__init__).parameters


def make_env(args: Args, held_out: bool = False, **overrides: Any) -> RAMPEnv:
    """A training env (``split="train"``), or with ``held_out`` the env of the held-out tasks
    (``overrides``, e.g. ``split="test"``, replace either)."""
    kwargs: dict[str, Any] = {
        "corpus": args.corpus, "num_masks": args.num_masks, "max_searches": args.max_searches, "top_k": args.top_k,
        "max_hit_chars": args.max_hit_chars, "cache_dir": args.cache_dir, "span_extractor": args.span_extractor,
        "progress": False, **(held_out_env_kwargs(args.corpus) if held_out else {"split": "train"}), **overrides,
    }
    if "tasks" in kwargs and args.task_set:
        kwargs["tasks"] = args.task_set
    if supports_require_evidence():
        # the bool spelling of older checkouts; "all" since issue 25 (the bool still works, with a warning)
        kwargs["require_evidence"] = "all" if hasattr(RAMPEnv, "config_class") else True
    return RAMPEnv(**kwargs)


def teacher_episode(
    env: RecordTrajectories, teacher: BM25HeuristicAgent, seed: int, num_masks: int, episode: int | None = None
) -> tuple[Trajectory, bool]:
    """The BM25 heuristic's episode on one seed (frozen task ``episode`` on a frozen-set env), and whether
    its search results contain every gold answer."""
    run_episode(env, teacher, seed, num_masks, episode)
    (trajectory,) = env.pop_trajectories()
    results = " ".join(trajectory.tool_results).lower()
    reached = bool(trajectory.answers) and all(a.lower() in results for a in trajectory.answers)
    return trajectory, reached


def held_out_tasks(args: Args, env: RecordTrajectories, teacher: BM25HeuristicAgent) -> dict[str, Any]:
    """The held-out tasks (the frozen set's first ``eval_tasks``, else the first qualifying test-split
    seeds with distinct passages), the teacher's scores on them and the format-only control's."""
    evidence = supports_require_evidence()
    task_set = env.unwrapped.task_set
    seeds: list[int] = []
    task_ids: list[str] = []
    task_indices: list[int] = []
    teacher_scores: list[float] = []
    tried = 0
    for i in range(args.max_eval_candidates):
        if len(seeds) >= args.eval_tasks or (task_set is not None and i >= len(task_set.for_masks(args.num_masks))):
            break
        tried += 1
        seed = episode_seed(args.eval_seed, args.num_masks, i)
        trajectory, reached = teacher_episode(env, teacher, seed, args.num_masks, i if task_set else None)
        if task_set is None and (trajectory.task_id in task_ids or not (evidence or reached)):
            continue
        seeds.append(seed)
        task_ids.append(trajectory.task_id)
        task_indices.append(i)
        teacher_scores.append(trajectory.score)
    control = ClosedBookAgent(env)  # answers from a corpus frequency prior, never searches
    control_scores = []
    for seed, i in zip(seeds, task_indices, strict=True):
        run_episode(env, control, seed, args.num_masks, i if task_set else None)
        (played,) = env.pop_trajectories()
        if not played.terminated:  # the control's point is "always answers in the right format"
            raise SystemExit(f"the format-only control did not answer task {played.task_id!r}")
        control_scores.append(round(played.score, 4))
    if len(seeds) < args.eval_tasks:
        raise SystemExit(f"only {len(seeds)} of {args.eval_tasks} held-out tasks qualified in {tried} seeds: "
                         "raise --max_eval_candidates")
    if task_set is not None:
        task_filter = f"the frozen test set {task_set.label} (sha256 {task_set.sha256[:12]}), first {len(seeds)} tasks"
    elif evidence:
        task_filter = "split='test', require_evidence=True (evidence-verified tasks)"
    else:
        task_filter = "split='test', gold answers in the BM25 heuristic's search results"
    return {
        "task_filter": task_filter, "task_set": task_set.provenance() if task_set is not None else None,
        "seeds": seeds, "task_ids": task_ids, "task_indices": task_indices if task_set is not None else None,
        "teacher_scores": teacher_scores, "control_scores": control_scores, "seeds_tried": tried,
        "reward": env.unwrapped.config.reward if isinstance(env.unwrapped.config.reward, str) else "custom",
    }


def teacher_data(args: Args, env: RecordTrajectories, teacher: BM25HeuristicAgent, path: Path) -> dict[str, Any]:
    """BM25 episodes on training seeds (``split="train"``): SFT trajectories (score >= min_score) and
    DAPO's reachable task seeds."""
    kept: list[Trajectory] = []
    reachable: list[int] = []
    scores: list[float] = []
    for i in range(args.train_episodes):
        seed = episode_seed(args.train_seed, args.num_masks, i)
        trajectory, reached = teacher_episode(env, teacher, seed, args.num_masks)
        scores.append(trajectory.score)
        if reached:
            reachable.append(seed)
        if trajectory.terminated and trajectory.score >= args.min_score and len(kept) < args.max_train_trajectories:
            kept.append(trajectory)
    if not kept:
        raise SystemExit("no teacher episode passed the filter: lower --min_score or raise --train_episodes")
    write_trajectories(path, kept)
    return {
        "episodes": len(scores), "teacher_mean_score": round(float(np.mean(scores)), 4),
        "sft_trajectories": len(kept), "dapo_task_seeds": reachable, "trajectories_file": str(path),
    }


def unseen_seeds(args: Args, seeds: Sequence[int], seen_passages: set[str]) -> list[int]:
    """The seeds whose task's passage is not in ``seen_passages`` (the SFT data's)."""
    env = make_env(args)  # reset as DAPOTrainer resets: same seed, same task
    unseen = [s for s in seeds if env.reset(seed=s)[1]["task_id"] not in seen_passages]
    env.close()
    if not unseen:
        raise SystemExit("--dapo_pool unseen_reached: every teacher-reached task is in the SFT data; "
                         "raise --train_episodes or use --dapo_pool teacher_reached")
    return unseen


# -- evaluation ---------------------------------------------------------------------------------


def task_specs(args: Args, tasks: dict[str, Any]) -> list[EpisodeSpec]:
    """The episodes of a held-out task list: seeds, plus frozen task indices when it has them."""
    indices = tasks.get("task_indices") or [None] * len(tasks["seeds"])
    return [
        EpisodeSpec(seed=s, options={"num_masks": args.num_masks, **({} if i is None else {"task_index": i})})
        for s, i in zip(tasks["seeds"], indices, strict=True)
    ]


def evaluate_model(model: Any, tokenizer: Any, args: Args, envs: list[RAMPEnv], tasks: dict[str, Any]) -> dict[str, Any]:
    """Greedy ``LLMAgent`` on the held-out tasks: per-task scores (in ``tasks["seeds"]`` order) and summaries."""
    agent = LLMAgent(model=model, tokenizer=tokenizer, max_new_tokens=args.max_new_tokens, batch_size=args.eval_batch)
    specs = task_specs(args, tasks)
    started = time.perf_counter()
    _, episodes = evaluate_agent(agent, envs, specs)
    seconds = time.perf_counter() - started
    tokens = sum(e.num_generated_tokens for e in episodes)
    return {
        "scores": [round(e.trajectory.score, 4) for e in episodes],
        "answered": round(float(np.mean([e.trajectory.terminated for e in episodes])), 4),
        "reward": round(float(np.mean([e.trajectory.total_reward for e in episodes])), 4),
        "generated_tokens_per_second": round(tokens / max(seconds, 1e-9), 2),
        "seconds": round(seconds, 1),
        "example_action": episodes[0].trajectory.actions[0][:160] if episodes else "",
    }


# -- the run ------------------------------------------------------------------------------------


def recorded_task_set(held_out: dict[str, Any]) -> str:
    """The frozen set a run's held-out tasks name ("" for tasks drawn by seed): how a run from before
    ``--task_set`` says which set it played."""
    provenance = held_out.get("task_set")
    return provenance.get("task_set", "") if isinstance(provenance, dict) else ""


def reusable_stages(previous: Any, settings: dict[str, Any]) -> list[str]:
    """The stages of an earlier run's state whose inputs (``STAGE_SETTINGS``) equal ``settings``."""
    if not isinstance(previous, dict) or not isinstance(previous.get("stages"), dict):
        return []
    # a setting added after the earlier run was made had its default value there
    defaults = {f.name: f.default for f in fields(Args)}
    before = {**defaults, **(previous.get("settings") or {})}
    if "task_set" not in (previous.get("settings") or {}):
        # a run from before the option played the frozen set its tasks stage names (none on another corpus)
        before["task_set"] = recorded_task_set(previous["stages"].get("tasks") or {})
    if (previous.get("settings") or {}).get("held_out_source") != settings.get("held_out_source"):
        return []  # a run from before the passage split (its held-out tasks were excluded by hand)
    return [
        name for name, inputs in STAGE_SETTINGS.items()
        if name in previous["stages"] and all(before.get(k) == settings.get(k) for k in inputs)
    ]


def check_stage(source: Path, name: str, value: Any, eval_tasks: int) -> None:
    """Refuse a reused stage that is not shaped like one (a hand-edited or foreign file)."""
    keys = {"tasks": ("seeds", "task_ids", "teacher_scores"), "eval_base": ("scores",), "eval_sft": ("scores",),
            "eval_dapo": ("scores",)}.get(name, ())
    if not isinstance(value, dict) or any(
        not isinstance(value.get(k), list) or len(value[k]) != eval_tasks for k in keys
    ):
        raise SystemExit(f"{source}: stage {name!r} is malformed (expected {', '.join(keys) or 'an object'}"
                         f"{' with ' + str(eval_tasks) + ' entries' if keys else ''}); remove it or rerun without it")


def main(args: Args) -> dict[str, Any]:
    args = args.resolved()
    out, work = Path(str(args.out)), Path(str(args.work_dir))
    partial_path = out.with_name(out.stem + ".partial.json")
    check_output(out)
    work.mkdir(parents=True, exist_ok=True)
    settings = {f.name: getattr(args, f.name) for f in fields(args) if f.name not in ("out", "resume", "reuse_from")}
    state: dict[str, Any] = {"complete": False, "settings": settings, "stages": {}, "stage_seconds": {}}
    sources = ([partial_path] if args.resume else []) + ([Path(args.reuse_from)] if args.reuse_from else [])
    for source in sources:
        if not source.is_file():
            if source != partial_path:
                raise SystemExit(f"--reuse_from {source}: no such file")
            continue
        try:
            previous = json.loads(source.read_text())
        except ValueError as exc:  # written atomically, so only a hand-edited file gets here
            print(f"ignoring unreadable progress file {source}: {exc}")
            continue
        reused = reusable_stages(previous, settings)
        for name in reused:
            check_stage(source, name, previous["stages"][name], args.eval_tasks)
            if name not in state["stages"]:
                state["stages"][name] = previous["stages"][name]
                if name in (previous.get("stage_seconds") or {}):
                    state["stage_seconds"][name] = previous["stage_seconds"][name]
                state.setdefault("reused", {})[name] = str(source)
        if reused:
            print(f"reusing from {source}: stages {reused}")
    state["machine_at_start"] = machine()
    stages = state["stages"]

    def finish_stage(name: str, value: Any, started: float) -> None:
        stages[name] = value
        state["stage_seconds"][name] = round(time.perf_counter() - started, 1)
        state["machine_last"] = machine()
        atomic_write_json(partial_path, state)
        print(f"[{time.strftime('%H:%M:%S')}] {name} done in {state['stage_seconds'][name]} s")

    torch.manual_seed(args.seed)
    recorder = RecordTrajectories(make_env(args), agent="bm25")  # split="train"
    # the env's span extractor, so the teacher's candidates are shaped like its masks
    teacher = BM25HeuristicAgent(span_extractor=args.span_extractor)
    if "tasks" not in stages:
        started = time.perf_counter()
        held_out_env = RecordTrajectories(make_env(args, held_out=True), agent="bm25")
        finish_stage("tasks", held_out_tasks(args, held_out_env, teacher), started)
    tasks = stages["tasks"]
    if "teacher_data" not in stages:
        started = time.perf_counter()
        trajectories_file = work / "sft_trajectories.jsonl"
        finish_stage("teacher_data", teacher_data(args, recorder, teacher, trajectories_file), started)
    data = stages["teacher_data"]
    envs = [make_env(args, held_out=True) for _ in range(min(args.eval_batch, args.eval_tasks))]

    model, tokenizer = load_causal_lm(args.model)
    if "eval_base" not in stages:
        started = time.perf_counter()
        finish_stage("eval_base", evaluate_model(model, tokenizer, args, envs, tasks), started)

    sft_dir = work / "sft"
    if "sft" not in stages or not (sft_dir / "config.json").is_file():
        started = time.perf_counter()
        trajectories = read_trajectories(data["trajectories_file"])
        metrics = train_sft(model, tokenizer, trajectories, SFTTrainConfig(
            num_epochs=args.sft_epochs, batch_size=args.sft_batch_size, learning_rate=args.sft_learning_rate,
            seed=args.seed, logging_steps=5, bf16=args.train_dtype == "bfloat16",
        ))
        save_pretrained_atomic(model, tokenizer, sft_dir)
        metrics["log_history"] = [h for h in metrics["log_history"] if "loss" in h or "train_loss" in h]
        stages.pop("eval_sft", None)
        stages.pop("dapo", None)
        finish_stage("sft", metrics, started)
    if "eval_sft" not in stages:
        model, tokenizer = load_causal_lm(str(sft_dir))
        started = time.perf_counter()
        finish_stage("eval_sft", evaluate_model(model, tokenizer, args, envs, tasks), started)

    dapo_dir = work / f"dapo_{out.stem}"  # one per results file: a variant keeps the main run's model
    if args.dapo_steps > 0 and ("dapo" not in stages or not (dapo_dir / "config.json").is_file()):
        started = time.perf_counter()
        pool = data["dapo_task_seeds"]
        if args.dapo_pool == "unseen_reached":
            pool = unseen_seeds(args, pool, {t.task_id for t in read_trajectories(data["trajectories_file"])})
        # a bf16-loaded model trains on float32 master weights, rollouts and forwards under autocast
        model, tokenizer = load_causal_lm(str(sft_dir), dtype=args.train_dtype)
        reference, _ = load_causal_lm(str(sft_dir), dtype=args.train_dtype)
        trainer = DAPOTrainer(
            model, tokenizer, lambda: make_env(args),
            DAPOConfig(
                group_size=args.group_size, tasks_per_step=args.tasks_per_step,
                max_sampling_rounds=args.max_sampling_rounds, learning_rate=args.dapo_learning_rate,
                updates_per_step=args.updates_per_step, overlong_filtering=args.overlong_filtering,
                temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed,
            ),
            task_seeds=pool or None,
            reference_model=reference,
        )
        history = []
        for _ in range(args.dapo_steps):
            metrics = trainer.step()
            history.append({k: round(v, 5) for k, v in metrics.items()})
            print("dapo step", json.dumps(history[-1]))
            state["dapo_in_progress"] = history
            atomic_write_json(partial_path, state)
        save_pretrained_atomic(model, tokenizer, dapo_dir)
        del reference
        state.pop("dapo_in_progress", None)
        stages.pop("eval_dapo", None)
        finish_stage("dapo", {"history": history, "config": trainer.config_dict(), "task_pool": len(pool),
                              "kept_groups_log": trainer.kept_groups_log}, started)
    if args.dapo_steps > 0 and "eval_dapo" not in stages:
        model, tokenizer = load_causal_lm(str(dapo_dir))
        started = time.perf_counter()
        finish_stage("eval_dapo", evaluate_model(model, tokenizer, args, envs, tasks), started)

    results = summarize(args, state)
    atomic_write_json(out, results)
    partial_path.unlink(missing_ok=True)
    print(json.dumps(results["summary"], indent=1))
    print(f"results written to {out}")
    return results


def dapo_diagnostics(history: list[dict[str, float]]) -> dict[str, Any]:
    """DAPO's per-step diagnostics, averaged over its steps, and its group counts."""
    diagnostics: dict[str, Any] = {
        key: round(float(np.mean([h[key] for h in history if key in h])), 4) if history else None
        for key in ("informative_share", "batch_fill", "clip_low_frac", "clip_high_frac", "reward_std_within_group",
                    "kl_to_reference", "truncated_episodes", "grad_norm")
    }
    diagnostics["groups_sampled_total"] = int(sum(h["groups_sampled"] for h in history))
    diagnostics["groups_kept_total"] = int(sum(h["groups_kept"] for h in history))
    return diagnostics


def summarize(args: Args, state: dict[str, Any]) -> dict[str, Any]:
    """The results file: per-model means with CIs, paired differences, DAPO diagnostics, per-task scores."""
    stages = state["stages"]
    dapo = args.dapo_steps > 0  # --dapo_steps 0: base, SFT, teacher and control only
    trained = ("base", "sft", "dapo") if dapo else ("base", "sft")
    scores = {name: stages[f"eval_{name}"]["scores"] for name in trained} | {"teacher": stages["tasks"]["teacher_scores"]}
    if "control_scores" in stages["tasks"]:  # runs made before the control was added have none
        scores["format_control"] = stages["tasks"]["control_scores"]
    r, seed = args.bootstrap_resamples, args.seed
    models = {
        name: {"mean": round(float(np.mean(v)), 4), "ci95": [round(x, 4) for x in bootstrap_mean_ci(v, r, seed)]}
        for name, v in scores.items()
    }
    for name in trained:
        models[name].update({k: stages[f"eval_{name}"][k] for k in ("answered", "reward", "example_action",
                                                                    "generated_tokens_per_second")})
    differences = {
        "sft_minus_base": paired_difference(scores["sft"], scores["base"], r, seed),
        "teacher_minus_sft": paired_difference(scores["teacher"], scores["sft"], r, seed),
        "sft_minus_half_teacher": paired_difference(scores["sft"], [0.5 * t for t in scores["teacher"]], r, seed),
    }
    if dapo:
        differences["dapo_minus_sft"] = paired_difference(scores["dapo"], scores["sft"], r, seed)
        differences["dapo_minus_base"] = paired_difference(scores["dapo"], scores["base"], r, seed)
    targets = {
        "sft_above_base": differences["sft_minus_base"]["excludes_zero"] and differences["sft_minus_base"]["mean"] > 0,
        "sft_at_least_half_teacher": differences["sft_minus_half_teacher"]["mean"] >= 0,
    }
    if dapo:
        diff = differences["dapo_minus_sft"]
        targets["dapo_above_sft"] = diff["excludes_zero"] and diff["mean"] > 0
    if "format_control" in scores:
        for name in trained[1:]:
            diff = differences[f"{name}_minus_format_control"] = paired_difference(
                scores[name], scores["format_control"], r, seed)
            # "learned to search" needs more than the answer format: a paired interval above the control
            targets[f"{name}_above_format_control"] = diff["excludes_zero"] and diff["mean"] > 0
    settings = state["settings"]
    budget = {"max_searches": settings["max_searches"], "top_k": settings["top_k"],
              "max_hit_chars": settings["max_hit_chars"], "max_new_tokens": settings["max_new_tokens"]}
    diagnostics = dapo_diagnostics(stages["dapo"]["history"]) if dapo else None
    pool = len(stages["teacher_data"]["dapo_task_seeds"])  # runs made before "task_pool" was recorded
    return {
        "summary": {
            "held_out_tasks": len(scores["base"]), "task_filter": stages["tasks"]["task_filter"],
            "models": models, "paired_differences": differences, "dapo_diagnostics": diagnostics,
            "targets": targets,
            # the reduced budget every model played under (the paper's agents search more, see more, say more)
            "budget": budget,
        },
        "score": (f"mean per-mask score of the env's {stages['tasks'].get('reward', 'recall')!r} reward, "
                  "without format penalties"),
        "ci_method": f"percentile bootstrap, {r} resamples, paired by held-out task (scipy.stats.bootstrap)",
        "settings": state["settings"], "stage_seconds": state["stage_seconds"],
        "total_seconds": round(sum(state["stage_seconds"].values()), 1),
        "machine_at_start": state["machine_at_start"], "machine_at_end": machine(),
        "held_out": {k: stages["tasks"].get(k) for k in ("seeds", "task_ids", "seeds_tried", "task_indices", "task_set")},
        "per_task_scores": scores,
        "teacher_data": {k: v for k, v in stages["teacher_data"].items() if k != "dapo_task_seeds"}
        | {"dapo_task_pool": stages["dapo"].get("task_pool", pool) if dapo else pool},
        "sft": {k: v for k, v in stages["sft"].items()},
        "dapo": stages["dapo"] if dapo else None,
        "reused": state.get("reused", {}),
        "stages": stages,  # what --reuse_from takes a variant's unchanged stages from
    }


def parse_args(argv: list[str] | None = None) -> Args:
    return parse_hf_args(Args, __doc__, argv)


if __name__ == "__main__":
    run_with_threads(main, parse_args())

"""Self-evolving distillation (MaskSearch, section 3.3): teacher -> judge -> SFT student -> next teacher.

Each round:

1. the current teacher plays ``tasks_per_round`` RAMP tasks (new seeds every round);
   round 1's teacher is the multi-agent pipeline over an LLM backend (or any agent);
2. the judge keeps the trajectories whose final answers are correct;
3. a student (the base model again, or the previous student) is fine-tuned on the
   kept trajectories (all rounds' so far with ``accumulate``) with
   :func:`agents.training.sft.train_sft`;
4. the student, as an ``LLMAgent`` sampling at ``temperature``, is the next round's teacher.

Diversity of the kept trajectories is measured every round and printed
(:mod:`agents.synthesis.diversity`), because diversity collapse (a student
that imitates itself into repeating the same queries) is the known failure.

Everything lands in ``out_dir``::

    config.json                  the DistillConfig (a resumed run must match it)
    round_1/trajectories.jsonl   every trajectory of the round, judge verdict in metadata
    round_1/kept.jsonl           the ones the judge kept (the round's training data)
    round_1/student/             the fine-tuned student (safetensors + tokenizer)
    round_1/report.json          counts, scores, diversity, training metrics
    summary.json                 all round reports

Files are written through a temporary file and a rename; a round whose
``report.json`` exists is complete, so a run killed mid-way resumes at the first
unfinished round.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

import ramp_env  # noqa: F401  (registers the env ids gym.make builds)
from agents.synthesis.backends import make_backend
from agents.synthesis.diversity import DiversityReport, search_queries, trajectory_diversity
from agents.synthesis.judge import AnswerJudge, LLMAnswerJudge
from agents.synthesis.teachers import AgentTeacher, Teacher
from agents.training.sft import SFTTrainConfig
from ramp_env.cache import atomic_write_json
from ramp_env.errors import InvalidOptionError
from ramp_env.trajectories import Trajectory, read_trajectories, write_trajectories

# fields that may change when a run is resumed (more rounds, another place to print to)
_RESUMABLE_CHANGES = ("rounds", "progress")


def make_judge(spec: str, threshold: float = 1.0) -> AnswerJudge:
    """The judge a distillation config names: ``"llm"``/``"llm:<backend>"`` is an LLM's verdict, anything
    else a reward (:class:`AnswerJudge`). Made before any round starts, so a bad spec fails first."""
    if spec == "llm" or spec.startswith("llm:"):
        return LLMAnswerJudge(make_backend(spec.partition(":")[2] or None))
    return AnswerJudge(spec, threshold)


@dataclass
class DistillConfig:
    """Settings of :func:`distill`.

    Attributes:
        out_dir: where rounds are written (see the module docs).
        rounds: teacher -> student rounds.
        tasks_per_round: tasks the teacher plays each round.
        num_masks: mask counts, used in turn.
        seed: seeds tasks (round ``r`` uses ``seed + r``), sampling and training.
        teacher: round 1's teacher: ``"smollm2"`` (multi-agent pipeline on the offline model), a model
            path or hub id, ``"http://host/v1|model"`` (an OpenAI-compatible server), or ``"agent:NAME"``
            (a registered agent, e.g. ``agent:bm25``).
        student: the student's base model (``None``: the offline SmolLM2-135M-Instruct).
        student_init: ``"base"`` (each round fine-tunes a fresh copy of the base model) or
            ``"previous"`` (continue from the last student).
        accumulate: train on the kept trajectories of all rounds so far (else this round's only).
        judge: reward the judge scores masks with (``"em"``, ``"f1"``, ``"judge_llm"``, ...), or
            ``"llm"`` / ``"llm:<backend>"`` for the paper's judge: an LLM's CORRECT/INCORRECT verdict
            per mask (:class:`~agents.synthesis.judge.LLMAnswerJudge`; the backend is anything
            :func:`~agents.synthesis.backends.make_backend` accepts, e.g. ``"llm:http://host/v1|model"``;
            ``judge_threshold`` does not apply).
        judge_threshold: per-mask score a trajectory needs on every mask to be kept.
        concurrency: envs played in lockstep (batched generation).
        temperature, max_new_tokens, max_context_tokens: the student-teacher's sampling.
        device: torch device of the student.
        env_id, env_kwargs: the environment (RAMP-v0 over the default corpus by default).
        sft: the :class:`~agents.training.sft.SFTTrainConfig` of every round.
    """

    out_dir: str
    rounds: int = 2
    tasks_per_round: int = 32
    num_masks: tuple[int, ...] = (1,)
    seed: int = 0
    teacher: str = "smollm2"
    student: str | None = None
    student_init: str = "base"
    accumulate: bool = True
    judge: str = "em"
    judge_threshold: float = 1.0
    concurrency: int = 4
    temperature: float = 0.7
    max_new_tokens: int = 96
    max_context_tokens: int = 2048
    device: str = "cpu"
    env_id: str = "RAMP-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    sft: SFTTrainConfig = field(default_factory=lambda: SFTTrainConfig(num_epochs=1.0, batch_size=2))
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.sft, dict):
            self.sft = SFTTrainConfig(**self.sft)
        self.num_masks = tuple(int(k) for k in self.num_masks)
        if self.rounds < 1 or self.tasks_per_round < 1 or self.concurrency < 1:
            raise InvalidOptionError("rounds, tasks_per_round and concurrency must be >= 1")
        if self.student_init not in ("base", "previous"):
            raise InvalidOptionError(f"student_init must be 'base' or 'previous', got {self.student_init!r}")
        if not self.num_masks or min(self.num_masks) < 1:
            raise InvalidOptionError(f"num_masks must be positive mask counts, got {self.num_masks}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RoundReport:
    round: int
    teacher: str
    tasks: int
    kept: int
    mean_score: float  # mean per-mask score of all the teacher's trajectories (env reward)
    diversity: DiversityReport  # of the kept trajectories (the training data)
    diversity_all: DiversityReport  # of everything the teacher produced
    trained: bool
    train: dict[str, Any]
    seconds: float

    @property
    def keep_rate(self) -> float:
        return self.kept / self.tasks if self.tasks else 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["keep_rate"] = self.keep_rate
        out["diversity"] = self.diversity.to_json()
        out["diversity_all"] = self.diversity_all.to_json()
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RoundReport:
        fields = {k: v for k, v in obj.items() if k != "keep_rate"}
        fields["diversity"] = DiversityReport(**fields["diversity"])
        fields["diversity_all"] = DiversityReport(**fields["diversity_all"])
        return cls(**fields)

    def summary(self) -> str:
        train = (
            f"student trained: loss {self.train.get('train_loss', float('nan')):.3f}, "
            f"{self.train.get('steps', 0)} steps on {self.train.get('examples', 0)} trajectories"
            if self.trained else "student not trained (no kept trajectory yet)"
        )
        return (
            f"round {self.round} [{self.teacher}]: kept {self.kept}/{self.tasks} ({self.keep_rate:.2f}), "
            f"mean score {self.mean_score:.3f}\n  diversity (kept): {self.diversity.summary()}\n"
            f"  diversity (all): {self.diversity_all.summary()}\n  {train}"
        )


def make_first_teacher(spec: str, envs: Sequence[gym.Env], config: DistillConfig) -> Teacher:
    """Round 1's teacher from :attr:`DistillConfig.teacher`."""
    if spec.startswith("agent:"):
        from ramp_env.evaluation.agent_loading import make_agent

        name = spec.split(":", 1)[1]
        return AgentTeacher(make_agent(name, env=envs[0], kwargs={}), name)
    from agents.synthesis.backends import make_backend
    from agents.synthesis.pipeline import MultiAgentTeacher

    kwargs: dict[str, Any] = {"seed": config.seed}
    if not spec.startswith(("http://", "https://")):
        kwargs.update(device=config.device, batch_size=config.concurrency)
    return MultiAgentTeacher(make_backend(spec, **kwargs))


def _check_resumable(out: Path, config: DistillConfig) -> None:
    path = out / "config.json"
    if not path.is_file():
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    current = json.loads(json.dumps(config.to_json()))  # tuples -> lists, as saved
    changed = sorted(k for k in set(saved) | set(current) if k not in _RESUMABLE_CHANGES and saved.get(k) != current.get(k))
    if changed:
        raise InvalidOptionError(f"{out} holds a distillation run with other settings ({', '.join(changed)}); "
                         "use another --out or the same settings to resume")


def distill(
    config: DistillConfig,
    teacher: Teacher | None = None,
    make_env: Callable[[], gym.Env] | None = None,
    log: Callable[[str], None] = print,
) -> list[RoundReport]:
    """Run the rounds of :class:`DistillConfig` (resuming finished ones); return every round's report.

    Args:
        config: the settings.
        teacher: round 1's teacher (overrides ``config.teacher``), e.g. a
            :class:`~agents.synthesis.pipeline.MultiAgentTeacher` over a custom backend.
        make_env: builds one env (default ``gym.make(config.env_id, **config.env_kwargs)``).
        log: where round summaries are printed.
    """
    from agents.rng import seeded_torch  # imports torch: kept out of this light module's import

    # LLM sampling and TRL's Trainer reseed global generators; the caller's are restored afterwards
    with seeded_torch(config.seed):
        return _distill(config, teacher, make_env, log)


def _distill(
    config: DistillConfig,
    teacher: Teacher | None,
    make_env: Callable[[], gym.Env] | None,
    log: Callable[[str], None],
) -> list[RoundReport]:
    out = Path(config.out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    _check_resumable(out, config)
    atomic_write_json(out / "config.json", config.to_json())
    make_env = make_env or (lambda: gym.make(config.env_id, **config.env_kwargs))
    envs = [make_env() for _ in range(config.concurrency)]
    judge = make_judge(config.judge, config.judge_threshold)
    state = _RunState(teacher=teacher)
    reports: list[RoundReport] = []
    try:
        for r in range(1, config.rounds + 1):
            round_dir = out / f"round_{r}"
            if (round_dir / "report.json").is_file():  # finished earlier: reload and move on
                report = _resume_round(round_dir, r, config, state)
                log(f"(resumed) {report.summary()}")
            else:
                report = _play_round(round_dir, r, config, envs, judge, state)
                log(report.summary())
            reports.append(report)
    finally:
        for env in envs:
            env.close()
    atomic_write_json(out / "summary.json", [r.to_json() for r in reports])
    return reports


@dataclass
class _RunState:
    """What a round hands the next: its teacher, the student, the data kept so far, the queries seen."""

    teacher: Teacher | None
    student: tuple[Any, Any] | None = None  # (model, tokenizer)
    kept_so_far: list[Trajectory] = field(default_factory=list)
    previous_queries: set[str] | None = None  # search queries of the previous round's kept trajectories
    previous_all: set[str] | None = None  # ... and of all its trajectories

    def remember(self, kept: list[Trajectory], trajectories: list[Trajectory]) -> None:
        self.kept_so_far += kept
        self.previous_queries = {q for t in kept for q in search_queries(t)}
        self.previous_all = {q for t in trajectories for q in search_queries(t)}


def _student_teacher(student: tuple[Any, Any], r: int, config: DistillConfig) -> Teacher:
    """Round ``r``'s student as the next round's teacher: an ``LLMAgent`` sampling at ``config.temperature``."""
    from agents.llm import LLMAgent, LLMAgentConfig

    agent_config = LLMAgentConfig(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature,
        max_context_tokens=config.max_context_tokens, batch_size=config.concurrency, seed=config.seed + r,
    )
    model, tokenizer = student
    return AgentTeacher(LLMAgent(model=model, tokenizer=tokenizer, config=agent_config), f"student-round{r}")


def _resume_round(round_dir: Path, r: int, config: DistillConfig, state: _RunState) -> RoundReport:
    """Reload a finished round's report, data and student into ``state``."""
    from ramp_env.models import load_causal_lm

    report = RoundReport.from_json(json.loads((round_dir / "report.json").read_text(encoding="utf-8")))
    state.remember(read_trajectories(round_dir / "kept.jsonl"), read_trajectories(round_dir / "trajectories.jsonl"))
    if (round_dir / "student").is_dir():
        state.student = load_causal_lm(str(round_dir / "student"), device=config.device)
        state.teacher = _student_teacher(state.student, r, config)
    return report


def _play_round(
    round_dir: Path, r: int, config: DistillConfig, envs: list[gym.Env], judge: AnswerJudge, state: _RunState
) -> RoundReport:
    """Round ``r``: the teacher plays, the judge keeps, a student is trained and becomes the next teacher."""
    started = time.perf_counter()
    state.teacher = state.teacher or make_first_teacher(config.teacher, envs, config)
    teacher_name = state.teacher.name
    trajectories = state.teacher.generate(envs, config.tasks_per_round, seed=config.seed + r, num_masks=config.num_masks)
    for trajectory in trajectories:
        trajectory.metadata["round"] = r
    kept, _ = judge.split(trajectories)
    write_trajectories(round_dir / "trajectories.jsonl", trajectories)
    write_trajectories(round_dir / "kept.jsonl", kept)
    diversity = trajectory_diversity(kept, state.previous_queries)
    diversity_all = trajectory_diversity(trajectories, state.previous_all)
    state.remember(kept, trajectories)
    data = state.kept_so_far if config.accumulate else kept
    train = _train_student(data, round_dir, r, config, state) if data else {}
    report = RoundReport(
        round=r, teacher=teacher_name, tasks=len(trajectories),
        kept=len(kept), mean_score=sum(t.score for t in trajectories) / max(len(trajectories), 1),
        diversity=diversity, diversity_all=diversity_all, trained=bool(data), train=train,
        seconds=round(time.perf_counter() - started, 1),
    )
    atomic_write_json(round_dir / "report.json", report.to_json())
    return report


def _train_student(
    data: list[Trajectory], round_dir: Path, r: int, config: DistillConfig, state: _RunState
) -> dict[str, Any]:
    """Fine-tune the student on ``data``, save it in the round's folder, make it the next teacher; its metrics."""
    from agents.training.checkpoint import save_pretrained_atomic
    from agents.training.sft import train_sft
    from ramp_env.models import load_causal_lm

    if state.student is None or config.student_init == "base":
        state.student = load_causal_lm(config.student, device=config.device)
    model, tokenizer = state.student
    sft = SFTTrainConfig(**{**asdict(config.sft), "seed": config.sft.seed + r})
    train = train_sft(model, tokenizer, data, sft)
    train.pop("log_history", None)
    save_pretrained_atomic(model, tokenizer, round_dir / "student")
    state.teacher = _student_teacher(state.student, r, config)
    return train


def diversity_table(reports: Sequence[RoundReport]) -> str:
    """The rounds' keep rates and diversity as a Markdown table (the collapse check at a glance)."""
    lines = [
        ("| round | teacher | trajectories | kept | distinct-1 | distinct-2 | unique queries "
         "| query overlap with previous round |"),
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        for which, d in (("kept", r.diversity), ("all", r.diversity_all)):
            overlap = "n/a" if d.query_overlap_prev is None else f"{d.query_overlap_prev:.3f}"
            lines.append(f"| {r.round} | {r.teacher} | {which} | {r.kept}/{r.tasks} | {d.distinct_1:.3f} | "
                         f"{d.distinct_2:.3f} | {d.unique_query_share:.3f} | {overlap} |")
    return "\n".join(lines)


__all__ = ["DistillConfig", "RoundReport", "distill", "diversity_table", "make_first_teacher"]

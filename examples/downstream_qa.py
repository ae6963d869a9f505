r"""Downstream QA after RAMP (MaskSearch section 4): a RAMP-trained model -> SFT and/or DAPO on HotpotQA -> Table 2.

    python examples/downstream_qa.py --quick                    # CPU smoke run on the bundled HotpotQA sample
    python examples/downstream_qa.py --init_from runs/dapo-qwen1.5b --train_file hotpot_train_v1.1.json \
        --device cuda --bf16 --stages sft,rl \
        --eval_datasets hotpot_dev_distractor_v1.json musique_ans_v1.0_dev.jsonl   # see docs/multihop-and-synthesis.md

1. Load the RAMP-trained checkpoint (``--init_from``, e.g. the output of
   examples/sft_smollm2.py or examples/dapo_smollm2.py; the base model with ``--quick``
   when that folder is missing).
2. Teacher data: the teacher agent (the BM25 heuristic by default) plays ``MultiHopQA-v0``
   on the train file's questions (or ``--sft_file`` holds trajectories made elsewhere); a judge grades each answer against the gold
   answer (the env's ``reward=--teacher_reward``, the MiniLM judge by default) and
   episodes scoring at least ``--min_score`` are kept (rejection sampling).
3. SFT on those trajectories (``agents.training.sft.train_sft``), loss on the agent's turns only.
4. DAPO on the train file's questions (``agents.training.dapo.DAPOTrainer``, reward ``--rl_reward``).
5. Save the model (atomically) to ``<output_dir>/model``.
6. Evaluate it with the Table-2 harness (``ramp_env.evaluation.harness.evaluate``, one run per
   dataset, each question once in file order) and write ``<output_dir>/downstream.md``:
   rows = models, columns = datasets + average, token recall as in the paper (then F1, EM).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import HfArgumentParser

from agents.training.checkpoint import save_pretrained_atomic
from agents.training.dapo import DAPOConfig, DAPOTrainer
from agents.training.sft import SFTTrainConfig, train_sft
from ramp_env.cache import atomic_write_json, atomic_write_text
from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.evaluation.agent_loading import make_agent
from ramp_env.evaluation.downstream import dataset_label, format_downstream
from ramp_env.evaluation.harness import AgentSpec, evaluate
from ramp_env.evaluation.runner import run_episode
from ramp_env.models import load_causal_lm, torch_threads
from ramp_env.qa.loaders import load_qa
from ramp_env.trajectories import RecordTrajectories, filter_trajectories, read_trajectories, write_trajectories

BUNDLED_HOTPOT = Path(__file__).resolve().parent.parent / "tests" / "qa" / "fixtures" / "hotpot_dev_distractor_sample.json"
STAGES = ("sft", "rl")
# --quick: settings left at their defaults become these (a CPU run of a minute or two)
QUICK = {
    "teacher_episodes": 2, "min_score": 0.0, "max_train_trajectories": 2,
    "sft_epochs": 1.0, "sft_batch_size": 2, "rl_steps": 1, "group_size": 2, "tasks_per_step": 1,
    "max_sampling_rounds": 1, "max_new_tokens": 8, "max_searches": 1, "top_k": 1, "max_hit_chars": 200,
    "eval_questions": 2,
}


@dataclass
class Args:
    init_from: str | None = field(
        default=None, metadata={"help": "the RAMP-trained model folder; None: the offline SmolLM2-135M-Instruct"}
    )
    train_file: str | None = field(default=None, metadata={"help": (
        "a HotpotQA train file (any format ramp_env.qa.loaders reads); --quick: the bundled sample"
    )})
    train_format: str | None = field(
        default=None, metadata={"help": "force the train file's format (hotpot, 2wiki, musique, ...)"}
    )
    stages: str = field(default="sft,rl", metadata={"help": "training stages, comma-separated, in this order: sft, rl"})
    eval_datasets: list[str] = field(
        default_factory=lambda: ["fanoutqa-dev"], metadata={"help": "QA files to evaluate on, or fanoutqa-dev"}
    )
    eval_questions: int = field(
        default=100, metadata={"help": "questions per dataset, each once in file order (fewer if the file is smaller)"}
    )
    compare_init: bool = field(
        default=True, metadata={"help": "also evaluate the --init_from model (a row \"init\" next to \"downstream\")"}
    )
    quick: bool = field(default=False, metadata={"help": (
        "tiny CPU settings (see QUICK); the bundled HotpotQA sample as train and eval file"
    )})
    device: str = field(default="cpu", metadata={"help": "torch device of the model: cpu, cuda or cuda:N"})
    dtype: str | None = field(
        default=None, metadata={"help": "weights as loaded: float32 (CPU default) | bfloat16 (GPU default) | float16"}
    )
    bf16: bool = field(default=False, metadata={"help": "bfloat16 mixed precision for SFT (GPUs)"})
    threads: int | None = field(default=None, metadata={"help": "torch threads (1 is fastest on a busy 2-core CPU)"})
    corpus: str = field(default="default", metadata={"help": (
        "the search corpus: 'default' or a corpus file (a Wikipedia dump for the paper)"
    )})
    max_searches: int = field(default=4, metadata={"help": "searches the agent may make per episode"})
    top_k: int = field(default=3, metadata={"help": "passages each search returns"})
    max_hit_chars: int = field(default=1200, metadata={"help": "characters of each returned passage the agent sees"})
    sft_file: str | None = field(default=None, metadata={"help": (
        "SFT trajectories made elsewhere (e.g. agents.synthesis) instead of playing --teacher"
    )})
    teacher: str = field(
        default="bm25", metadata={"help": "a registered agent name or module:Class playing the train questions"}
    )
    teacher_args: str = field(default="{}", metadata={"help": (
        "the teacher's constructor arguments as JSON, e.g. '{\"base_url\": \"http://127.0.0.1:8000/v1\"}'"
    )})
    teacher_reward: str = field(
        default="judge", metadata={"help": "the grader the filter uses: judge | f1 | recall | em | ..."}
    )
    teacher_episodes: int = field(default=1000, metadata={"help": "train questions the teacher plays for SFT data"})
    min_score: float = field(default=0.5, metadata={"help": "keep teacher episodes the grader scores at least this"})
    max_train_trajectories: int = field(default=1000, metadata={"help": "most kept teacher episodes SFT trains on"})
    sft_epochs: float = field(default=2.0, metadata={"help": "SFT passes over the kept trajectories"})
    sft_batch_size: int = field(default=4, metadata={"help": "trajectories per SFT step"})
    sft_learning_rate: float = field(default=1e-5, metadata={"help": "AdamW learning rate of SFT"})
    rl_reward: str = field(
        default="f1", metadata={"help": "DAPO's reward: token F1 (recall would reward listing many candidates)"}
    )
    rl_steps: int = field(default=100, metadata={"help": "DAPO steps on the train questions"})
    group_size: int = field(
        default=4, metadata={"help": "episodes sampled per task (G); advantages compare a task's episodes"}
    )
    tasks_per_step: int = field(
        default=4, metadata={"help": "groups with reward variance per step (the batch dynamic sampling fills)"}
    )
    max_sampling_rounds: int = field(
        default=3, metadata={"help": "dynamic sampling: rounds of new tasks a step may draw to fill its batch"}
    )
    rl_learning_rate: float = field(default=1e-6, metadata={"help": "AdamW learning rate of DAPO"})
    overlong_filtering: bool = field(
        default=True, metadata={"help": "mask episodes cut by a length limit out of the DAPO loss"}
    )
    max_new_tokens: int = field(default=128, metadata={"help": "tokens the model may generate per turn"})
    seed: int = field(default=0, metadata={"help": "seeds torch, task sampling and data order"})
    output_dir: str = field(default="runs/downstream-qa", metadata={"help": (
        "where model/, teacher_trajectories.jsonl, eval/<dataset>/ and downstream.md go"
    )})


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help``: the usage above as written, then every option with its help and default."""


def parse_args() -> Args:
    (args,) = HfArgumentParser(Args, description=__doc__, formatter_class=HelpFormatter).parse_args_into_dataclasses()
    return args


def make_env(args: Args, reward: str) -> MultiHopQAEnv:
    """A MultiHopQA-v0 env on the train file, graded with ``reward``, questions in file order."""
    return MultiHopQAEnv(
        dataset=str(args.train_file), dataset_format=args.train_format, order="sequential", corpus=args.corpus,
        reward=reward, max_searches=args.max_searches, top_k=args.top_k, max_hit_chars=args.max_hit_chars,
        progress=False,
    )


def quick_settings(args: Args) -> Args:
    """``--quick``: the settings left at their defaults become :data:`QUICK`'s; the bundled sample as data."""
    defaults = {f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(Args)}
    args = dataclasses.replace(args, **{k: v for k, v in QUICK.items() if getattr(args, k) == defaults[k]})
    if args.train_file is None:
        args = dataclasses.replace(args, train_file=str(BUNDLED_HOTPOT))
    if args.eval_datasets == defaults["eval_datasets"]:
        args = dataclasses.replace(args, eval_datasets=[str(BUNDLED_HOTPOT)])
    return args


def check_inputs(args: Args) -> tuple[list[str], dict[str, object], Path]:
    """Everything a long run needs, checked before it starts: the stages, the teacher's arguments and
    the output folder (created)."""
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if not set(stages) <= set(STAGES) or not stages:
        raise SystemExit(f"--stages must name some of {STAGES}, comma-separated; got {args.stages!r}")
    if args.train_file is None or not Path(args.train_file).is_file():
        raise SystemExit(f"--train_file {args.train_file}: not a file (a HotpotQA train JSON; --quick uses a sample)")
    for dataset in args.eval_datasets:
        if dataset != "fanoutqa-dev" and not Path(dataset).is_file():
            raise SystemExit(f"--eval_datasets: {dataset} is not a file")
    try:
        teacher_kwargs = json.loads(args.teacher_args)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--teacher_args is not JSON: {error}") from None
    if not isinstance(teacher_kwargs, dict):
        raise SystemExit(f"--teacher_args must be a JSON object, got {args.teacher_args!r}")
    if args.sft_file is not None and not Path(args.sft_file).is_file():
        raise SystemExit(f"--sft_file {args.sft_file}: not a file (trajectories JSONL)")
    if args.init_from is not None and not Path(args.init_from).is_dir():
        raise SystemExit(f"--init_from {args.init_from}: not a model folder (train one with examples/sft_smollm2.py)")
    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--output_dir {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise SystemExit(f"--output_dir {out} is not writable")
    return stages, teacher_kwargs, out


def sft_stage(args: Args, model, tokenizer, teacher_kwargs: dict[str, object], out: Path) -> dict[str, object]:
    """Teacher data (the teacher answers the train questions; a judge keeps the good episodes), then SFT."""
    if args.sft_file is not None:
        played = read_trajectories(args.sft_file)
    else:
        recorder = RecordTrajectories(make_env(args, args.teacher_reward), agent=args.teacher)
        teacher = make_agent(args.teacher, env=recorder, kwargs=teacher_kwargs)
        for i in range(args.teacher_episodes):
            run_episode(recorder, teacher, seed=args.seed + i)
        played = recorder.pop_trajectories()
        recorder.close()
    kept = filter_trajectories(played, args.min_score)[: args.max_train_trajectories]
    write_trajectories(out / "teacher_trajectories.jsonl", kept)
    print(f"teacher {args.teacher}: {len(played)} episodes, mean {args.teacher_reward} "
          f"{sum(t.score for t in played) / max(len(played), 1):.3f}; kept {len(kept)} scoring >= {args.min_score}")
    if not kept:
        raise SystemExit("no teacher episode passed the filter: lower --min_score or raise --teacher_episodes")
    metrics = train_sft(model, tokenizer, kept, SFTTrainConfig(
        num_epochs=args.sft_epochs, batch_size=args.sft_batch_size, learning_rate=args.sft_learning_rate,
        seed=args.seed, bf16=args.bf16, logging_steps=1,
    ))
    print(f"sft: {metrics['steps']} steps on {metrics['examples']} trajectories, loss {metrics['train_loss']:.3f}")
    return {k: v for k, v in metrics.items() if k != "log_history"} | {"teacher_episodes": len(played)}


def rl_stage(args: Args, model, tokenizer) -> dict[str, object]:
    """DAPO on the train questions, graded with ``--rl_reward``."""
    trainer = DAPOTrainer(
        model, tokenizer, lambda: make_env(args, args.rl_reward),
        DAPOConfig(
            group_size=args.group_size, tasks_per_step=args.tasks_per_step,
            max_sampling_rounds=args.max_sampling_rounds, learning_rate=args.rl_learning_rate,
            overlong_filtering=args.overlong_filtering, max_new_tokens=args.max_new_tokens, seed=args.seed,
        ),
    )
    history = []
    for _ in range(args.rl_steps):
        history.append(trainer.step())
        print("dapo step", json.dumps({k: round(v, 4) for k, v in history[-1].items()}))
    for env in trainer.envs:
        env.close()
    return {"steps": len(history), "history": history, "config": trainer.config_dict()}


def evaluate_models(args: Args, model_dir: Path, out: Path) -> str:
    """The Table-2 harness on every eval dataset (each question once in file order, greedy decoding):
    the trained model, and the initial one with ``--compare_init``; the recall, F1 and EM tables."""
    models = {"downstream": str(model_dir)}
    if args.compare_init:
        models["init"] = args.init_from  # None: the offline base model
    env_kwargs = {"order": "sequential", "corpus": args.corpus, "max_searches": args.max_searches,
                  "top_k": args.top_k, "max_hit_chars": args.max_hit_chars}
    records = {}
    for dataset in args.eval_datasets:
        questions = min(args.eval_questions, len(load_qa(dataset)))
        records[dataset] = []
        for row, source in models.items():
            spec = AgentSpec("llm", {"model": source, "device": args.device, "max_new_tokens": args.max_new_tokens})
            result = evaluate([spec], episodes=questions, seed=args.seed, env_id="MultiHopQA-v0",
                              env_kwargs={**env_kwargs, "dataset": dataset}, out_dir=out / "eval" / row / dataset_label(dataset),
                              progress=False)
            # both rows are the registered agent "llm": name them by model for the table
            records[dataset] += [dataclasses.replace(r, agent=row) for r in result.records]
    return "\n\n".join(format_downstream(records, metric) for metric in ("recall", "f1", "em"))


def main(args: Args) -> dict[str, object]:
    if args.quick:
        args = quick_settings(args)
    stages, teacher_kwargs, out = check_inputs(args)
    torch.manual_seed(args.seed)

    model, tokenizer = load_causal_lm(args.init_from, device=args.device, dtype=args.dtype)
    summary: dict[str, object] = {"init_from": args.init_from, "train_file": args.train_file, "stages": stages}
    if "sft" in stages:
        summary["sft"] = sft_stage(args, model, tokenizer, teacher_kwargs, out)
    if "rl" in stages:
        summary["rl"] = rl_stage(args, model, tokenizer)
    model_dir = out / "model"
    save_pretrained_atomic(model, tokenizer, model_dir)
    del model
    print(f"model saved to {model_dir}")

    tables = evaluate_models(args, model_dir, out)
    print(tables)
    atomic_write_text(out / "downstream.md", tables + "\n")
    atomic_write_json(out / "summary.json", summary)
    print(f"wrote {out}/downstream.md, {out}/summary.json and {out}/eval/<model>/<dataset>/results.jsonl")
    return summary


if __name__ == "__main__":
    cli_args = parse_args()
    with torch_threads(cli_args.threads):
        main(cli_args)

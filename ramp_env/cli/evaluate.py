"""``ramp-env evaluate``: score agents on seeded episodes and print a leaderboard.

    ramp-env evaluate --agent bm25 random --episodes 200 --num-masks 1 2 3 4 --seed 0 --out results/
    ramp-env evaluate --agent bm25 --tasks test --out results/   # the frozen test set: a citable score

Agents are names registered in the ``ramp_env.agents`` entry-point group (see
``--list-agents``) or ``module:Class`` strings.
"""

from __future__ import annotations

import argparse

from ramp_env.cli.common import (
    DEFAULT_ENV,
    add_env_args,
    check_output_dir,
    gym_env_kwargs,
    parse_assignment,
)
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.agent_loading import accepts, registered_agents, resolve_agent
from ramp_env.evaluation.harness import OUTPUT_FILES, AgentSpec, evaluate
from ramp_env.tasksets import TASK_SETS, load_task_set

__all__ = ["DEFAULT_ENV", "add_parser", "agent_specs", "parse_assignment", "run"]

QA_ENV = "MultiHopQA-v0"  # the env whose episodes are questions of a QA dataset (--datasets)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "evaluate",
        help="score agents on seeded episodes and print a leaderboard",
        description="Run agents on seeded episodes per mask count; print mean reward (95% CI), per-mask "
        "accuracy, searches per episode and steps per second, then the mean mask score by span type and "
        "length; each table ends with a legend of its columns. With --out DIR, write " + ", ".join(OUTPUT_FILES)
        + " (results.jsonl: one record per episode, resumable; docs/agents-and-evaluation.md describes each file).",
    )
    parser.add_argument("--agent", nargs="+", default=["bm25"], help="agent names or module:Class (several allowed)")
    parser.add_argument(
        "--agent-arg", action="append", default=[], metavar="[AGENT.]KEY=VALUE",
        help="constructor argument (VALUE parsed as JSON, else text); KEY=VALUE goes to every agent "
        "that takes KEY, AGENT.KEY=VALUE to one agent",
    )
    add_env_args(parser)
    parser.add_argument(
        "--tasks", default=None, metavar="|".join(TASK_SETS) + "|test-vN|FILE",
        help="play a frozen task set (RAMP-v0's tasks=...; test-vN: an earlier shipped version): the same tasks "
        "in the same order whatever the seed; "
        "records and the leaderboard name its version and sha256. Default: tasks drawn by seed",
    )
    parser.add_argument(
        "--episodes", type=int, default=None,
        help="episodes per agent and mask count (default 100; with --tasks, every task of the set)",
    )
    parser.add_argument(
        "--num-masks", type=int, nargs="+", default=None,
        help="mask counts (default: the env's; with --tasks, every mask count of the set)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, metavar="DIR", help="write " + ", ".join(OUTPUT_FILES) + " there")
    parser.add_argument(
        "--datasets", nargs="+", default=None, metavar="DATASET",
        help="with --env MultiHopQA-v0: evaluate on each QA dataset (fanoutqa-dev or a file) and print the "
        "paper's Table-2 shape: rows agents, columns datasets + average, token recall (then F1, EM, and the env's "
        "reward when it is another one, e.g. --env-arg reward=judge)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list-agents", action="store_true", help="list registered agents and exit")
    return parser


def agent_specs(names: list[str], assignments: list[str], span_extractor: str | None) -> list[AgentSpec]:
    """Agents with their arguments; the env's span extractor goes to agents that take one."""
    specs = [AgentSpec(name) for name in names]
    factories = {name: resolve_agent(name) for name in names}
    for text in assignments:
        key, value = parse_assignment(text)
        target, dot, arg = key.rpartition(".")
        if dot and target in factories:
            matching = [s for s in specs if s.name == target]
            key = arg
        else:
            matching = [s for s in specs if accepts(factories[s.name], key)]
        if not matching:
            raise InvalidOptionError(f"--agent-arg {text!r}: no agent among {names} takes {key!r}")
        for spec in matching:
            spec.kwargs[key] = value
    if span_extractor is not None:
        for spec in specs:
            if "span_extractor" not in spec.kwargs and accepts(factories[spec.name], "span_extractor"):
                spec.kwargs["span_extractor"] = span_extractor
    return specs


def run(args: argparse.Namespace) -> int:
    if args.list_agents:
        for name, target in sorted(registered_agents().items()):
            print(f"{name:16s} {target}")
        return 0
    if args.episodes is not None and args.episodes < 1:
        raise InvalidOptionError("--episodes must be >= 1")
    if args.out is not None:
        check_output_dir(args.out)  # before any episode: a bad --out must not cost a whole run
    kwargs = gym_env_kwargs(args)
    if args.tasks is not None:
        _frozen_task_args(args, kwargs)
    elif args.episodes is None:
        args.episodes = 100
    # candidates shaped like the env's masks: agents that extract spans use the env's extractor
    span_extractor = kwargs.get("span_extractor") if args.env == DEFAULT_ENV else None
    specs = agent_specs(args.agent, args.agent_arg, span_extractor)
    if args.datasets:
        if args.env != QA_ENV:
            raise InvalidOptionError(f"--datasets takes QA datasets: use it with --env {QA_ENV} (got --env {args.env})")
        return _run_downstream(args, specs, kwargs)
    result = evaluate(
        specs,
        episodes=args.episodes,
        num_masks=args.num_masks or [None],
        seed=args.seed,
        env_id=args.env,
        env_kwargs=kwargs,
        out_dir=args.out,
        progress=not args.no_progress,
    )
    print(result.table)
    if result.difficulty:
        print("\n" + result.difficulty)
    if result.out_dir is not None:
        print(f"\nwrote {', '.join(OUTPUT_FILES)} in {result.out_dir}/")
    return 0


def _frozen_task_args(args: argparse.Namespace, kwargs: dict) -> None:
    """``--tasks``: the env plays the set; episodes and mask counts default to all of it, and
    more episodes than the set has are refused (they would replay tasks)."""
    if args.env != DEFAULT_ENV:
        raise InvalidOptionError(f"--tasks plays frozen RAMP tasks: use it with --env {DEFAULT_ENV} (got --env {args.env})")
    if kwargs.get("tasks", args.tasks) != args.tasks:
        raise InvalidOptionError("--tasks and --env-arg tasks=... disagree: use one")
    kwargs["tasks"] = args.tasks
    task_set = load_task_set(args.tasks)
    args.num_masks = args.num_masks or sorted(task_set.tasks)
    sizes = {k: len(task_set.for_masks(k)) for k in args.num_masks}  # an unknown mask count fails here
    if args.episodes is None:
        args.episodes = sizes  # every task of every mask count
    elif args.episodes > min(sizes.values()):
        raise InvalidOptionError(f"--episodes {args.episodes}: task set {task_set.label} has {sizes} tasks per mask count; "
                         "more episodes would replay tasks")


def _run_downstream(args: argparse.Namespace, specs: list[AgentSpec], kwargs: dict) -> int:
    """One evaluation per dataset (each resumable under ``--out/<dataset>/``), then the table."""
    from pathlib import Path

    from ramp_env.cache import atomic_write_text
    from ramp_env.evaluation.downstream import dataset_label, format_downstream

    if "dataset" in kwargs:
        raise InvalidOptionError("--datasets and --env-arg dataset=... both name the dataset: use one")
    labels = [dataset_label(d) for d in args.datasets]
    if len(set(labels)) != len(labels):
        raise InvalidOptionError(f"--datasets must have distinct names, got {labels}")
    for dataset in args.datasets:  # every file checked before any episode runs
        if dataset != "fanoutqa-dev" and not Path(dataset).expanduser().is_file():
            raise FileNotFoundError(f"QA dataset file not found: {dataset}")
    records = {}
    for dataset, label in zip(args.datasets, labels, strict=True):
        result = evaluate(
            specs, episodes=args.episodes, num_masks=[None], seed=args.seed, env_id=args.env,
            env_kwargs={**kwargs, "dataset": dataset},
            out_dir=None if args.out is None else Path(args.out) / label, progress=not args.no_progress,
        )
        records[dataset] = result.records
    metrics = ["recall", "f1", "em"]
    reward = kwargs.get("reward")
    if reward is not None and str(reward) not in metrics:  # a judge (or other reward) is one more column
        metrics.append("reward")
    tables = "\n\n".join(  # one legend, after the last table
        format_downstream(records, metric, reward_name=None if reward is None else str(reward),
                          legend=metric == metrics[-1])
        for metric in metrics
    )
    print(tables)
    if args.out is not None:
        atomic_write_text(Path(args.out) / "downstream.md", tables + "\n")
        print(f"\nwrote {args.out}/<dataset>/results.jsonl and {args.out}/downstream.md")
    return 0

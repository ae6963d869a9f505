"""The ``ramp-env`` command line (also ``python -m ramp_env``).

Each subcommand is a module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``; :data:`COMMANDS` lists them in help order. Other packages
add subcommands the same way through the ``ramp_env.commands`` entry-point
group (name = module with ``add_parser``/``run``): this is how ``ramp-env
distill``, which lives in ``agents``, is reached without ``ramp_env`` importing it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Sequence

PLUGIN_GROUP = "ramp_env.commands"
COMMANDS: tuple[str, ...] = ("build_index", "sample", "play", "evaluate", "collect")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ramp-env", description="Retrieval-Augmented Mask Prediction environments and tools."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"ramp_env.cli.{name}")
        module.add_parser(sub).set_defaults(_run=module.run)
    add_plugin_commands(sub)
    return parser


def add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    """Subcommands registered in the ``ramp_env.commands`` entry-point group.

    A plugin that fails to import still gets a subcommand, which reports why
    when run, so one broken plugin never breaks the other commands.
    """
    for entry in sorted(importlib.metadata.entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        if entry.name in sub.choices:
            continue
        try:
            module = entry.load()
            module.add_parser(sub).set_defaults(_run=module.run)
        except Exception as exc:
            if entry.name in sub.choices:
                continue
            broken = sub.add_parser(entry.name, help=f"(unavailable: {exc})")
            broken.add_argument("rest", nargs=argparse.REMAINDER)
            broken.set_defaults(_run=_unavailable(entry.value, exc))


def _unavailable(target: str, exc: Exception) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise ModuleNotFoundError(f"the {args.command!r} command ({target}) cannot be loaded: {exc}")

    return run


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, ModuleNotFoundError) as exc:
        print(f"ramp-env {args.command}: error: {exc}", file=sys.stderr)
        return 2

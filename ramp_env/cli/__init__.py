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
import os
import sys
from collections.abc import Callable, Sequence

from ramp_env.cache import UntrustedCacheError
from ramp_env.corpus.integrity import CacheIntegrityError

PLUGIN_GROUP = "ramp_env.commands"
# set to see the traceback of an unexpected error instead of a one-line message
TRACEBACK_ENV_VAR = "RAMP_ENV_TRACEBACK"
COMMANDS: tuple[str, ...] = ("build_index", "stats", "sample", "evidence", "play", "evaluate", "collect", "serve")


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
    except (CacheIntegrityError, UntrustedCacheError) as exc:  # name the file and the fix already
        print(f"ramp-env {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else: one line, the traceback on request
        if os.environ.get(TRACEBACK_ENV_VAR):
            raise
        print(f"ramp-env {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"(set {TRACEBACK_ENV_VAR}=1 for the full traceback)", file=sys.stderr)
        return 1

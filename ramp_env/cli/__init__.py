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
from ramp_env.errors import RampEnvError

PLUGIN_GROUP = "ramp_env.commands"
# set to see the traceback behind a one-line error message
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
    """Run one subcommand; its exit status.

    A problem with the user's input or environment is one line, ``ramp-env CMD: error: ...``:
    every :class:`~ramp_env.errors.RampEnvError` (exit 1 for an untrusted or corrupt cache,
    whose message names the file and the fix, else 2), a missing or unreadable file, a missing
    optional package (2) and any other refusal by the operating system (1; the message names
    the path).
    Anything else, including a plain ``ValueError`` from our own code, is a bug: it
    propagates with its traceback (the interpreter exits 1). ``RAMP_ENV_TRACEBACK=1`` shows
    the traceback of the one-line errors too.
    """
    args = build_parser().parse_args(argv)  # argparse reports bad arguments itself (exit 2)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (RampEnvError, OSError, ModuleNotFoundError) as exc:
        if os.environ.get(TRACEBACK_ENV_VAR):
            raise
        return _report(args.command, exc)


def _report(command: str, exc: RampEnvError | OSError | ModuleNotFoundError) -> int:
    """Print the one-line message for an expected error; its exit status."""
    if isinstance(exc, CacheIntegrityError | UntrustedCacheError):  # name the file and the fix already
        status = 1
    elif isinstance(exc, RampEnvError | FileNotFoundError | PermissionError | ModuleNotFoundError):
        status = 2
    else:  # an OSError we did not anticipate: say where the traceback is
        print(f"ramp-env {command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"(set {TRACEBACK_ENV_VAR}=1 for the full traceback)", file=sys.stderr)
        return 1
    print(f"ramp-env {command}: error: {exc}", file=sys.stderr)
    return status

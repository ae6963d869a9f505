"""Finding agents by name without importing them: the ``ramp_env.agents`` entry-point group.

``ramp_env`` never imports the ``agents`` package. Agents are named in
``pyproject.toml``::

    [project.entry-points."ramp_env.agents"]
    bm25 = "agents.bm25_heuristic:BM25HeuristicAgent"

and any installed distribution can add its own the same way. A ``module:Class``
string works too, e.g. ``my_package.agents:MyAgent``, and so does
``path/to/file.py:Class``, but it must name an **agent class** (a class with an
``act`` method): that is checked before anything is called, so ``os:system``
or any other function is refused, never called with ``--agent-arg`` values.
Factory functions (``agent_pe``) are loaded only when they are registered in the
entry-point group (by name, or by the exact ``module:attr`` registered):
installing a distribution is the user's explicit trust in its code.

Like ``uvicorn`` and ``pytest``, a ``module:Class`` is also looked for in the
current working directory: ``ramp-env evaluate --agent my_agents:MyAgent`` run
next to ``my_agents.py`` works although the ``ramp-env`` console script does not
put the working directory on ``sys.path``. Installed modules win over files in
the working directory (a stray ``agents.py`` cannot shadow this project's
``agents`` package); ``./agents.py:MyAgent`` names the file explicitly.
``sys.path`` is only extended while that one import runs (so the file's own
top-level imports of its neighbours work), never for the rest of the process.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ramp_env.errors import InvalidOptionError
from ramp_env.protocols import Agent

AGENT_GROUP = "ramp_env.agents"


def registered_agents() -> dict[str, str]:
    """Agent names in the ``ramp_env.agents`` entry-point group and their ``module:attr``."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=AGENT_GROUP)}


_IMPORT_LOCK = threading.Lock()


def _is_file_spec(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or os.sep in module_part


def _import_file(path_text: str) -> Any:
    """Import a ``.py`` file as a module named after it (``sys.modules`` keeps it, as ``import`` does)."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ImportError(f"no such file: {path}")
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == path.resolve():
        return existing
    if not name.isidentifier() or existing is not None:
        # a name that is taken (or not a valid name) gets a private one
        name = f"_ramp_env_agent_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their class's module up here
    try:
        with _path_entry(str(path.resolve().parent)):
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


class _path_entry:
    """``sys.path`` with ``entry`` in front for the duration of one import."""

    def __init__(self, entry: str) -> None:
        self.entry = entry

    def __enter__(self) -> None:
        _IMPORT_LOCK.acquire()
        sys.path.insert(0, self.entry)

    def __exit__(self, *exc: object) -> None:
        try:
            sys.path.remove(self.entry)
        except ValueError:
            pass
        finally:
            _IMPORT_LOCK.release()


def _import_module(module_name: str) -> Any:
    """``importlib.import_module``, falling back to the working directory when the top-level
    module is not installed."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.partition(".")[0]
        cwd = os.getcwd()
        if exc.name != top or cwd in sys.path or "" in sys.path:
            raise  # something inside the module is missing, or the working directory was searched
        if importlib.machinery.PathFinder.find_spec(top, [cwd]) is None:
            raise ModuleNotFoundError(
                f"No module named {top!r} (not installed, and no {top}.py or {top}/ in {cwd})", name=top
            ) from None
        with _path_entry(cwd):
            return importlib.import_module(module_name)


def resolve_agent(spec: str) -> Callable[..., Any]:
    """The agent class for a registered name, ``module:Class`` or ``path/to/file.py:Class`` (a factory
    function only when registered; see the module docs). Nothing it returns has been called."""
    registered = registered_agents()
    target = registered.get(spec, spec)
    # rpartition: a file path may hold a colon (C:\...), the class name never does
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(registered)) or "none registered"
        raise InvalidOptionError(
            f"unknown agent {spec!r}: use a registered name ({known}), 'module:Class' or 'path/to/file.py:Class'"
        )
    try:
        obj: Any = _import_file(module_name) if _is_file_spec(module_name) else _import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, SyntaxError) as exc:
        raise InvalidOptionError(f"cannot load agent {spec!r} ({target}): {exc}") from exc
    # checked before anything is called (InvalidOptionError: the CLI reports it as a clean message)
    is_registered = spec in registered or target in registered.values()
    if inspect.isclass(obj):
        if not issubclass(obj, Agent):
            raise InvalidOptionError(f"agent {spec!r} ({target}) is a class without an act(observation) method")
        return obj
    if is_registered and callable(obj):
        return obj  # a factory its distribution registered (installing it is the user's trust)
    raise InvalidOptionError(
        f"agent {spec!r} ({target}) is not an agent class: 'module:Class' must name a class with an "
        f"act(observation) method (factory functions load only when registered in {AGENT_GROUP!r})"
    )


def _parameters(factory: Callable[..., Any]) -> tuple[set[str], bool]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return set(), True
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return set(params), takes_any


def accepts(factory: Callable[..., Any], name: str) -> bool:
    """True when ``factory`` takes a keyword argument ``name``."""
    names, takes_any = _parameters(factory)
    return takes_any or name in names


def make_agent(spec: str, env: Any = None, kwargs: Mapping[str, Any] | None = None) -> Any:
    """Build an agent; ``env`` is passed when its constructor has an ``env`` parameter."""
    factory = resolve_agent(spec)
    kwargs = dict(kwargs or {})
    names, takes_any = _parameters(factory)
    unknown = sorted(k for k in kwargs if k not in names) if not takes_any else []
    if unknown:
        raise InvalidOptionError(f"agent {spec!r} takes no argument(s) {', '.join(unknown)}; it takes {sorted(names)}")
    if "env" in names and "env" not in kwargs:
        kwargs["env"] = env
    agent = factory(**kwargs)
    if not isinstance(agent, Agent):
        raise TypeError(f"agent {spec!r} built a {type(agent).__name__} without an act(observation) method")
    return agent

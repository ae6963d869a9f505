"""Finding agents by name without importing them: the ``ramp_env.agents`` entry-point group.

``ramp_env`` never imports the ``agents`` package. Agents are named in
``pyproject.toml``::

    [project.entry-points."ramp_env.agents"]
    bm25 = "agents.bm25_heuristic:BM25HeuristicAgent"

and any installed distribution can add its own the same way. A ``module:Class``
string (a class or any callable returning an agent) works too, e.g.
``my_package.agents:MyAgent``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Mapping
from typing import Any

AGENT_GROUP = "ramp_env.agents"


def registered_agents() -> dict[str, str]:
    """Agent names in the ``ramp_env.agents`` entry-point group and their ``module:attr``."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=AGENT_GROUP)}


def resolve_agent(spec: str) -> Callable[..., Any]:
    """The agent class (or factory) for a registered name or a ``module:Class`` string."""
    registered = registered_agents()
    target = registered.get(spec, spec)
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(registered)) or "none registered"
        raise ValueError(f"unknown agent {spec!r}: use a registered name ({known}) or 'module:Class'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load agent {spec!r} ({target}): {exc}") from exc
    if not callable(obj):
        # a ValueError, not a TypeError: the CLI reports ValueErrors as clean messages
        raise ValueError(f"agent {spec!r} ({target}) is not a class or callable")
    return obj


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
        raise ValueError(f"agent {spec!r} takes no argument(s) {', '.join(unknown)}; it takes {sorted(names)}")
    if "env" in names and "env" not in kwargs:
        kwargs["env"] = env
    agent = factory(**kwargs)
    if not callable(getattr(agent, "act", None)):
        raise TypeError(f"agent {spec!r} built a {type(agent).__name__} without an act(observation) method")
    return agent

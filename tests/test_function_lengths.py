"""No function in ``ramp_env/`` or ``agents/`` runs past 80 lines unless a comment says why.

Lines are counted from the ``def`` line to the last line of the body (decorators not
counted). A long function is allowed only when a comment starting ``# long:`` stands on
its ``def`` line or on the line just above it (above its decorators, if it has any),
giving the reason it is better read in one piece.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ramp_env", "agents")
MAX_LINES = 80
EXEMPTION = "# long:"


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[int, str, int]]:
    """``(line, name, length)`` of every function in ``source`` longer than ``limit`` lines without an exemption."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
        if length <= limit:
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        above = lines[first - 2] if first >= 2 else ""
        if EXEMPTION in lines[node.lineno - 1] or above.strip().startswith(EXEMPTION):
            continue
        found.append((node.lineno, node.name, length))
    return found


def test_the_check_finds_a_long_function_and_honours_an_exemption() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    long = "def f():\n" + body
    assert long_functions(long) == [(1, "f", MAX_LINES + 1)]
    assert long_functions("# long: one table of cases, read in one piece\n" + long) == []
    assert long_functions("@staticmethod\n" + long) == [(2, "f", MAX_LINES + 1)]
    assert long_functions("# why not\n" + long) == [(2, "f", MAX_LINES + 1)]  # a comment must say "long:"
    assert long_functions("def f():\n" + body[: -len(f"    x{MAX_LINES - 1} = {MAX_LINES - 1}\n")]) == []


def test_no_function_in_the_package_is_longer_than_80_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not too_long, f"functions over {MAX_LINES} lines (split them, or say why with '{EXEMPTION}'):\n" + "\n".join(
        too_long
    )

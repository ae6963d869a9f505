"""The package versions the docs say the LLM code was tested with are the installed ones."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "llm-training.md"
# `name==1.2.3` or `name 1.2` inside backticks, in the "Versions this was tested with" sentence
_VERSION = re.compile(r"`([A-Za-z][\w.-]*)(?:==| )(\d+(?:\.\d+)*)`")


def claimed_versions(text: str) -> dict[str, str]:
    """``{package: version}`` named in the doc's "tested with" paragraph."""
    start = text.lower().index("this was tested with")
    paragraph = text[start : text.find("\n\n", start)]
    return dict(_VERSION.findall(paragraph))


def matches(claimed: str, installed: str) -> bool:
    """``5.25`` matches ``5.25.0``; ``2.13.0`` matches ``2.13.0+cpu`` (the local build tag)."""
    parts = installed.split("+")[0].split(".")
    return parts[: len(claimed.split("."))] == claimed.split(".")


def test_tested_with_versions_are_installed() -> None:
    claimed = claimed_versions(DOC.read_text(encoding="utf-8"))
    assert {"torch", "transformers", "trl", "datasets", "accelerate"} <= set(claimed), claimed
    wrong = {
        name: (version, importlib.metadata.version(name))
        for name, version in claimed.items()
        if not matches(version, importlib.metadata.version(name))
    }
    assert not wrong, f"docs/llm-training.md names versions that are not installed (claimed, installed): {wrong}"


def test_version_matching() -> None:
    assert matches("5.25", "5.25.0") and matches("2.13.0", "2.13.0+cpu")
    assert not matches("5.24", "5.25.0") and not matches("1.15", "1.16.0")

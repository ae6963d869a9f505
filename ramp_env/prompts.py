"""Text renderings of observations, shared by people (``ramp-env play``) and language-model agents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTRUCTIONS = (
    "Fill in every [mask_i] in the passage. You may search a Wikipedia index: write "
    "<search>your query</search> and you will get the top passages (never the passage itself). "
    "When ready, answer with one line per mask:\n"
    "<answer>\n[mask_1]: ...\n[mask_2]: ...\n</answer>"
)


def task_text(observation: Mapping[str, Any]) -> str:
    """The task part of an observation: title, masked passage and mask count."""
    title = observation.get("title") or ""
    head = f"Title: {title}\n" if title else ""
    return f"{head}Passage: {observation['passage']}\nMasks to fill: {int(observation['num_masks'])}"


def feedback_text(observation: Mapping[str, Any]) -> str:
    """What the last step returned: message, results and remaining budget."""
    parts = [str(observation.get("message") or "")]
    if observation.get("results"):
        parts.append(str(observation["results"]))
    parts.append(f"(searches left: {int(observation['searches_left'])}, steps left: {int(observation['steps_left'])})")
    return "\n".join(p for p in parts if p)

"""Scripted LLM backends for the synthesis tests: a stub that knows the answers, and one that does not."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from agents.synthesis.backends import Messages, ScriptedBackend

_HIDDEN = re.compile(r"Hidden span to recover: \[mask_(\d+)\]")


def scripted_responder(env, fill: Callable[[str], str] | None = None) -> Callable[[Messages], str]:
    """Plays each role in its requested format. The observer reads the gold span from the env's
    current task (``fill`` may spoil it); with several envs, the task is found by its masked passage."""
    envs = env if isinstance(env, list) else [env]

    def gold(user: str, i: int) -> str:
        for e in envs:
            task = e.unwrapped.task
            if task is not None and task.masked_text in user:
                return task.answers[i - 1]
        raise AssertionError("no env holds the task of this prompt")

    def respond(messages: Messages) -> str:
        system, user = messages[0]["content"], messages[-1]["content"]
        if system.startswith("You plan"):
            k = int(re.search(r"Masks to fill: (\d+)", user).group(1))
            return "\n".join(f"[mask_{i}]: What is hidden at mask {i}?" for i in range(1, k + 1))
        if system.startswith("Rewrite"):
            title = re.search(r"Article: (.*)", user)
            return f"Query: {title.group(1) if title else ''} mask {user.count('already tried') + 1}"
        i = int(_HIDDEN.search(user).group(1))
        answer = gold(user, i)
        return f"ANSWER: {fill(answer) if fill else answer}"

    return respond


@pytest.fixture()
def oracle_backend():
    """``oracle_backend(env_or_envs)``: a scripted backend whose observer proposes the gold span."""
    return lambda env: ScriptedBackend(scripted_responder(env), name="scripted-oracle")


@pytest.fixture()
def wrong_backend():
    """A scripted backend whose observer always proposes a wrong span."""
    return lambda env: ScriptedBackend(scripted_responder(env, lambda gold: "Zanzibar Xylophone"), name="scripted-wrong")

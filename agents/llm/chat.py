"""Chat messages to token ids, with a mask of the tokens a trainer learns from.

Trajectories store role-tagged messages (see :mod:`ramp_env.trajectories`). A
model sees them through its chat template; this module renders them and, for
training, tells which tokens came from the model: the content of ``assistant``
messages and the end-of-turn marker the template closes them with (so the model
learns to stop), but never the prompt, the turn headers or the environment's
``tool`` messages (retrieved passages).

It works with any chat template that renders a conversation as a growing
prefix (ChatML in SmolLM2/Qwen2.5, LLaMA-3.x, ...): each message's tokens are
the difference between the renderings with and without it, tokenised piece by
piece so the boundaries are exact. A template that rewrites earlier turns
(Qwen3 drops old ``<think>`` blocks, for example) is reported with a clear error
rather than trained on wrongly attributed tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp_env.errors import InvalidOptionError
from ramp_env.trajectories import message_trains

_PROBE = "RAMP_TOOL_ROLE_PROBE_7f3a"


def resolve_tool_role(tokenizer: Any, requested: str = "auto") -> str:
    """The template role environment feedback is sent as: ``"tool"`` or ``"user"``.

    ``"auto"`` picks ``"tool"`` when the chat template renders a tool message after
    an assistant turn (ChatML, Qwen2.5, LLaMA-3.x) and ``"user"`` when it raises or
    drops it (templates that only know user/assistant).
    """
    if requested in ("tool", "user"):
        return requested
    if requested != "auto":
        raise InvalidOptionError(f"tool_role must be 'auto', 'tool' or 'user', got {requested!r}")
    probe = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
        {"role": "tool", "content": _PROBE},
    ]
    try:
        text = tokenizer.apply_chat_template(probe, tokenize=False)
    except Exception:
        return "user"
    return "tool" if _PROBE in text else "user"


def template_messages(messages: Sequence[Mapping[str, Any]], tool_role: str) -> list[dict[str, str]]:
    """Messages as the template wants them: ``tool`` mapped to ``tool_role``, extra keys dropped."""
    out = []
    for message in messages:
        role = message["role"]
        out.append({"role": tool_role if role == "tool" else role, "content": message["content"]})
    return out


def render(tokenizer: Any, messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool = False) -> str:
    """The chat template's text for ``messages`` (already mapped with :func:`template_messages`)."""
    if not messages:
        return ""
    return tokenizer.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
    )


def encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids of a piece of rendered chat text (special-token strings map to their ids)."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


@dataclass
class TokenizedConversation:
    """A rendered conversation: ``input_ids`` and ``train_mask`` (1 = a token the model learns)."""

    input_ids: list[int]
    train_mask: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def labels(self) -> list[int]:
        """``input_ids`` with untrained positions set to -100 (the ignore index of the LM loss)."""
        return [t if m else -100 for t, m in zip(self.input_ids, self.train_mask)]


def _suffix(longer: str, shorter: str, what: str) -> str:
    if not longer.startswith(shorter):
        raise InvalidOptionError(
            f"the chat template does not render the conversation as a growing prefix ({what}), so the "
            "tokens of each message cannot be told apart; use a template that keeps earlier turns "
            "unchanged (ChatML, LLaMA-3.x) or pass an edited chat_template"
        )
    return longer[len(shorter) :]


def tokenize_conversation(
    tokenizer: Any,
    messages: Sequence[Mapping[str, Any]],
    tool_role: str = "auto",
    add_generation_prompt: bool = False,
) -> TokenizedConversation:
    """Token ids of a chat and which of them train (see the module docs).

    Messages train by :func:`ramp_env.trajectories.message_trains` (``assistant``
    by default, or their ``train`` flag). For an assistant message the template's
    turn header (``<|im_start|>assistant\\n``) never trains; its content and closing
    (``...<|im_end|>\\n``) do. With ``add_generation_prompt`` the ids end with the
    header of a new assistant turn (a prompt for generation).
    """
    role = resolve_tool_role(tokenizer, tool_role)
    mapped = template_messages(messages, role)
    ids: list[int] = []
    mask: list[int] = []
    rendered = ""
    for i, message in enumerate(messages):
        pieces: list[tuple[str, int]] = []
        if message["role"] == "assistant":
            with_header = render(tokenizer, mapped[:i], add_generation_prompt=True)
            pieces.append((_suffix(with_header, rendered, f"assistant header of message {i}"), 0))
            rendered = with_header
        full = render(tokenizer, mapped[: i + 1])
        pieces.append((_suffix(full, rendered, f"message {i}"), int(message_trains(message))))
        rendered = full
        for text, trains in pieces:
            piece_ids = encode(tokenizer, text)
            ids.extend(piece_ids)
            mask.extend([trains] * len(piece_ids))
    if add_generation_prompt:
        header = _suffix(render(tokenizer, mapped, add_generation_prompt=True), rendered, "generation prompt")
        header_ids = encode(tokenizer, header)
        ids.extend(header_ids)
        mask.extend([0] * len(header_ids))
    return TokenizedConversation(ids, mask)

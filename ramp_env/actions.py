"""The agent's text actions: parsing them and writing them (this module owns the format).

An action is text containing one tag:

* ``<search>query</search>``: run a search;
* ``<answer>...</answer>``: fill the masks and end the episode. Inside, one line
  per mask as ``[mask_i]: text`` (also ``mask_i: text``), or, with no labels at
  all, one answer per line in mask order (a single line may separate answers
  with ``;``).

Text around the tag (reasoning, ``<think>`` blocks) is allowed and ignored. The
first complete tag in the text is the action. Every other outcome is defined
here and never raises; each problem gets a code in :attr:`ParsedAction.errors`:

=====================  ==========================================================  ===========================
code                   when                                                        effect
=====================  ==========================================================  ===========================
``not_text``           the action is not a ``str`` (nor UTF-8 ``bytes``)           invalid: penalty, no-op
``non_utf8``           ``bytes`` that are not valid UTF-8                          invalid: penalty, no-op
``too_long``           longer than ``max_chars``                                   invalid: penalty, no-op
``no_tag``             neither tag present                                         invalid: penalty, no-op
``unclosed_tag``       ``<search>``/``<answer>`` without its closing tag           invalid: penalty, no-op
``empty_query``        ``<search></search>`` with nothing to search                invalid: penalty, no-op
``multiple_answers``   more than one ``<answer>`` block                            graded on the first; penalty
``unknown_mask``       a label ``[mask_i]`` with ``i`` outside ``1..k``            line ignored; penalty
``duplicate_mask``     the same mask answered twice                                first answer kept; penalty
``unlabeled_line``     an unlabeled line among labeled ones                        line ignored; penalty
``empty_answer``       ``<answer></answer>`` with nothing in it                    graded (all masks 0); penalty
=====================  ==========================================================  ===========================

Masks left unanswered score 0 but are not a format error.

Writers (agents, the CLI, wrappers, benchmarks) build actions with :func:`format_search` and
:func:`format_answer`, whose output :func:`parse_action` reads back as the same query and
answers (whitespace collapsed, the action tags inside removed). Text generation stops at
:data:`STOP_STRINGS`, the closing tags.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# Tags are found with these plain patterns and explicit scanning, not one
# ``<(search|answer)>(.*?)</\1>`` regex: that regex retries its lazy scan to the
# end of the text from every unclosed opening tag, quadratic in the action's
# length (a degenerate "<search><search>..." LLM output of 40k characters took
# 4 s a step). Every function below is linear.
_OPEN = re.compile(r"<(search|answer)>", re.IGNORECASE)
_CLOSE = {tag: re.compile(f"</{tag}>", re.IGNORECASE) for tag in ("search", "answer")}
# the tags of the format, as an agent writes them; a model's generation stops at a closing tag
CLOSING_TAGS: dict[str, str] = {"<search>": "</search>", "<answer>": "</answer>"}
STOP_STRINGS: tuple[str, ...] = tuple(CLOSING_TAGS.values())
_ANY_TAG = re.compile(r"</?(?:search|answer)>", re.IGNORECASE)
_LABEL = re.compile(r"^\s*[\[(<]?\s*mask[\s_-]*(\d{1,6})\s*[\])>]?\s*[:=\-–]\s*(.*?)\s*$", re.IGNORECASE)

FORMAT_ERRORS = (
    "not_text",
    "non_utf8",
    "too_long",
    "no_tag",
    "unclosed_tag",
    "empty_query",
    "multiple_answers",
    "unknown_mask",
    "duplicate_mask",
    "unlabeled_line",
    "empty_answer",
)
MESSAGES = {
    "not_text": "the action must be text",
    "non_utf8": "the action is not valid UTF-8 text",
    "too_long": "the action is too long",
    "no_tag": "no <search>...</search> or <answer>...</answer> tag found",
    "unclosed_tag": "a <search> or <answer> tag is not closed",
    "empty_query": "the search query is empty",
    "multiple_answers": "several <answer> blocks: only the first was graded",
    "unknown_mask": "an answer names a mask that does not exist",
    "duplicate_mask": "a mask was answered twice: the first answer was kept",
    "unlabeled_line": "an unlabeled answer line among [mask_i]: lines was ignored",
    "empty_answer": "the answer is empty",
}


@dataclass
class ParsedAction:
    """What an action asks for. ``kind`` is ``"invalid"`` when it cannot be carried out."""

    kind: Literal["search", "answer", "invalid"]
    query: str = ""
    answers: dict[int, str] = field(default_factory=dict)  # mask number (1-based) -> text
    errors: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "; ".join(MESSAGES[e] for e in self.errors)


def _as_text(action: object, max_chars: int) -> tuple[str | None, str | None]:
    if isinstance(action, bytes | bytearray):
        if len(action) > 4 * max_chars:
            return None, "too_long"
        try:
            action = bytes(action).decode("utf-8")
        except UnicodeDecodeError:
            return None, "non_utf8"
    elif hasattr(action, "item") and getattr(action, "shape", None) == ():  # 0-d numpy string
        action = action.item()
    if not isinstance(action, str):
        return None, "not_text"
    if len(action) > max_chars:
        return None, "too_long"
    try:
        action.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None, "non_utf8"
    return action, None


def parse_answer_block(content: str, num_masks: int) -> tuple[dict[int, str], list[str]]:
    """Mask answers in an ``<answer>`` block, and the format errors found."""
    errors: list[str] = []
    lines = [line for line in content.splitlines() if line.strip()]
    labeled: list[tuple[int, str]] = []
    unlabeled: list[str] = []
    for line in lines:
        m = _LABEL.match(line)
        if m:
            labeled.append((int(m.group(1)), m.group(2)))
        else:
            unlabeled.append(line.strip())
    answers: dict[int, str] = {}
    if not lines:
        errors.append("empty_answer")
    elif labeled:
        for number, text in labeled:
            if not 1 <= number <= num_masks:
                if "unknown_mask" not in errors:
                    errors.append("unknown_mask")
            elif number in answers:
                if "duplicate_mask" not in errors:
                    errors.append("duplicate_mask")
            else:
                answers[number] = text
        if unlabeled:
            errors.append("unlabeled_line")
    else:
        if len(unlabeled) == 1 and num_masks > 1 and ";" in unlabeled[0]:
            unlabeled = [part.strip() for part in unlabeled[0].split(";")]
        for number, text in enumerate(unlabeled[:num_masks], start=1):
            answers[number] = text
        if len(unlabeled) > num_masks:
            errors.append("unknown_mask")
    return answers, errors


def _first_complete_tag(text: str) -> tuple[str, str] | None:
    """``(tag, content)`` of the leftmost opening tag that has a closing tag after it."""
    last_close = {}
    for tag, pattern in _CLOSE.items():
        last = None
        for last in pattern.finditer(text):  # we want the last match
            pass
        last_close[tag] = -1 if last is None else last.start()
    for opening in _OPEN.finditer(text):
        tag = opening.group(1).lower()
        if opening.end() <= last_close[tag]:
            closing = _CLOSE[tag].search(text, opening.end())
            assert closing is not None  # a closing tag exists at or after last_close[tag]
            return tag, text[opening.end() : closing.start()]
    return None


def _count_answer_blocks(text: str) -> int:
    """Non-overlapping ``<answer>...</answer>`` blocks, scanning left to right once."""
    count, pos = 0, 0
    while True:
        opening = _OPEN.search(text, pos)
        while opening is not None and opening.group(1).lower() != "answer":
            opening = _OPEN.search(text, opening.end())
        if opening is None:
            return count
        closing = _CLOSE["answer"].search(text, opening.end())
        if closing is None:
            return count
        count, pos = count + 1, closing.end()


def parse_action(action: object, num_masks: int, max_chars: int = 4096) -> ParsedAction:
    """Parse one agent action; never raises (see the module docs for every outcome)."""
    text, error = _as_text(action, max_chars)
    if text is None:
        return ParsedAction("invalid", errors=[error or "not_text"])
    match = _first_complete_tag(text)
    if match is None:
        return ParsedAction("invalid", errors=["unclosed_tag" if _OPEN.search(text) else "no_tag"])
    tag, content = match
    if tag == "search":
        query = " ".join(content.split())
        if not query:
            return ParsedAction("invalid", errors=["empty_query"])
        return ParsedAction("search", query=query)
    answers, errors = parse_answer_block(content, num_masks)
    if _count_answer_blocks(text) > 1:
        errors.insert(0, "multiple_answers")
    return ParsedAction("answer", answers=answers, errors=errors)


def clean_field(text: str) -> str:
    """``text`` as one field of an action: the action tags inside removed, whitespace (line
    breaks included) collapsed to single spaces, so it can neither end the tag nor add a line."""
    # each tag becomes a space, never "", so removing one cannot join the text around it into a new tag
    return " ".join(_ANY_TAG.sub(" ", text).split())


def format_search(query: str) -> str:
    """The ``<search>`` action for ``query`` (see :func:`clean_field`)."""
    return f"<search>{clean_field(query)}</search>"


def format_answer(answers: Mapping[int, str]) -> str:
    """The ``<answer>`` action with one ``[mask_i]: text`` line per mask, in mask order.

    ``answers`` maps a mask number (1-based) to its text (see :func:`clean_field`); a mask
    it leaves out is unanswered.
    """
    lines = "\n".join(f"[mask_{n}]: {clean_field(answers[n])}" for n in sorted(answers))
    return f"<answer>\n{lines}\n</answer>"

"""The roles of MaskSearch's multi-agent trajectory synthesis: prompts in, parsed decisions out.

Each role builds the chat it sends to an LLM backend and parses the reply into
a decision the pipeline can act on. Small models often ignore the requested
format, so every parser has a fallback that keeps the episode going (a
fallback is recorded in the trajectory's provenance, so filters can see it):

* :class:`Planner`: decomposes the masked passage into one sub-question per mask.
* :class:`Rewriter`: turns a sub-question into a search query.
* :class:`Observer`: reads the search results and proposes the mask's fill, or says it is not there.

The judge, which keeps only correct trajectories, is in :mod:`agents.synthesis.judge`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agents.synthesis.backends import Messages
from ramp_env.masking import mask_token
from ramp_env.prompts import task_text
from ramp_env.text.tokenize import sentence_spans

_MASK = re.compile(r"\[mask_(\d+)\]")
_PLAN_LINE = re.compile(r"\[?\s*mask[\s_-]*(\d{1,3})\s*\]?\s*[:=\-–]\s*(.*)", re.IGNORECASE)
_PREFIX = re.compile(r"^\s*(?:search\s+)?(?:query|question|answer|fill)\s*[:=-]\s*", re.IGNORECASE)
_ANSWER = re.compile(r"ANSWER\s*[:=-]\s*(.+)", re.IGNORECASE)
_RESULT_NUMBER = re.compile(r"^\s*\[\d+\]\s*")
_NOT_FOUND = re.compile(r"\bNOT[\s_-]*FOUND\b", re.IGNORECASE)
MAX_QUERY_WORDS = 24
MAX_FILL_WORDS = 12


def plain(text: str, limit: int = 400) -> str:
    """Role output made safe to embed in an action: no tag brackets, one line, bounded."""
    return " ".join(text.replace("<", " ").replace(">", " ").split())[:limit]


@dataclass
class Decision:
    """A parsed role reply: the ``value`` acted on, and whether a ``fallback`` produced it."""

    value: Any
    fallback: bool = False


class Planner:
    """Decomposes a masked passage into one sub-question per mask."""

    system = (
        "You plan how to recover the hidden spans [mask_1], [mask_2], ... of a Wikipedia passage with a search "
        "engine. For every mask write one short question whose answer is exactly the hidden text. Reply with one "
        "line per mask, like:\n[mask_1]: Who founded the company?\n[mask_2]: In which year did it open?"
    )
    max_new_tokens = 128

    def messages(self, observation: Mapping[str, Any]) -> Messages:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": task_text(observation)}]

    def parse(self, reply: str, observation: Mapping[str, Any]) -> Decision:
        """``{mask number: sub-question}`` for every mask; masks the reply misses get the mask's sentence."""
        k = int(observation["num_masks"])
        questions: dict[int, str] = {}
        for line in reply.splitlines():
            match = _PLAN_LINE.search(line)  # a label anywhere in the line ("Sure! [mask_2]: ...")
            if match and 1 <= int(match.group(1)) <= k and plain(match.group(2)):
                questions.setdefault(int(match.group(1)), plain(match.group(2), 300))
        if not questions and k == 1 and reply.strip().endswith("?") and len(reply.strip().splitlines()) == 1:
            questions[1] = plain(reply, 300)  # one unlabeled question for the one mask
        fallback = len(questions) < k
        for i in range(1, k + 1):
            questions.setdefault(i, self.fallback_question(str(observation["passage"]), i))
        return Decision(questions, fallback)

    @staticmethod
    def fallback_question(passage: str, i: int) -> str:
        """The sentence holding ``[mask_i]``, with that mask as "what" and other masks dropped."""
        token = mask_token(i)
        at = passage.find(token)
        if at < 0:
            return f"What is {token}?"
        sentence = next((passage[s:e] for s, e in sentence_spans(passage) if s <= at < e), passage)
        sentence = sentence.replace(token, "what")
        return plain(_MASK.sub("", sentence), 300)


class Rewriter:
    """Turns a sub-question into a keyword query for the BM25 search tool."""

    system = (
        "Rewrite the question as a short keyword query for a Wikipedia search engine. Keep names, dates and "
        "distinctive words. Reply with the query only."
    )
    max_new_tokens = 32

    def messages(self, question: str, title: str, tried: Sequence[str] = ()) -> Messages:
        content = (f"Article: {title}\n" if title else "") + f"Question: {question}"
        if tried:
            content += "\nQueries already tried (find a different one): " + "; ".join(tried)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": content}]

    def parse(self, reply: str, question: str, title: str) -> Decision:
        line = next((ln for ln in reply.splitlines() if ln.strip()), "")
        query = plain(_PREFIX.sub("", line).strip(" \"'`"), 300)
        if query and len(query.split()) <= MAX_QUERY_WORDS:
            return Decision(query)
        fallback = plain(f"{title} {_MASK.sub('', question)}".replace("?", " "), 300)
        return Decision(" ".join(fallback.split()[:MAX_QUERY_WORDS]), True)


class Observer:
    """Reads search results and proposes the text of one mask, or reports it is not there."""

    system = (
        "You read search results to recover one hidden span of a passage. If the results contain it, reply "
        "'ANSWER: <the exact words>' (a name, date or number, as short as possible). If they do not, reply "
        "'NOT FOUND'."
    )
    max_new_tokens = 32

    def messages(self, observation: Mapping[str, Any], i: int, question: str) -> Messages:
        content = (
            f"{task_text(observation)}\nHidden span to recover: {mask_token(i)}\nQuestion: {question}\n"
            f"Search results:\n{observation.get('results') or '(none)'}"
        )
        return [{"role": "system", "content": self.system}, {"role": "user", "content": content}]

    def parse(self, reply: str) -> Decision:
        """The proposed fill (``None`` = not found). Without ``ANSWER:``, a short first line counts as one."""
        match = _ANSWER.search(reply)
        if match:
            fill = plain(match.group(1).splitlines()[0] if match.group(1) else "", 200).strip(" .\"'")
            return Decision(fill or None)
        if _NOT_FOUND.search(reply):
            return Decision(None)
        line = plain(next((ln for ln in reply.splitlines() if ln.strip()), ""), 200)
        line = _RESULT_NUMBER.sub("", line).strip(" .\"'")  # "[1] Kolkata": a result header copied over
        if line and len(line.split()) <= MAX_FILL_WORDS:
            return Decision(line, True)
        return Decision(None, True)

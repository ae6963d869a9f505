"""The roles of MaskSearch's multi-agent trajectory synthesis: prompts in, parsed decisions out.

Each role builds the chat it sends to an LLM backend and parses the reply into
a decision the pipeline can act on. Small models often ignore the requested
format, so every parser has a fallback that keeps the episode going (a
fallback is recorded in the trajectory's provenance, so filters can see it):

* :class:`Planner`: reasons about the masked passage and decomposes it freely into
  sub-questions (any number per mask).
* :class:`Rewriter`: turns a sub-question into several search queries.
* :class:`Observer`: reflects on the search results and proposes the mask's fill, or says it is not there.

Each decision also carries the role's own words (``Decision.text``: the
planner's reasoning, the observer's reflection), which the pipeline writes
into the trajectory's ``<think>`` turns: with an LLM backend the chain of
thought is the model's, not a template.

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
_LIST_MARK = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+")
MAX_QUERY_WORDS = 24
MAX_FILL_WORDS = 12


def plain(text: str, limit: int = 400) -> str:
    """Role output made safe to embed in an action: no tag brackets, one line, bounded."""
    return " ".join(text.replace("<", " ").replace(">", " ").split())[:limit]


@dataclass
class Decision:
    """A parsed role reply: the ``value`` acted on, whether a ``fallback`` produced it, and
    ``text``: the role's own reasoning in the reply ("" when it wrote none)."""

    value: Any
    fallback: bool = False
    text: str = ""


class Planner:
    """Reasons about a masked passage and decomposes it into sub-questions (MaskSearch's planner).

    The decomposition is free: a mask may get several sub-questions (they are joined and
    searched for together), and unlabeled lines are the planner's reasoning.
    """

    system = (
        "You plan how to recover the hidden spans [mask_1], [mask_2], ... of a Wikipedia passage with a search "
        "engine. First reason in a sentence or two about what the passage is about and what each mask hides. "
        "Then write the sub-questions you need answered, as many as you need, each on its own line labeled "
        "with the mask it helps fill, like:\n[mask_1]: Who founded the company?\n"
        "[mask_2]: Which city is the company based in?\n[mask_2]: In which year did it open there?"
    )
    max_new_tokens = 160

    def messages(self, observation: Mapping[str, Any]) -> Messages:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": task_text(observation)}]

    def parse(self, reply: str, observation: Mapping[str, Any]) -> Decision:
        """``{mask number: sub-question}`` for every mask; masks the reply misses get the mask's sentence."""
        k = int(observation["num_masks"])
        found: dict[int, list[str]] = {}
        reasoning: list[str] = []
        for line in reply.splitlines():
            match = _PLAN_LINE.search(line)  # a label anywhere in the line ("Sure! [mask_2]: ...")
            if match and 1 <= int(match.group(1)) <= k and plain(match.group(2)):
                found.setdefault(int(match.group(1)), []).append(plain(match.group(2), 300))
            elif plain(line) and not match:
                reasoning.append(plain(line))
        if not found and k == 1 and reply.strip().endswith("?") and len(reply.strip().splitlines()) == 1:
            found[1] = [plain(reply, 300)]  # one unlabeled question for the one mask
            reasoning = []
        questions = {i: plain(" ".join(qs), 300) for i, qs in found.items()}
        fallback = len(questions) < k
        for i in range(1, k + 1):
            questions.setdefault(i, self.fallback_question(str(observation["passage"]), i))
        return Decision(questions, fallback, plain(" ".join(reasoning), 600))

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
    """Turns a sub-question into keyword queries for the BM25 search tool (several, as in MaskSearch)."""

    system = (
        "Rewrite the question as short keyword queries for a Wikipedia search engine, up to three different "
        "ones, one per line, best first. Keep names, dates and distinctive words. Reply with the queries only."
    )
    max_new_tokens = 64

    def messages(self, question: str, title: str, tried: Sequence[str] = ()) -> Messages:
        content = (f"Article: {title}\n" if title else "") + f"Question: {question}"
        if tried:
            content += "\nQueries already tried (find a different one): " + "; ".join(tried)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": content}]

    def parse(self, reply: str, question: str, title: str) -> Decision:
        """The reply's first query (see :meth:`parse_many`)."""
        many = self.parse_many(reply, question, title)
        return Decision(many.value[0], many.fallback)

    def parse_many(self, reply: str, question: str, title: str, limit: int = 3) -> Decision:
        """Up to ``limit`` distinct queries, one per reply line (list numbering and "Query:"
        prefixes stripped; over-long lines skipped); fallback: title + question."""
        queries: list[str] = []
        for line in reply.splitlines():
            query = plain(_PREFIX.sub("", _LIST_MARK.sub("", line)).strip(" \"'`"), 300)
            if query and len(query.split()) <= MAX_QUERY_WORDS and query not in queries:
                queries.append(query)
            if len(queries) == limit:
                break
        if queries:
            return Decision(queries)
        fallback = plain(f"{title} {_MASK.sub('', question)}".replace("?", " "), 300)
        return Decision([" ".join(fallback.split()[:MAX_QUERY_WORDS])], True)


class Observer:
    """Reflects on search results and proposes the text of one mask, or reports it is not there."""

    system = (
        "You read search results to recover one hidden span of a passage. First reflect in one sentence on "
        "what the results say about it. Then, if the results contain it, write 'ANSWER: <the exact words>' "
        "(a name, date or number, as short as possible); if they do not, write 'NOT FOUND'."
    )
    max_new_tokens = 64

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
            return Decision(fill or None, text=self.reflection(reply[: match.start()]))
        not_found = _NOT_FOUND.search(reply)
        if not_found:
            return Decision(None, text=self.reflection(reply[: not_found.start()]))
        line = plain(next((ln for ln in reply.splitlines() if ln.strip()), ""), 200)
        line = _RESULT_NUMBER.sub("", line).strip(" .\"'")  # "[1] Kolkata": a result header copied over
        if line and len(line.split()) <= MAX_FILL_WORDS:
            return Decision(line, True)
        return Decision(None, True)

    @staticmethod
    def reflection(text: str) -> str:
        """The observer's reasoning before its verdict, one bounded line."""
        return plain(text, 400).rstrip(" :-")

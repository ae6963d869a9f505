"""MultiHopQA-v0: answer multi-hop questions with the RAMP agent interface and search tool.

The env is a :class:`~ramp_env.envs.ramp.RAMPEnv` whose task is a question
shown as a one-mask cloze (:class:`QATask` quacks like a ``MaskedTask``), so the
search budget, action parsing, format penalties, observation layout, rendering
and pickling are RAMP-v0's own code, and every RAMP tool (agents, the
evaluation harness, trajectory recording, the synthesis teachers) runs on it
unchanged. What differs is overridden here: where tasks come from, grading
against aliases, the extra ``question`` key, and no span table or masking.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Literal

from ramp_env.actions import ParsedAction
from ramp_env.corpus.prepared import DEFAULT_CORPUS, PreparedCorpus
from ramp_env.corpus.store import SpanTable
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking import mask_token
from ramp_env.qa.coverage import (
    EVIDENCE_REQUIREMENTS,
    CoverageReport,
    EvidenceRequirement,
    corpus_titles,
    evidence_coverage,
    filter_by_evidence,
)
from ramp_env.qa.example import QAExample
from ramp_env.qa.loaders import DEFAULT_DATASET, load_qa
from ramp_env.qa.scoring import answer_metrics, best_over_aliases
from ramp_env.retrieval.base import Retriever
from ramp_env.text.charset import clean_text, text_charset
from ramp_env.text.spans import SpanExtractor
from ramp_env.spaces import text_space

_ANSWER_BLOCK = re.compile(r"(<answer>)(.*?)(</answer>)", re.IGNORECASE | re.DOTALL)
_MASK_LABEL = re.compile(r"^\s*[\[(<]?\s*mask[\s_-]*\d", re.IGNORECASE | re.MULTILINE)


def question_as_passage(question: str) -> str:
    """The question as a one-mask cloze, so agents written for RAMP read it unchanged.

    The mask leads, in the same sentence as the question: agents that read the
    words around a mask (the BM25 heuristic builds its queries from them) then
    see the question's words, not a lone "Answer:" split off by the sentence splitter.
    """
    return f"{mask_token(1)} is the answer to: {question}"


def join_answer_lines(action: object) -> object:
    """Bare answer text over several lines (a list answer) becomes one line joined by ``"; "``.

    Labeled answers (``[mask_1]: ...``) and anything that is not text pass unchanged,
    so RAMP's parser grades them with its usual format checks.
    """
    if not isinstance(action, str):
        return action

    def join(match: re.Match[str]) -> str:
        content = match.group(2)
        if _MASK_LABEL.search(content):
            return match.group(0)
        lines = [line.strip() for line in content.splitlines() if line.strip()]
        return f"{match.group(1)}{'; '.join(lines)}{match.group(3)}"

    return _ANSWER_BLOCK.sub(join, action, count=1)


@dataclass(frozen=True)
class QATask:
    """A :class:`QAExample` seen through ``MaskedTask``'s fields: one mask, the question as its passage.

    ``answers`` holds the main gold answer (one per mask, as in RAMP); every
    accepted alias is in ``example.answers``.
    """

    example: QAExample

    @property
    def passage_id(self) -> str:
        return self.example.id

    @property
    def title(self) -> str:
        return ""

    @property
    def text(self) -> str:
        return self.example.question

    @property
    def masked_text(self) -> str:
        return question_as_passage(clean_text(self.example.question))

    @property
    def answers(self) -> tuple[str, ...]:
        return (self.example.answer,)

    @property
    def num_masks(self) -> int:
        return 1


class MultiHopQAEnv(RAMPEnv):
    """
    ## Description

    Downstream evaluation of RAMP-trained search agents (MaskSearch, arXiv
    2505.20285, section 4): each episode is a multi-hop question from a QA
    dataset (FanoutQA's dev set by default, or HotpotQA, 2WikiMultiHopQA,
    MuSiQue, Bamboogle, FlashRAG files), answered with the same search tool and
    the same actions as ``RAMP-v0``. The reward compares the final answer with the
    gold answers (best over aliases).

    ## Action Space

    ``Text``, as in ``RAMP-v0``: ``<search>query</search>`` or
    ``<answer>text</answer>`` (``<answer>[mask_1]: text</answer>`` is the same
    answer; several lines of bare text are joined with ``"; "``). Anything else is
    a format error costing ``format_penalty``.

    ## Observation Space

    ``RAMP-v0``'s ``Dict`` plus ``question``, so RAMP agents run unchanged:

    | key             | content                                                        |
    |-----------------|----------------------------------------------------------------|
    | ``title``       | always ``""`` (a question has no article)                      |
    | ``question``    | the question                                                   |
    | ``passage``     | the question as a cloze: ``"[mask_1] is the answer to: ..."``  |
    | ``results``     | the latest search results, numbered                            |
    | ``message``     | feedback on the last action                                    |
    | ``num_masks``   | always 1 (the answer)                                          |
    | ``searches_left``, ``steps_left`` | budgets, as in RAMP-v0                       |

    ## Rewards

    0 for a search, ``-format_penalty`` for a malformed action. On ``<answer>``:
    ``reward`` (token F1 by default; ``"em"``, ``"recall"``, any name in
    ``ramp_env.rewards.REWARDS`` or a judge) of the answer against the
    best-matching gold alias, minus ``format_penalty`` if the answer block had
    format errors. ``info["answer_metrics"]`` always holds ``em``, ``f1``,
    ``recall`` and, for list or table answers (FanoutQA), ``parts``: the share of
    answer items named (FanoutQA's loose accuracy).

    ## Starting State

    A question drawn uniformly with ``self.np_random`` (``order="random"``: the
    seed decides the question, so seeded evaluations pose the same questions to
    every agent), or the next one in file order (``order="sequential"``: the
    ``i``-th reset since construction poses question ``i mod n`` whatever the seed).
    ``reset(options={"question_id": id})`` (alias ``passage_id``) or ``{"index": i}``
    picks one, to evaluate every question exactly once.

    ## Episode End

    Terminated after an ``<answer>``; truncated after ``max_steps`` steps.

    ## Info

    As in ``RAMP-v0``; on the step that ends the episode ``answers`` holds every accepted
    alias, ``per_mask_scores`` the one score and ``answer_metrics`` the metrics.

    ## Arguments

    * ``dataset``: ``"fanoutqa-dev"`` (default; 310 questions from the ``fanoutqa``
      package) or a QA file (see :mod:`ramp_env.qa.loaders`); ``dataset_format`` forces a format.
    * ``require_evidence``: ``"none"`` (default), ``"any"`` or ``"all"``: keep only questions
      with some or all supporting titles in the corpus (``coverage()`` reports the counts).
    * ``limit``: use only the first ``limit`` questions. ``order``: see Starting State.
    * ``corpus``, ``retriever``, ``top_k``, ``max_searches``, ``max_steps``, ``format_penalty``,
      ``answers_in_info``, ``max_action_chars``, ``max_hit_chars``, ``cache_dir``, ``progress``, ``render_mode``:
      as in ``RAMP-v0``.
    * ``reward``: see Rewards.
    * ``span_extractor``: extractor of the corpus spans ``env.unwrapped.spans`` opens (built on
      first use only, for agents that read spans; the env itself needs none).
    * ``max_question_chars``: longer questions are cut (2000).

    ## Version History

    * v0: initial version.
    """

    def __init__(
        self,
        dataset: str | os.PathLike[str] = DEFAULT_DATASET,
        dataset_format: str | None = None,
        require_evidence: EvidenceRequirement = "none",
        limit: int | None = None,
        order: Literal["random", "sequential"] = "random",
        corpus: str | os.PathLike[str] = DEFAULT_CORPUS,
        retriever: str | Retriever = "tantivy",
        span_extractor: str | SpanExtractor = "auto",
        top_k: int = 3,
        max_searches: int = 4,
        max_steps: int | None = None,
        reward: str | Any = "f1",
        format_penalty: float = 0.1,
        answers_in_info: bool = False,
        max_action_chars: int = 4096,
        max_hit_chars: int = 1200,
        max_question_chars: int = 2000,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if require_evidence not in EVIDENCE_REQUIREMENTS:
            raise ValueError(f"require_evidence must be one of {EVIDENCE_REQUIREMENTS}, got {require_evidence!r}")
        if order not in ("random", "sequential"):
            raise ValueError(f"order must be 'random' or 'sequential', got {order!r}")
        self._titles: frozenset[str] | None = None
        self._spans: SpanTable | None = None
        super().__init__(
            corpus=corpus, num_masks=1, span_extractor=span_extractor, retriever=retriever, top_k=top_k,
            max_searches=max_searches, max_steps=max_steps, reward=reward, format_penalty=format_penalty,
            allow_source_in_results=True,  # the question is in no passage: nothing to hide
            answers_in_info=answers_in_info, show_title=False, max_action_chars=max_action_chars,
            max_hit_chars=max_hit_chars, max_passage_chars=max_question_chars + 64, cache_dir=cache_dir,
            progress=progress, render_mode=render_mode,
        )
        self.max_question_chars = max_question_chars
        self.order = order
        self.require_evidence: EvidenceRequirement = require_evidence
        self.all_examples: list[QAExample] = load_qa(dataset, fmt=dataset_format, limit=limit)
        self.examples = (
            self.all_examples
            if require_evidence == "none"
            else filter_by_evidence(self.all_examples, self.titles, require_evidence)
        )
        if not self.examples:
            raise ValueError(
                f"no question of {dataset} meets require_evidence={require_evidence!r} in corpus {corpus}; "
                f"{self.coverage().summary()}"
            )
        self._index_of = {e.id: i for i, e in enumerate(self.examples)}
        self.observation_space.spaces["question"] = text_space(max_question_chars, text_charset())
        self._cursor = 0
        self._chosen: QATask | None = None

    # -- resources: the corpus and its retriever; spans only on demand -------------------------

    def _open_resources(self) -> None:
        cfg = self._config
        self.corpus = PreparedCorpus.open(cfg["corpus"], cache_dir=cfg["cache_dir"], progress=cfg["progress"])
        backend = cfg["retriever"]
        self.retriever: Retriever = self.corpus.retriever(backend) if isinstance(backend, str) else backend

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_spans"] = None  # an open SQLite table; reopened on demand
        return state

    @property
    def spans(self) -> SpanTable:  # type: ignore[override]
        """The corpus's salient spans, built on first use (for agents that read them, e.g. closed-book priors)."""
        if self._spans is None:
            self._spans = self.corpus.span_table(self._config["span_extractor"], spacy_model=self._config["spacy_model"])
        return self._spans

    @property
    def titles(self) -> frozenset[str]:
        """Normalised titles of the corpus (one pass over the passage store, then kept)."""
        if self._titles is None:
            self._titles = corpus_titles(self.corpus.store)
        return self._titles

    def coverage(self) -> CoverageReport:
        """How many of the dataset's questions (before ``require_evidence``) have their evidence in the corpus."""
        return evidence_coverage(self.all_examples, self.titles)

    # -- tasks -----------------------------------------------------------------------------------

    def set_num_masks(self, num_masks: int) -> None:
        if int(num_masks) != 1:
            raise ValueError(f"MultiHopQA-v0 has exactly one answer slot; got num_masks={num_masks!r}")

    def sample_task(self, num_masks: int | None = None) -> QATask:  # type: ignore[override]
        """The next question: the one ``reset`` options named, else uniform with ``self.np_random`` or in order."""
        self.set_num_masks(1 if num_masks is None else num_masks)
        if self._chosen is not None:
            task, self._chosen = self._chosen, None
            return task
        if self.order == "sequential":
            example = self.examples[self._cursor % len(self.examples)]
            self._cursor += 1
            return QATask(example)
        return QATask(self.examples[int(self.np_random.integers(len(self.examples)))])

    def episode_options(self, episode: int) -> dict[str, Any]:
        """Reset options for evaluation episode ``episode`` (the harness asks): with
        ``order="sequential"`` question ``episode mod n``, so every agent, every concurrent
        slot and a resumed run pose the same question per episode number; ``{}`` with
        ``order="random"``, where the episode's seed already decides the question."""
        return {"index": episode % len(self.examples)} if self.order == "sequential" else {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode. ``options``: ``question_id`` (or ``passage_id``) or ``index`` (position in ``examples``)."""
        options = dict(options or {})
        qid = options.pop("question_id", options.pop("passage_id", None))
        index = options.pop("index", None)
        if qid is not None:
            if str(qid) not in self._index_of:
                raise ValueError(f"question_id {qid!r} is not among this env's {len(self.examples)} questions")
            self._chosen = QATask(self.examples[self._index_of[str(qid)]])
        elif index is not None:
            if not 0 <= int(index) < len(self.examples):
                raise ValueError(f"index must be in 0..{len(self.examples) - 1}, got {index}")
            self._chosen = QATask(self.examples[int(index)])
        return super().reset(seed=seed, options=options)

    # -- acting and grading ----------------------------------------------------------------------

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(join_answer_lines(action))  # type: ignore[arg-type]
        if truncated and not terminated:
            info["answer_metrics"] = answer_metrics(None, self.example)
        return observation, reward, terminated, truncated, info

    @property
    def example(self) -> QAExample:
        """The current question."""
        if self.task is None:
            raise RuntimeError("call reset() first")
        return self.task.example  # type: ignore[union-attr]

    def _grade(self, parsed: ParsedAction) -> tuple[float, dict[str, Any]]:
        prediction = parsed.answers.get(1)
        score = best_over_aliases(self.reward_fn, prediction, self.example)
        penalty = self.format_penalty if parsed.errors else 0.0
        return score - penalty, {
            "per_mask_scores": [score],
            "reward_components": {"format": -penalty if penalty else 0.0, self.reward_fn.name: score},
            "predictions": [prediction],
            "answer_metrics": answer_metrics(prediction, self.example),
        }

    def _observation(self) -> dict[str, Any]:
        observation = super()._observation()
        question = clean_text(self.example.question)[: self.max_question_chars]
        observation["question"] = question
        observation["passage"] = question_as_passage(question)
        return observation

    def _info(self, parsed: ParsedAction | None, retrieved: list[str]) -> dict[str, Any]:
        info = super()._info(parsed, retrieved)
        if self.answers_in_info or self.done:  # RAMP-v0's rule: the ending step reveals the gold answers
            info["answers"] = list(self.example.answers)  # every alias
        return info


__all__ = ["MultiHopQAEnv", "QATask", "join_answer_lines", "question_as_passage"]

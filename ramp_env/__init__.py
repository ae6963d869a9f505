"""ramp-env: Retrieval-Augmented Mask Prediction (MaskSearch) as Gymnasium environments.

Importing the package registers ``RAMP-v0``, ``RAMP-Lite-v0`` (a small corpus for teaching)
and ``MultiHopQA-v0`` (also reachable as ``ramp_env:RAMP-v0`` etc.). Every error the
package raises on purpose subclasses :class:`RampEnvError`, every warning :class:`RampEnvWarning`.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

# the package's error and warning bases (errors.py is tiny and imports nothing)
from ramp_env.errors import DataFormatError, InvalidOptionError, RampEnvError, RampEnvWarning  # noqa: F401

__version__ = "0.1.0"

ENV_IDS = ("RAMP-v0", "RAMP-Lite-v0", "MultiHopQA-v0")

if "RAMP-v0" not in registry:
    register(id="RAMP-v0", entry_point="ramp_env.envs.ramp:RAMPEnv")
if "RAMP-Lite-v0" not in registry:
    register(id="RAMP-Lite-v0", entry_point="ramp_env.envs.ramp_lite:RAMPLiteEnv")
if "MultiHopQA-v0" not in registry:
    register(id="MultiHopQA-v0", entry_point="ramp_env.envs.multihop_qa:MultiHopQAEnv")


# name -> module of the public names loaded on first use
_LAZY = {
    "RAMPEnv": "ramp_env.envs.ramp",
    "RAMPConfig": "ramp_env.envs.config",
    "RAMPLiteConfig": "ramp_env.envs.config",
    "QAConfig": "ramp_env.envs.config",
}


def __getattr__(name: str) -> object:
    # lazy: `import ramp_env` stays cheap (it only registers ids)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ramp_env' has no attribute {name!r}")


__all__ = ["ENV_IDS", "InvalidOptionError", "QAConfig", "RAMPConfig", "RAMPEnv", "RAMPLiteConfig", "RampEnvError",
           "__version__"]

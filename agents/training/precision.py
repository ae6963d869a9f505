"""Float32 master weights for models loaded in half precision.

AdamW stepping bfloat16 parameters directly loses small updates: bf16 keeps 8
significant bits, so an update below ~1/256 of a weight rounds away. One step at
lr 1e-6 changed 1.95% of N(0, 0.02) bf16 weights (100% in float32), which makes
DAPO's 1e-6 close to a no-op. The trainers therefore keep the parameters (the
optimiser's "master weights") in float32 and run forward passes under
``torch.autocast`` in the model's original half dtype, the standard mixed-precision
recipe: the speed of bf16 matmuls, the precision of fp32 updates.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

HALF_DTYPES = (torch.bfloat16, torch.float16)


def upcast_to_fp32(model: Any) -> torch.dtype | None:
    """Make every floating-point parameter and buffer of ``model`` float32, in place.

    Returns the half dtype the model was in (the dtype to autocast forward passes
    to), or ``None`` when it was already float32 (nothing changed).
    """
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    half = [d for d in HALF_DTYPES if d in dtypes]
    if not half:
        return None
    model.float()
    return half[0]


def autocast(model: Any, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[None]:
    """``torch.autocast`` to ``dtype`` on the model's device; a no-op context when ``dtype`` is ``None``."""
    if dtype is None:
        return contextlib.nullcontext()
    device = next(model.parameters()).device
    return torch.autocast(device_type=device.type, dtype=dtype)


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU runs bfloat16 matmuls natively (oneDNN's AVX512/AMX bf16 kernels).

    On a CPU without them (AVX2 only) bf16 autocast is emulated and a training step is
    slower than in float32, not faster (``benchmarks/train_dtype_speed.py``).
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch built without oneDNN
        return False


def training_dtype(requested: str) -> str:
    """``"float32"`` or ``"bfloat16"`` for training on the CPU: ``requested`` itself, or for
    ``"auto"`` bf16 mixed precision where this CPU has native bf16 and float32 elsewhere."""
    if requested not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"training dtype {requested!r}: expected 'auto', 'float32' or 'bfloat16'")
    if requested != "auto":
        return requested
    return "bfloat16" if cpu_has_fast_bf16() else "float32"

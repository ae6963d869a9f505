"""ramp_env.models: locating the offline models, resolving model specs, the GGUF export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.models import (
    embedding_model_path,
    load_causal_lm,
    resolve_causal_lm,
    smollm2_gguf_path,
    torch_threads,
)


def test_offline_model_files_are_found() -> None:
    assert smollm2_gguf_path().suffix == ".gguf" and smollm2_gguf_path().stat().st_size > 50_000_000
    assert (embedding_model_path() / "model.safetensors").is_file()


def test_resolve_passes_folders_and_hub_ids_through(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert resolve_causal_lm(tmp_path) == str(tmp_path)
    assert resolve_causal_lm("Qwen/Qwen2.5-1.5B-Instruct") == "Qwen/Qwen2.5-1.5B-Instruct"


def test_resolve_names_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_causal_lm(tmp_path / "missing.gguf")
    text = tmp_path / "weights.txt"
    text.write_text("not a model")
    with pytest.raises(ValueError, match="not a .gguf model"):
        resolve_causal_lm(text)
    (tmp_path / "a.gguf").write_bytes(b"")
    (tmp_path / "b.gguf").write_bytes(b"")
    with pytest.raises(ValueError, match="2 .gguf files"):
        resolve_causal_lm(tmp_path)


def test_torch_threads_restores_the_setting() -> None:
    import torch

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.slow
def test_default_causal_lm_loads_from_its_safetensors_export() -> None:
    model, tok = load_causal_lm()
    folder = Path(resolve_causal_lm())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    assert Path(model.config._name_or_path) == folder  # not the GGUF file: no dequantisation on load
    assert model.num_parameters() > 100_000_000 and not model.training
    assert tok.pad_token is not None and tok.chat_template
    ids = tok("The capital of France is", return_tensors="pt")
    assert model(**ids).logits.shape[-1] == model.config.vocab_size

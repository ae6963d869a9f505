"""Shared fixtures. Tests use small corpora and a per-session cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
WIKI_SAMPLE = FIXTURES / "wiki_sample.jsonl"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root shared by the session's tests (prepared corpora are reused)."""
    return tmp_path_factory.mktemp("ramp-cache")


@pytest.fixture(scope="session")
def wiki_sample() -> Path:
    """969 real Wikipedia passages (CC BY-SA 4.0) from the default corpus."""
    return WIKI_SAMPLE


@pytest.fixture()
def make_env(cache_dir: Path, wiki_sample: Path):
    """Factory for a RAMPEnv over the wiki sample with rule-based spans (no model load)."""
    from ramp_env.envs.ramp import RAMPEnv

    def factory(**kwargs: object) -> RAMPEnv:
        kwargs.setdefault("corpus", str(wiki_sample))
        kwargs.setdefault("cache_dir", str(cache_dir))
        kwargs.setdefault("span_extractor", "rules")
        kwargs.setdefault("progress", False)
        return RAMPEnv(**kwargs)  # type: ignore[arg-type]

    return factory

"""Stop terms: spaCy's English stop words as index terms, for the reading library
(:mod:`ramp_env.reading`) and the evidence checks (:mod:`ramp_env.masking.fact_context`)."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

from ramp_env.text.analysis import analyze


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English stop words, as spaCy lists them."""
    module = sys.modules.get("spacy.lang.en.stop_words")
    if module is None:
        # The list is a plain module with no imports; loading it by path skips
        # `import spacy` (seconds of start-up) for users of the rule extractor.
        spacy_spec = importlib.util.find_spec("spacy")
        if spacy_spec is None or not spacy_spec.submodule_search_locations:
            raise ModuleNotFoundError("spaCy (a core dependency) is needed for its English stop-word list")
        path = Path(next(iter(spacy_spec.submodule_search_locations))) / "lang" / "en" / "stop_words.py"
        spec = importlib.util.spec_from_file_location("_ramp_env_spacy_stop_words", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


@functools.lru_cache(maxsize=1)
def stop_terms() -> frozenset[str]:
    """:func:`stop_words` analysed like index terms, plus "mask" (of the mask labels)."""
    return frozenset(analyze(" ".join(sorted(stop_words())))) | {"mask"}


def content_terms(text: str) -> list[str]:
    """Analysed terms of ``text`` without stop words, in order."""
    stops = stop_terms()
    return [t for t in analyze(text) if t not in stops]

"""Corpora of passages: loaders for common on-disk formats and the default corpus."""

from ramp_env.corpus.loaders import CorpusFormatError, detect_format, iter_passages
from ramp_env.corpus.passage import Passage

__all__ = ["CorpusFormatError", "Passage", "detect_format", "iter_passages"]

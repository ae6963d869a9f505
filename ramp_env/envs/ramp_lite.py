"""RAMP-Lite-v0: RAMP on a small corpus of one-sentence passages, for teaching."""

from __future__ import annotations

import os
from typing import Any

from ramp_env.corpus.lite import lite_corpus_path
from ramp_env.envs.ramp import RAMPEnv

LITE_CORPUS = "lite"


class RAMPLiteEnv(RAMPEnv):
    """
    ## Description

    ``RAMP-v0`` with the class-sized defaults below: the task, spaces, rewards
    and episode end are RAMP-v0's (``help(ramp_env.RAMPEnv)``). The corpus is
    the Lite corpus (:mod:`ramp_env.corpus.lite`): ~3k one-sentence passages of
    the default corpus, chosen so that most of their salient spans are stated by
    a sentence of another article, and shipped with the package, so nothing is
    prepared but a small index (about a second). Salient spans come from the
    rule extractor (no spaCy model to load). Built for
    ``CandidateActionWrapper`` + ``MaskablePPO`` learning visibly in a couple of
    CPU minutes (``benchmarks/teaching_ppo.py``, ``docs/teaching.md``).

    ## Arguments

    ```python
    gym.make("RAMP-Lite-v0")                    # 1 mask
    gym.make("RAMP-Lite-v0", num_masks=2, reward="penalized_recall")
    ```

    Every ``RAMP-v0`` argument, with these defaults changed:

    * ``corpus``: ``"lite"`` (the Lite corpus; a corpus file also works).
    * ``span_extractor``: ``"rules"``.
    * ``max_searches``: 3.

    ## Version History

    * v0: initial version (Lite corpus v1). Issue 21 changed the inherited defaults:
      ``reward="penalized_recall"`` (was ``"recall"``) and ``mask_strategy="balanced"`` (was
      ``"random"``; the same at one mask).
    """

    def __init__(
        self,
        corpus: str | os.PathLike[str] = LITE_CORPUS,
        span_extractor: Any = "rules",
        max_searches: int = 3,
        cache_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if str(corpus) == LITE_CORPUS:
            corpus = lite_corpus_path(cache_dir)
        super().__init__(
            corpus=corpus, span_extractor=span_extractor, max_searches=max_searches, cache_dir=cache_dir, **kwargs
        )

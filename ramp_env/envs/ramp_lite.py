"""RAMP-Lite-v0: RAMP on a small corpus of one-sentence passages, for teaching."""

from __future__ import annotations

from typing import Any, ClassVar

from ramp_env.corpus.lite import lite_corpus_path
from ramp_env.envs.config import RAMPLiteConfig
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

    Every ``RAMP-v0`` argument (``config``, a :class:`~ramp_env.envs.config.RAMPLiteConfig`,
    and ``overrides``, its options by keyword), with these defaults changed:

    * ``corpus``: ``"lite"`` (the Lite corpus; a corpus file also works).
    * ``span_extractor``: ``"rules"``.
    * ``max_searches``: 3.

    ## Version History

    * v0: initial version (Lite corpus v1). Issue 21 changed the inherited defaults:
      ``reward="penalized_recall"`` (was ``"recall"``) and ``mask_strategy="balanced"`` (was
      ``"random"``; the same at one mask).
    """

    config_class: ClassVar[type[RAMPLiteConfig]] = RAMPLiteConfig
    config: RAMPLiteConfig

    def _corpus_source(self) -> Any:
        corpus = self.config.corpus
        return lite_corpus_path(self.config.cache_dir) if str(corpus) == LITE_CORPUS else corpus


__all__ = ["RAMPLiteConfig", "RAMPLiteEnv"]

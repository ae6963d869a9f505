"""Exercise 1, a solution: the words right next to the mask count twice, then a wider window.

Measured on the checker's 150 tasks: 0.549 against the heuristic query's 0.546
(within noise: it matches the heuristic, as the checker asks) and 0.229 for the
title-only starter.
"""

from __future__ import annotations

from ramp_env.reading import mask_contexts


def write_query(title: str, masked_passage: str, mask_number: int) -> str:
    context = mask_contexts(masked_passage)[mask_number]  # analysed words left/right of the mask, nearest first
    nearest = context.near_terms(3)  # 3 content words each side (stop words dropped)
    wider = context.near_terms(10)
    return " ".join([title, *nearest, *nearest, *wider])

"""The search results of an observation: written by the env, read back into hits by agents.

One module owns the format so the writer and the reader cannot drift apart: each hit is
``[n] title`` on one line and its text below, blocks separated by a blank line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ramp_env.retrieval.base import Hit

# a title longer than this is cut in the observation (the text is cut at the env's max_hit_chars)
MAX_RESULT_TITLE_CHARS = 400

_RESULT_HEADER = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def parse_results(results: str) -> list[tuple[str, str]]:
    """The ``(title, text)`` of each hit in an observation's ``results`` text.

    The env renders hits as ``[n] title`` on one line and the text below, blocks
    separated by a blank line (:func:`format_results`).
    """
    headers = list(_RESULT_HEADER.finditer(results))
    hits = []
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(results)
        hits.append((header.group(2).strip(), results[header.end() : end].strip()))
    return hits


def format_results(hits: Iterable[Hit], max_hit_chars: int) -> str:
    """The ``results`` text of an observation: each hit's rank, title and text (cut to
    ``max_hit_chars`` with an ellipsis; a line break in a title becomes a space so the header
    stays one line); :func:`parse_results` reads it back."""
    blocks = []
    for hit in hits:
        text = hit.text if len(hit.text) <= max_hit_chars else hit.text[: max_hit_chars - 1] + "…"
        blocks.append(f"[{hit.rank + 1}] {' '.join(hit.title.splitlines())[:MAX_RESULT_TITLE_CHARS]}\n{text}")
    return "\n\n".join(blocks)

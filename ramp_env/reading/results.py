"""The search results of an observation, read back into hits."""

from __future__ import annotations

import re

_RESULT_HEADER = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


def parse_results(results: str) -> list[tuple[str, str]]:
    """The ``(title, text)`` of each hit in an observation's ``results`` text.

    The env renders hits as ``[n] title`` on one line and the text below, blocks
    separated by a blank line (see ``RAMPEnv._format_results``).
    """
    headers = list(_RESULT_HEADER.finditer(results))
    hits = []
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(results)
        hits.append((header.group(2).strip(), results[header.end() : end].strip()))
    return hits

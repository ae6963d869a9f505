"""Eager span extraction over a whole passage store that one bad passage cannot stop.

``PreparedCorpus.span_table`` extracts the salient spans of every passage in one
batched pass (spaCy's ``nlp.pipe``). A passage the extractor cannot handle must
not cost the whole build, nor hide which passage it was:

* a passage longer than :data:`~ramp_env.text.spans.MAX_SPAN_TEXT_CHARS` (spaCy's
  own limit) is given no spans without asking the extractor (never masked);
* when the extractor raises, the passages of the batch it was working on are
  extracted again one at a time: the one that raises again gets no spans, and the
  batched pass resumes after them.

Both are counted in an :class:`ExtractionReport` (ids and the first error) that
the caller logs. More than :data:`MAX_FAILED_PASSAGES` failures are not bad
passages but a broken extractor (a missing model, a server down): that is one
error naming the first passages and the extractor's message.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from ramp_env.corpus.integrity import CacheIntegrityError
from ramp_env.corpus.store import PassageStore
from ramp_env.text.spans import MAX_SPAN_TEXT_CHARS, SalientSpan, SpanExtractor

MAX_FAILED_PASSAGES = 10
# passages re-extracted one at a time after a failure: more than a batch of any extractor here
# (spaCy's is 64), so the failing passage is among them; if not, the next failure comes back here
RETRY_WINDOW = 256
_CHUNK = 1000


@dataclass
class ExtractionReport:
    """What an eager extraction skipped: passages too long, and passages the extractor failed on."""

    too_long: dict[str, None] = field(default_factory=dict)  # ids, in order (a dict: read-ahead repeats)
    failed: list[str] = field(default_factory=list)
    first_error: str = ""

    @property
    def skipped(self) -> int:
        return len(self.too_long) + len(self.failed)


def _text(passage_id: str, text: str, report: ExtractionReport) -> str:
    if len(text) > MAX_SPAN_TEXT_CHARS:
        report.too_long[passage_id] = None
        return ""  # no spans, without asking the extractor
    return text


def _texts(store: PassageStore, start: int, report: ExtractionReport) -> Iterator[str]:
    """Texts of rows ``start``.. in order, read in chunks."""
    row = start
    while row <= len(store):
        chunk = store.get_many(list(range(row, min(len(store), row + _CHUNK - 1) + 1)))
        for passage in chunk:
            yield _text(passage.id, passage.text, report)
        row += len(chunk)


def _one_at_a_time(
    store: PassageStore, extractor: SpanExtractor, done: int, report: ExtractionReport
) -> Iterator[list[SalientSpan]]:
    for row in range(done + 1, min(len(store), done + RETRY_WINDOW) + 1):
        passage = store.get(row)
        try:
            spans = next(iter(extractor.extract_batch([_text(passage.id, passage.text, report)])))
        except (CacheIntegrityError, sqlite3.Error):
            raise
        except Exception as exc:
            report.failed.append(passage.id)
            report.first_error = report.first_error or f"{type(exc).__name__}: {exc}"
            if len(report.failed) > MAX_FAILED_PASSAGES:
                first = ", ".join(repr(pid) for pid in report.failed[:3])
                raise RuntimeError(
                    f"span extraction failed on {len(report.failed)} passages (first {first}): "
                    f"{report.first_error}"
                ) from exc
            spans = []
        yield spans


def extract_all(store: PassageStore, extractor: SpanExtractor, report: ExtractionReport) -> Iterator[list[SalientSpan]]:
    """The spans of every passage of ``store`` in row order (see module docs)."""
    done = 0
    while done < len(store):
        try:
            for spans in extractor.extract_batch(_texts(store, done + 1, report)):
                done += 1
                yield spans
        except (CacheIntegrityError, sqlite3.Error):
            raise  # the store itself is damaged: not a passage the extractor failed on
        except Exception:  # noqa: BLE001 - any extractor error: its batch is retried one passage at a time
            for spans in _one_at_a_time(store, extractor, done, report):
                done += 1
                yield spans
        else:
            if done < len(store):  # an extractor that stopped early: never a silent short table
                raise RuntimeError(f"span extractor {extractor.cache_key!r} gave {done} results for {len(store)} passages")


__all__ = ["MAX_FAILED_PASSAGES", "ExtractionReport", "extract_all"]

"""Loaders for multi-hop QA datasets in the formats they are published in.

Every loader maps a record onto :class:`~ramp_env.qa.example.QAExample`:

============  ===============================  ==========================================================
format        file                             fields read
============  ===============================  ==========================================================
``hotpotqa``  JSON list (``hotpot_dev_*.json``)  ``_id``, ``question``, ``answer``, ``supporting_facts`` titles
``2wiki``     JSON list (``dev.json``)         same as HotpotQA (``evidences`` triples are not needed)
``musique``   JSONL (``musique_*_dev.jsonl``)  ``id``, ``question``, ``answer`` + ``answer_aliases``,
                                               titles of ``paragraphs`` with ``is_supporting``;
                                               ``answerable: false`` records are skipped
``bamboogle`` CSV, JSON or JSONL               ``Question``, ``Answer`` (any letter case)
``fanoutqa``  JSON list (``fanout-*-dev.json``)  ``id``, ``question``, ``answer`` (text, list or table),
                                               evidence titles of the ``decomposition`` tree
``flashrag``  JSONL                            ``id``, ``question``, ``golden_answers`` (FlashRAG's
                                               unified format, which also covers NQ, TriviaQA, PopQA)
``freshqa``   CSV (the release sheet exported,  ``id``, ``question``, ``answer_0`` .. ``answer_9``; title
              e.g. ``FreshQA_v*.csv``)          rows above the header are skipped
============  ===============================  ==========================================================

The format is detected from the first record's keys unless ``fmt=`` is given. A
record that cannot be read raises :class:`QAFormatError` naming the file and the
record. The default dataset, FanoutQA's 310 dev questions, ships in the
``fanoutqa`` package and is read by path (importing ``fanoutqa`` creates a
cache directory and pulls in its Wikipedia client).
"""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ramp_env.errors import InvalidOptionError, RampEnvError
from ramp_env.qa.example import QAExample
from ramp_env.text.charset import clean_text

QA_FORMATS = ("hotpotqa", "2wiki", "musique", "bamboogle", "fanoutqa", "flashrag", "freshqa")
FANOUTQA_DEV = "fanoutqa-dev"
DEFAULT_DATASET = FANOUTQA_DEV
_FANOUTQA_HINT = "pip install fanoutqa==1.1.1"


class QAFormatError(RampEnvError, ValueError):
    """A QA record could not be read; names the file and the record number (1-based)."""

    def __init__(self, path: str | Path, record: int, reason: str) -> None:
        self.path, self.record, self.reason = str(path), record, reason
        super().__init__(f"{self.path}: record {record}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, int, str]]:
        # rebuilt from its fields: errors cross process boundaries (vector envs, Ray, pools)
        return type(self), (self.path, self.record, self.reason)


# -- field helpers --------------------------------------------------------------------------------


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"field {key!r} must be text, got {type(value).__name__}")
    text = clean_text(str(value)).strip()
    if not text:
        raise ValueError(f"field {key!r} is empty")
    return text


def _unique(items: Iterator[str] | list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        item = clean_text(str(item)).strip()
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def _record_id(record: Mapping[str, Any], *keys: str, default: str) -> str:
    for key in keys:
        if record.get(key) not in (None, ""):
            return str(record[key])
    return default


# -- one function per format: record -> QAExample (or None to skip) ---------------------------------


def _from_hotpotqa(record: Mapping[str, Any], n: int, dataset: str = "hotpotqa") -> QAExample:
    facts = record.get("supporting_facts") or []
    if not isinstance(facts, list) or not all(isinstance(f, list | tuple) and f for f in facts):
        raise ValueError("'supporting_facts' must be a list of [title, sentence_id] pairs")
    return QAExample(
        id=_record_id(record, "_id", "id", default=f"{dataset}-{n}"),
        question=_text(record, "question"),
        answers=(_text(record, "answer"),),
        supporting_titles=_unique([str(f[0]) for f in facts]),
        dataset=dataset,
    )


def _from_2wiki(record: Mapping[str, Any], n: int) -> QAExample:
    return _from_hotpotqa(record, n, dataset="2wiki")


def _from_musique(record: Mapping[str, Any], n: int) -> QAExample | None:
    if record.get("answerable") is False:
        return None
    aliases = record.get("answer_aliases") or []
    if not isinstance(aliases, list):
        raise ValueError("'answer_aliases' must be a list")
    paragraphs = record.get("paragraphs") or []
    if not isinstance(paragraphs, list) or not all(isinstance(p, Mapping) for p in paragraphs):
        raise ValueError("'paragraphs' must be a list of objects")
    return QAExample(
        id=_record_id(record, "id", default=f"musique-{n}"),
        question=_text(record, "question"),
        answers=_unique([_text(record, "answer"), *map(str, aliases)]),
        supporting_titles=_unique([str(p.get("title", "")) for p in paragraphs if p.get("is_supporting")]),
        dataset="musique",
    )


def _from_bamboogle(record: Mapping[str, Any], n: int) -> QAExample:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    return QAExample(
        id=_record_id(lowered, "id", default=f"bamboogle-{n}"),
        question=_text(lowered, "question"),
        answers=(_text(lowered, "answer"),),
        dataset="bamboogle",
    )


def _from_flashrag(record: Mapping[str, Any], n: int) -> QAExample:
    golds = record.get("golden_answers")
    if not isinstance(golds, list) or not golds:
        raise ValueError("'golden_answers' must be a non-empty list")
    return QAExample(
        id=_record_id(record, "id", default=f"flashrag-{n}"),
        question=_text(record, "question"),
        answers=_unique([str(a) for a in golds]),
        dataset="flashrag",
    )


def _from_freshqa(record: Mapping[str, Any], n: int) -> QAExample:
    # FreshQA lists up to ten acceptable answers (for false-premise questions, statements
    # that debunk the premise); the first is the main one
    answers = _unique([str(record.get(f"answer_{i}") or "") for i in range(10)])
    if not answers:
        raise ValueError("no answer in answer_0 .. answer_9")
    return QAExample(
        id=_record_id(record, "id", default=f"freshqa-{n}"),
        question=_text(record, "question"),
        answers=answers,
        dataset="freshqa",
    )


def fanoutqa_answer_text(answer: Any) -> str:
    """FanoutQA's structured answer as one line of text (``key: value; ...``)."""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, list):
        return "; ".join(fanoutqa_answer_text(a) for a in answer)
    if isinstance(answer, dict):
        return "; ".join(f"{k}: {fanoutqa_answer_text(v)}" for k, v in answer.items())
    return "" if answer is None else str(answer)


def fanoutqa_answer_parts(answer: Any) -> list[str]:
    """The atomic strings of a FanoutQA answer: list items, table keys and values (as FanoutQA's scorer)."""
    if isinstance(answer, list):
        return [part for item in answer for part in fanoutqa_answer_parts(item)]
    if isinstance(answer, dict):
        return [part for kv in answer.items() for item in kv for part in fanoutqa_answer_parts(item)]
    return [fanoutqa_answer_text(answer)]


def _fanoutqa_titles(steps: Any) -> Iterator[str]:
    for step in steps or []:
        evidence = step.get("evidence") if isinstance(step, Mapping) else None
        if isinstance(evidence, Mapping) and evidence.get("title"):
            yield str(evidence["title"])
        if isinstance(step, Mapping):
            yield from _fanoutqa_titles(step.get("decomposition"))


def _from_fanoutqa(record: Mapping[str, Any], n: int) -> QAExample:
    if "answer" not in record:
        raise ValueError("no 'answer' (FanoutQA's test split has no answers; use the dev split)")
    answer = record["answer"]
    structured = isinstance(answer, list | dict)
    return QAExample(
        id=_record_id(record, "id", default=f"fanoutqa-{n}"),
        question=_text(record, "question"),
        answers=(clean_text(fanoutqa_answer_text(answer)),),
        supporting_titles=_unique(list(_fanoutqa_titles(record.get("decomposition")))),
        dataset="fanoutqa",
        answer_parts=_unique(fanoutqa_answer_parts(answer)) if structured else (),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any], int], QAExample | None]] = {
    "hotpotqa": _from_hotpotqa,
    "2wiki": _from_2wiki,
    "musique": _from_musique,
    "bamboogle": _from_bamboogle,
    "fanoutqa": _from_fanoutqa,
    "flashrag": _from_flashrag,
    "freshqa": _from_freshqa,
}


def detect_qa_format(record: Mapping[str, Any]) -> str:
    """The format of a dataset from the keys of one of its records."""
    keys = set(record)
    if {"decomposition", "categories"} <= keys or "necessary_evidence" in keys:
        return "fanoutqa"
    if "paragraphs" in keys and "question_decomposition" in keys:
        return "musique"
    if "evidences" in keys and "supporting_facts" in keys:
        return "2wiki"
    if "supporting_facts" in keys and "context" in keys:
        return "hotpotqa"
    if "golden_answers" in keys:
        return "flashrag"
    if {"question", "answer_0"} <= keys and ("false_premise" in keys or "fact_type" in keys):
        return "freshqa"
    if {"question", "answer"} <= {str(k).strip().lower() for k in keys}:
        return "bamboogle"
    raise InvalidOptionError(f"cannot tell the QA format from the keys {sorted(keys)}; pass fmt= (one of {QA_FORMATS})")


# -- files ----------------------------------------------------------------------------------------


def _read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(record number, decoded record) for JSON lists, JSONL and CSV files."""
    name = path.name.lower()
    if name.endswith(".csv"):
        yield from _read_csv(path)
        return
    if name.endswith(".jsonl"):
        with open(path, encoding="utf-8") as fh:
            n = 0
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                n += 1
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise QAFormatError(path, n, f"line {line_no}: bad JSON: {exc.msg}") from exc
        return
    if name.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise QAFormatError(path, 0, f"bad JSON at line {exc.lineno}: {exc.msg}") from exc
        if isinstance(data, Mapping) and isinstance(data.get("data"), list):
            data = data["data"]  # {"data": [...]} wrappers (HF exports)
        if not isinstance(data, list):
            raise QAFormatError(path, 0, "expected a JSON list of question records")
        yield from enumerate(data, start=1)
        return
    raise InvalidOptionError(f"cannot read QA file {path}: expected .json, .jsonl or .csv")


_CSV_HEADER_SEARCH_ROWS = 5


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows as dicts keyed by the header: the first of the top rows that names a ``question``
    column (FreshQA's exported sheet has title and note rows above its header)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        for _ in range(_CSV_HEADER_SEARCH_ROWS):
            row = next(reader, None)
            if row is None:
                break
            if "question" in {cell.strip().lower() for cell in row}:
                header = [cell.strip() for cell in row]
                break
        if header is None:
            raise QAFormatError(path, 0, f"no header row with a 'question' column in the first "
                                         f"{_CSV_HEADER_SEARCH_ROWS} rows")
        for n, row in enumerate(reader, start=1):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise QAFormatError(path, n, f"line {reader.line_num}: {len(row)} cells for {len(header)} columns")
            yield n, dict(zip(header, row))


def fanoutqa_dev_path() -> Path:
    """Path of FanoutQA's dev questions inside the installed ``fanoutqa`` package."""
    spec = importlib.util.find_spec("fanoutqa")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the default QA dataset needs the 'fanoutqa' package: {_FANOUTQA_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "fanout-final-dev.json"


def load_qa(path: str | Path, fmt: str | None = None, limit: int | None = None) -> list[QAExample]:
    """Read a QA dataset file (or ``"fanoutqa-dev"``) into :class:`QAExample` records.

    Args:
        path: a ``.json``/``.jsonl``/``.csv`` file, or ``"fanoutqa-dev"`` for the bundled default.
        fmt: one of :data:`QA_FORMATS`; detected from the first record when ``None``.
        limit: keep only the first ``limit`` questions.

    Duplicate ids are an error; MuSiQue's unanswerable questions are skipped.
    """
    if str(path) == FANOUTQA_DEV:
        path, fmt = fanoutqa_dev_path(), fmt or "fanoutqa"
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"QA dataset file not found: {path}")
    if fmt is not None and fmt not in QA_FORMATS:
        raise InvalidOptionError(f"unknown QA format {fmt!r}; expected one of {QA_FORMATS}")
    if limit is not None and limit < 0:
        raise InvalidOptionError(f"limit must be >= 0, got {limit}")
    examples: list[QAExample] = []
    seen: set[str] = set()
    for n, record in _read_records(path):
        if limit is not None and len(examples) >= limit:
            break
        if not isinstance(record, Mapping):
            raise QAFormatError(path, n, f"expected a JSON object, got {type(record).__name__}")
        try:
            fmt = fmt or detect_qa_format(record)
            example = _PARSERS[fmt](record, n)
        except (ValueError, TypeError, KeyError) as exc:
            raise QAFormatError(path, n, f"{fmt or 'unknown'} record: {exc}") from exc
        if example is None:
            continue
        if example.id in seen:
            raise QAFormatError(path, n, f"duplicate question id {example.id!r}")
        seen.add(example.id)
        examples.append(example)
    if not examples and limit != 0:
        raise QAFormatError(path, 0, "no questions in the file")
    return examples

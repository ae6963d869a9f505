"""Reading, writing and checking a frozen task set (see :mod:`ramp_env.tasksets`).

File format: ``<name>-v<version>.jsonl.gz``, one JSON object per task (sorted
keys, compact separators, UTF-8), ordered by mask count then index, gzipped
with ``mtime=0``, no file name and level 9, so the same tasks always give the
same bytes. ``<name>-v<version>.json`` is the manifest: the file's sha256, the
task counts and what the set was built from.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ramp_env.errors import DataFormatError, InvalidOptionError

DATA_DIR = Path(__file__).parent / "data"
TASK_SETS = ("test",)
# bump (and rebuild with benchmarks/build_test_tasks.py) whenever the tasks change: a score
# names this version, so two scores of one version are scores on the same tasks
TEST_TASKS_VERSION = 3  # 3: span rules v7; 2: rules v5 with the learned filter; 1: rules v2 (both still shipped)
_NAMED_VERSION = re.compile(r"([a-z]+)-v([1-9][0-9]*)")
_FIELDS = ("answers", "evidence_ids", "index", "num_masks", "passage_id", "span_types", "spans", "text_sha256")


def text_sha256(text: str) -> str:
    """The hash a frozen task keeps of its passage's text (to notice another corpus)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FrozenTask:
    """One task of a frozen set: what defines it, independent of the code that drew it."""

    num_masks: int
    index: int  # position among the set's tasks of this mask count (0-based)
    passage_id: str
    spans: tuple[tuple[int, int], ...]
    answers: tuple[str, ...]
    span_types: tuple[str, ...]
    evidence_ids: tuple[tuple[str, ...], ...]
    text_sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "num_masks": self.num_masks, "index": self.index, "passage_id": self.passage_id,
            "spans": [list(s) for s in self.spans], "answers": list(self.answers),
            "span_types": list(self.span_types), "evidence_ids": [list(e) for e in self.evidence_ids],
            "text_sha256": self.text_sha256,
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> FrozenTask:
        """A task from its JSON object; ``where`` (file:line) names it in errors."""
        if not isinstance(obj, dict) or sorted(obj) != sorted(_FIELDS):
            raise DataFormatError(f"{where}: a frozen task needs exactly the keys {sorted(_FIELDS)}")
        try:
            task = cls(
                num_masks=int(obj["num_masks"]), index=int(obj["index"]), passage_id=str(obj["passage_id"]),
                spans=tuple((int(a), int(b)) for a, b in obj["spans"]), answers=tuple(map(str, obj["answers"])),
                span_types=tuple(map(str, obj["span_types"])),
                evidence_ids=tuple(tuple(map(str, e)) for e in obj["evidence_ids"]),
                text_sha256=str(obj["text_sha256"]),
            )
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"{where}: malformed frozen task ({exc})") from exc
        lengths = {len(task.spans), len(task.answers), len(task.span_types), len(task.evidence_ids)}
        if lengths != {task.num_masks}:
            raise DataFormatError(f"{where}: spans, answers, span_types and evidence_ids must each have num_masks entries")
        return task


def encode_tasks(tasks: Iterable[FrozenTask]) -> bytes:
    """The task file's bytes: deterministic JSONL + gzip (see module docs)."""
    ordered = sorted(tasks, key=lambda t: (t.num_masks, t.index))
    text = "".join(json.dumps(t.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
                   for t in ordered)
    buffer = io.BytesIO()
    # filename="" and mtime=0: the gzip header holds neither a name nor a time, so equal tasks
    # give equal bytes on every machine (Python writes OS=255, "unknown", on every platform)
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def decode_tasks(data: bytes, where: str) -> list[FrozenTask]:
    try:
        text = gzip.decompress(data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{where}: not a gzipped UTF-8 task file ({exc})") from exc
    tasks = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{where}:{number}: not JSON ({exc})") from exc
        tasks.append(FrozenTask.from_json(obj, f"{where}:{number}"))
    return tasks


def task_set_path(name: str = "test", version: int = TEST_TASKS_VERSION, data_dir: Path = DATA_DIR) -> Path:
    """The shipped task file of ``name`` at ``version``."""
    return data_dir / f"{name}-v{version}.jsonl.gz"


def manifest_path(tasks_path: Path) -> Path:
    return tasks_path.with_name(tasks_path.name.removesuffix(".jsonl.gz") + ".json")


@dataclass(frozen=True)
class TaskSet:
    """A loaded frozen set: its tasks per mask count, version and checksum."""

    name: str
    version: int
    sha256: str
    tasks: dict[int, tuple[FrozenTask, ...]]
    manifest: dict[str, Any]

    @property
    def label(self) -> str:
        """How a score names the set: ``test-v1``."""
        return f"{self.name}-v{self.version}"

    def for_masks(self, num_masks: int) -> tuple[FrozenTask, ...]:
        if num_masks not in self.tasks:
            raise DataFormatError(
                f"task set {self.label} has tasks for {sorted(self.tasks)} masks, not {num_masks}; "
                "pass num_masks in that range"
            )
        return self.tasks[num_masks]

    def provenance(self) -> dict[str, Any]:
        """What a result record carries about the set."""
        return {"task_set": self.label, "task_set_sha256": self.sha256}


_LOADED: dict[tuple[str, int, int], TaskSet] = {}


def load_task_set(spec: str | os.PathLike[str] = "test") -> TaskSet:
    """A frozen set: ``"test"`` (the shipped set at :data:`TEST_TASKS_VERSION`), a shipped version
    by name (``"test-v1"``, to replay a score that cites it) or the path of a ``*.jsonl.gz`` task
    file with its manifest beside it; its sha256 is checked against the manifest."""
    named = _NAMED_VERSION.fullmatch(spec) if isinstance(spec, str) else None
    if isinstance(spec, str) and (spec in TASK_SETS or named and named[1] in TASK_SETS):
        name, version = (spec, TEST_TASKS_VERSION) if named is None else (named[1], int(named[2]))
        path = task_set_path(name, version)
        if not path.is_file():
            shipped = sorted(p.name.removesuffix(".jsonl.gz") for p in DATA_DIR.glob(f"{name}-v*.jsonl.gz"))
            raise FileNotFoundError(f"task set {name}-v{version} is missing from the installation ({path}); "
                                    f"shipped: {shipped}. Reinstall ramp-env or rebuild it with "
                                    "benchmarks/build_test_tasks.py")
    else:
        path = Path(spec).expanduser().resolve()
        if not str(path).endswith(".jsonl.gz"):
            raise InvalidOptionError(f"tasks must be one of {TASK_SETS}, a shipped version such as test-v1, "
                                     f"or a frozen task file (*.jsonl.gz), got {spec!r}")
        if not path.is_file():
            raise FileNotFoundError(f"frozen task file not found: {path}")
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED[key] = _read_task_set(path)
    return _LOADED[key]


def _read_task_set(path: Path) -> TaskSet:
    mpath = manifest_path(path)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"{mpath}: unreadable task-set manifest ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), str):
        raise DataFormatError(f"{mpath}: not a task-set manifest (no sha256)")
    name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(name, str) or not isinstance(version, int) or path.name != f"{name}-v{version}.jsonl.gz":
        raise DataFormatError(f"{mpath}: names {name}-v{version}, but the task file is {path.name}")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["sha256"]:
        raise DataFormatError(f"{path}: sha256 {digest[:12]} differs from the manifest's {manifest['sha256'][:12]}: "
                         "the file was changed or damaged; reinstall ramp-env (or rebuild it)")
    by_masks: dict[int, list[FrozenTask]] = {}
    for task in decode_tasks(data, str(path)):
        by_masks.setdefault(task.num_masks, []).append(task)
    tasks = {k: tuple(sorted(v, key=lambda t: t.index)) for k, v in sorted(by_masks.items())}
    for k, group in tasks.items():
        if [t.index for t in group] != list(range(len(group))):
            raise DataFormatError(f"{path}: the tasks with {k} masks are not indexed 0..{len(group) - 1}")
    return TaskSet(name, version, digest, tasks, manifest)


def build_manifest(name: str, version: int, data: bytes, tasks: Sequence[FrozenTask], built_from: dict[str, Any]) -> str:
    """The manifest text for a task file's bytes (deterministic: sorted keys, no timestamps)."""
    counts: dict[str, int] = {}
    for task in tasks:
        counts[str(task.num_masks)] = counts.get(str(task.num_masks), 0) + 1
    manifest = {
        "name": name, "version": version, "file": task_set_path(name, version).name,
        "sha256": hashlib.sha256(data).hexdigest(), "tasks_per_mask_count": counts,
        "built_from": built_from,
        "licence": "Wikipedia text, CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); see LICENSE.md",
    }
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


__all__ = [
    "TASK_SETS",
    "TEST_TASKS_VERSION",
    "FrozenTask",
    "TaskSet",
    "build_manifest",
    "decode_tasks",
    "encode_tasks",
    "load_task_set",
    "manifest_path",
    "task_set_path",
    "text_sha256",
]

"""Per-episode results and the JSONL file that keeps them across interrupted runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ramp_env.errors import DataFormatError

RESULTS_FILE = "results.jsonl"


@dataclass
class EpisodeRecord:
    """What one evaluated episode produced (one line of ``results.jsonl``).

    ``per_mask_scores`` is the env's ``info["per_mask_scores"]`` of the last step
    (zeros when the episode was truncated); any env that reports it can be scored.
    ``usage`` is what the agent reported about the episode (``agent.end_episode``),
    such as an endpoint agent's requests and prompt/completion tokens; ``{}`` otherwise.
    """

    agent: str
    env_id: str
    env_config: str  # canonical JSON of the env's keyword arguments
    num_masks: int
    seed: int  # the run's seed; the episode's own seed is derived from it
    episode: int
    reward: float
    per_mask_scores: list[float]
    searches: int
    steps: int
    seconds: float
    truncated: bool = False
    format_errors: int = 0
    task_id: str = ""
    agent_args: str = "{}"  # canonical JSON of the agent's keyword arguments
    predictions: list[str | None] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    # QA envs' info["answer_metrics"] of the last step (em, f1, recall, ...); {} for RAMP tasks
    answer_metrics: dict[str, float] = field(default_factory=dict)
    # the type of each masked span (PERSON, DATE, ...; the task's span_types); [] for QA tasks
    span_types: list[str] = field(default_factory=list)
    # what a score cites: the frozen task set ("test-v1"; "" when tasks were drawn by seed), its
    # file's sha256, and the name of the env's reward
    task_set: str = ""
    task_set_sha256: str = ""
    reward_name: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, int, int, int]:
        """What makes two records the same experiment (used to skip finished episodes on resume)."""
        return (self.agent, self.agent_args, self.env_id, self.env_config, self.num_masks, self.seed, self.episode)

    @property
    def task_set_identity(self) -> tuple[str, str]:
        """``(task_set, task_set_sha256)``: records of two identities score different tasks."""
        return (self.task_set, self.task_set_sha256)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> EpisodeRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in known})


def describe_task_set(identity: tuple[str, str]) -> str:
    """``test-v1 (sha256 0123456789ab)``, or ``tasks drawn by seed`` for ``("", "")``."""
    name, sha = identity
    return f"{name} (sha256 {sha[:12]})" if name else "tasks drawn by seed (no frozen task set)"


def check_one_task_set(records: Iterable[EpisodeRecord], where: str = "results") -> tuple[str, str] | None:
    """The one task-set identity of ``records`` (None if there are none); a clear error when
    they mix task sets or versions, whose scores must never be resumed into or averaged together."""
    seen: dict[tuple[str, str], EpisodeRecord] = {}
    for record in records:
        seen.setdefault(record.task_set_identity, record)
        if len(seen) > 1:
            a, b = list(seen)
            raise DataFormatError(
                f"{where}: results of different task sets cannot be resumed or merged: "
                f"{describe_task_set(a)} and {describe_task_set(b)} (episode {record.episode} of agent "
                f"{record.agent!r}); write this run to another output directory"
            )
    return next(iter(seen), None)


def canonical_json(obj: Any) -> str:
    """A stable text form of keyword arguments (sorted keys; paths and objects as text)."""
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


class ResultsFile:
    """An append-only JSONL file of :class:`EpisodeRecord`, safe to interrupt.

    Each record is appended as one complete line and fsynced before the next
    episode starts. Rewriting the whole file through a temporary file and a
    rename for every episode would cost O(n) per record (O(n^2) per run) on long
    runs; with appends, the only damage a kill can do is a partial last line.
    :meth:`read` ignores such a line and :meth:`append` cuts it off before
    writing, so an interrupted run loses nothing already finished and resumes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def read(self) -> list[EpisodeRecord]:
        """Every complete record in the file (a partial or unreadable last line is skipped)."""
        if not self.path.is_file():
            return []
        records = []
        with open(self.path, "rb") as fh:  # decoded line by line, so bad UTF-8 is reported at its line
            lines = fh.read().split(b"\n")
        # the text after the last newline is empty, or a record cut off mid-write
        for number, raw in enumerate(lines[:-1], start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"{self.path}:{number}: not valid UTF-8 at byte {exc.start} ({exc.reason})"
                ) from exc
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
                records.append(EpisodeRecord.from_dict(obj))
            except (json.JSONDecodeError, TypeError) as exc:
                raise DataFormatError(f"{self.path}:{number}: not an episode record ({exc})") from exc
        return records

    def _drop_partial_line(self) -> None:
        if not self.path.is_file():
            return
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, records: Iterable[EpisodeRecord]) -> Iterator[EpisodeRecord]:
        """Append each record as it comes (and yield it on)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_line()
        with open(self.path, "a", encoding="utf-8") as fh:
            for record in records:
                fh.write(record.to_json() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                yield record

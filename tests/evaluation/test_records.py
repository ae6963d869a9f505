"""The resumable JSONL results file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ramp_env.evaluation.records import EpisodeRecord, ResultsFile


def record(episode: int, reward: float = 0.5) -> EpisodeRecord:
    return EpisodeRecord(
        agent="bm25", env_id="RAMP-v0", env_config="{}", num_masks=2, seed=0, episode=episode,
        reward=reward, per_mask_scores=[reward, reward], searches=2, steps=3, seconds=0.1,
        predictions=["Plato", None], answers=["Plato", "384 BC"],
    )


def test_round_trip_and_append_order(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "out" / "results.jsonl")
    assert results.read() == []
    written = list(results.append(record(i, i / 10) for i in range(3)))
    assert [r.episode for r in written] == [0, 1, 2]
    list(results.append([record(3)]))
    assert results.read() == [*written, record(3)]


def test_a_partial_last_line_is_ignored_then_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    results = ResultsFile(path)
    list(results.append([record(0), record(1)]))
    complete = path.read_text()
    path.write_text(complete + record(2).to_json()[:40])  # killed mid-write
    assert [r.episode for r in results.read()] == [0, 1]
    list(results.append([record(5)]))
    assert [r.episode for r in results.read()] == [0, 1, 5]
    assert path.read_text().startswith(complete) and path.read_text().endswith("\n")


def test_a_corrupt_complete_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(record(0).to_json() + "\nnot json\n")
    with pytest.raises(ValueError, match=r"results.jsonl:2"):
        ResultsFile(path).read()


def test_unknown_fields_are_ignored_and_key_names_the_experiment() -> None:
    import json

    obj = json.loads(record(4).to_json())
    obj["written_by_a_newer_version"] = 1
    again = EpisodeRecord.from_dict(obj)
    assert again == record(4)
    assert again.key == ("bm25", "{}", "RAMP-v0", "{}", 2, 0, 4)

"""ramp_env.evaluation.difficulty: per-mask scores by span type and span length."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.oracle import OracleAgent
from ramp_env.evaluation.difficulty import breakdown, format_breakdown, length_bucket, write_breakdown_jsonl
from ramp_env.evaluation.records import EpisodeRecord
from ramp_env.evaluation.runner import run_episodes


def record(agent: str, answers: list[str], types: list[str], scores: list[float]) -> EpisodeRecord:
    return EpisodeRecord(agent=agent, env_id="RAMP-v0", env_config="{}", num_masks=len(answers), seed=0, episode=0,
                         reward=sum(scores) / len(scores), per_mask_scores=scores, searches=0, steps=1, seconds=0.1,
                         answers=answers, span_types=types)


RECORDS = [
    record("a", ["Plato", "384 BC"], ["PERSON", "DATE"], [1.0, 0.5]),
    record("a", ["Alan Mathison Turing", "the United Kingdom"], ["PERSON", "PLACE"], [0.0, 1.0]),
    record("b", ["Plato"], ["PERSON"], [0.25]),
]


@pytest.mark.parametrize(("span", "bucket"), [("Plato", "1"), ("384 BC", "2"), ("the United Kingdom", "2"),
                                              ("Alan Mathison Turing", "3"), ("a b c d e", "4+"), ("", "1")])
def test_length_buckets_count_normalised_tokens(span: str, bucket: str) -> None:
    assert length_bucket(span) == bucket


def test_breakdown_groups_masks_by_agent_type_and_length() -> None:
    rows = {(r.agent, r.by, r.value): r for r in breakdown(RECORDS)}
    person = rows[("a", "span_type", "PERSON")]
    assert person.masks == 2 and person.mean_score == pytest.approx(0.5) and person.accuracy == pytest.approx(0.5)
    assert rows[("a", "span_type", "DATE")].mean_score == pytest.approx(0.5)
    two_tokens = rows[("a", "span_length", "2")]  # "384 BC" and "United Kingdom"
    assert two_tokens.masks == 2 and two_tokens.mean_score == pytest.approx(0.75)
    assert rows[("b", "span_type", "PERSON")].mean_score == pytest.approx(0.25)
    assert ("b", "span_type", "DATE") not in rows


def test_records_without_span_types_count_only_by_length() -> None:
    qa = record("qa", ["Paris"], [], [1.0])
    rows = breakdown([qa])
    assert [(r.by, r.value) for r in rows] == [("span_length", "1")]


def test_table_and_jsonl(tmp_path: Path) -> None:
    rows = breakdown(RECORDS)
    table = format_breakdown(rows)
    assert "| mask score by span type" in table and "| mask score by span length (tokens)" in table
    assert "0.500 ± " in table and "(2)" in table
    path = tmp_path / "difficulty.jsonl"
    write_breakdown_jsonl(rows, path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == len(rows) and {"agent", "by", "value", "masks", "mean_score", "ci95"} <= set(lines[0])


def test_episode_records_carry_the_span_types(make_env) -> None:
    env = make_env()
    records = list(run_episodes(env, OracleAgent(env), 3, seed=0, num_masks=2))
    assert all(len(r.span_types) == 2 and len(r.answers) == 2 for r in records)
    rows = breakdown(records)
    assert {r.by for r in rows} == {"span_type", "span_length"}
    assert all(r.mean_score == 1.0 for r in rows)  # the oracle is right on every kind of mask

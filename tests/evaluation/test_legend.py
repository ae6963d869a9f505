"""Every table ramp-env prints ends with a plain-language legend of its columns and span types."""

from __future__ import annotations

import re

from ramp_env.cli.stats import format_tables
from ramp_env.evaluation.difficulty import breakdown, format_breakdown
from ramp_env.evaluation.downstream import format_downstream
from ramp_env.evaluation.leaderboard import format_table, summarize
from ramp_env.evaluation.legend import SPAN_TYPES, format_legend, span_type_legend
from ramp_env.evaluation.records import EpisodeRecord
from ramp_env.text.spans import SpanType


def record(agent: str, types: list[str], scores: list[float], env_id: str = "RAMP-v0") -> EpisodeRecord:
    return EpisodeRecord(agent=agent, env_id=env_id, env_config="{}", num_masks=len(scores), seed=0, episode=0,
                         reward=sum(scores) / len(scores), per_mask_scores=scores, searches=1, steps=2, seconds=0.1,
                         answers=["Plato"] * len(scores), span_types=types,
                         answer_metrics={"recall": scores[0], "f1": scores[0], "em": scores[0]})


def header_cells(table: str) -> list[str]:
    """The header cells of every Markdown table in ``table`` (the line above each ``|---`` rule)."""
    lines = table.splitlines()
    return [cell.strip() for i, line in enumerate(lines[1:], 1) if line.startswith("|-")
            for cell in lines[i - 1].strip("|").split("|")]


def explained(text: str) -> set[str]:
    return set(re.findall(r"^- \*\*(.+?)\*\*: \S", text, flags=re.MULTILINE))


def test_every_span_type_has_a_plain_meaning() -> None:
    assert set(SPAN_TYPES) == {t.value for t in SpanType}
    assert "nationalit" in SPAN_TYPES["NORP"]
    assert "does not know" in span_type_legend(["ALIEN"])


def test_leaderboard_explains_every_column() -> None:
    rows = summarize([record("bm25", ["PERSON"], [1.0]), record("random", ["DATE"], [0.0], env_id="RAMP-Lite-v0")])
    table = format_table(rows)
    assert set(header_cells(table)) <= explained(table), table  # "env" too: two envs are shown
    assert "mask acc" in explained(table) and "95% confidence interval" in table


def test_difficulty_tables_explain_columns_and_span_types() -> None:
    records = [record("a", ["NORP", "WORK"], [1.0, 0.5]), record("b", ["PERSON"], [0.0])]
    table = format_breakdown(breakdown(records))
    meanings = explained(table)
    assert {"NORP", "WORK", "PERSON", "mask score by span type", "mask score by span length (tokens)"} <= meanings
    assert SPAN_TYPES["NORP"] in table


def test_downstream_and_stats_tables_have_legends() -> None:
    table = format_downstream({"fanoutqa-dev": [record("llm", [], [0.5])]})
    assert {"agent", "avg"} <= explained(table) and "<dataset>" in explained(table)
    assert "Legend" not in format_downstream({"d": [record("llm", [], [0.5])]}, legend=False)
    stats = {
        "corpus": "x", "passages": 10, "skipped_records": 0, "sampled": False, "analysed_passages": 10,
        "sample_seed": None, "evidence": True, "passages_over_max_chars": 0,
        "near_duplicates": {"analysed_passages_with_copies": 0, "clusters": 0, "passages_in_clusters": 0,
                            "largest_clusters": []},
        "spans_per_type": {"NORP": {"spans": 3, "maskable": 2, "supported": 1}},
        "eligible_passages_per_mask_count": {"1": {"passages": 2, "estimated_passages": 2, "supported_passages": 1,
                                                   "estimated_supported_passages": 1, "distinct_passages": 1,
                                                   "expected_distinct_in_100_draws": 1.0, "repeats_passages": True,
                                                   "mask_type_mix": {"NORP": 1.0}}},
        "mask_strategy": "balanced",
    }
    text = format_tables(stats)
    headers = {line.split("  ")[0] for line in text.splitlines()}
    assert {"span type", "spans", "maskable", "supported", "supported %", "masks", "eligible",
            "eligible w/ evidence", "distinct passages", "distinct in 100 draws", "mask type mix",
            "NORP"} <= explained(text), text
    assert headers


def test_format_legend_keeps_the_entries_order_and_filters() -> None:
    assert format_legend({"b": "B", "a": "A"}, ["a", "b"]) == "Legend:\n- **b**: B\n- **a**: A"
    assert format_legend({"b": "B", "a": "A"}, ["a"]) == "Legend:\n- **a**: A"


def test_the_mask_score_legend_names_the_envs_default_reward() -> None:
    # the legend once said "token recall by default" long after the default became penalized_recall
    from dataclasses import fields

    from ramp_env.envs.config import RAMPConfig
    from ramp_env.evaluation.legend import LEADERBOARD_COLUMNS

    default = next(f.default for f in fields(RAMPConfig) if f.name == "reward")
    assert isinstance(default, str) and default in LEADERBOARD_COLUMNS["mask score"]

"""Each QA loader on a small file in its dataset's published format.

The fixtures are a few records in each dataset's real layout: trimmed HotpotQA,
2WikiMultihopQA and MuSiQue dev records, Bamboogle as CSV and JSON, FlashRAG's
JSONL, and two records copied from the ``fanoutqa`` package's dev file (CC BY-SA 4.0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.qa import QAExample, QAFormatError, detect_qa_format, load_qa
from ramp_env.qa.loaders import fanoutqa_answer_parts, fanoutqa_answer_text

FIXTURES = Path(__file__).parent / "fixtures"


def test_hotpotqa_maps_id_answer_and_supporting_titles_in_order() -> None:
    examples = load_qa(FIXTURES / "hotpot_dev_distractor_sample.json")
    assert [e.dataset for e in examples] == ["hotpotqa", "hotpotqa"]
    first, second = examples
    assert first.id == "5a8b57f25542995d1e6f1371"
    assert first.answers == ("yes",)
    assert first.supporting_titles == ("Scott Derrickson", "Ed Wood")
    # a title cited for two sentences appears once; "Ed Wood (film)" is context, not support
    assert second.supporting_titles == ("Kiss and Tell (1945 film)", "Shirley Temple")
    assert second.answer == "Chief of Protocol"


def test_2wiki_is_detected_by_its_evidences() -> None:
    examples = load_qa(FIXTURES / "2wiki_dev_sample.json")
    assert {e.dataset for e in examples} == {"2wiki"}
    assert examples[0].answers == ("Małgorzata Braunek",)
    assert examples[0].supporting_titles == ("Polish-Russian War (film)", "Xawery Żuławski")


def test_musique_keeps_aliases_skips_unanswerable() -> None:
    examples = load_qa(FIXTURES / "musique_ans_v1.0_dev_sample.jsonl")
    assert [e.id for e in examples] == ["2hop__460946_294723", "3hop1__9285_5188_23307"]
    first = examples[0]
    assert first.answers == ("Miquette Giraudy", "Miquette Giraudy-Hillage")
    assert set(first.supporting_titles) == {"Miquette Giraudy", "Green (Steve Hillage album)"}
    assert "Grant's First Stand" not in first.supporting_titles
    assert len(examples[1].supporting_titles) == 3


@pytest.mark.parametrize("name", ["bamboogle_sample.csv", "bamboogle_sample.json"])
def test_bamboogle_csv_and_json(name: str) -> None:
    examples = load_qa(FIXTURES / name)
    assert [e.answer for e in examples] == ["james madison", "Titan IIIE"]
    assert all(e.dataset == "bamboogle" and e.supporting_titles == () for e in examples)
    assert examples[0].id == "bamboogle-1"


def test_flashrag_golden_answers_are_aliases() -> None:
    examples = load_qa(FIXTURES / "flashrag_bamboogle_test_sample.jsonl")
    assert examples[1].answers == ("Titan IIIE", "Titan 3E")
    assert examples[1].id == "test_1"


def test_fanoutqa_table_answer_has_parts_and_evidence_titles() -> None:
    table, scalar = load_qa(FIXTURES / "fanout-final-dev_sample.json")
    assert table.dataset == "fanoutqa"
    assert table.answer.startswith("Pat Burrell: Right; Mark Mulder: Left")
    # keys and values, each value once (FanoutQA's scorer counts them the same way)
    assert set(table.answer_parts) == {"Pat Burrell", "Mark Mulder", "Corey Patterson", "Jeff Austin", "JD Drew",
                                       "Right", "Left"}
    assert table.supporting_titles[0] == "1998 Major League Baseball draft"
    assert "J. D. Drew" in table.supporting_titles
    assert scalar.answers == ("4",) and scalar.answer_parts == ()


def test_bundled_fanoutqa_dev_has_310_questions() -> None:
    examples = load_qa("fanoutqa-dev")
    assert len(examples) == 310
    assert len({e.id for e in examples}) == 310
    assert sum(len(e.supporting_titles) > 0 for e in examples) == 310


def test_fanoutqa_answer_rendering() -> None:
    assert fanoutqa_answer_text({"a": [1, 2], "b": True}) == "a: 1; 2; b: yes"
    assert fanoutqa_answer_parts({"a": [1, 2], "b": True}) == ["a", "1", "2", "b", "yes"]


def test_limit_and_explicit_format() -> None:
    assert len(load_qa(FIXTURES / "hotpot_dev_distractor_sample.json", fmt="hotpotqa", limit=1)) == 1
    with pytest.raises(ValueError, match="unknown QA format"):
        load_qa(FIXTURES / "hotpot_dev_distractor_sample.json", fmt="squad")


def test_detection_names_the_keys_it_saw() -> None:
    with pytest.raises(ValueError, match="cannot tell the QA format"):
        detect_qa_format({"query": "x", "label": "y"})


def test_bad_record_names_file_and_record(tmp_path: Path) -> None:
    path = tmp_path / "hotpot.json"
    path.write_text(json.dumps([
        {"_id": "a", "question": "Q?", "answer": "A", "supporting_facts": [], "context": []},
        {"_id": "b", "question": "Q2?", "supporting_facts": [], "context": []},
    ]))
    with pytest.raises(QAFormatError, match=r"hotpot.json: record 2: hotpotqa record: field 'answer'"):
        load_qa(path)


def test_duplicate_ids_and_bad_json_are_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": 1, "question": "Q?", "golden_answers": ["a"]}\n' * 2)
    with pytest.raises(QAFormatError, match="duplicate question id '1'"):
        load_qa(dup)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "Q?", "golden_answers": ["a"]}\n{oops\n')
    with pytest.raises(QAFormatError, match="record 2: line 2: bad JSON"):
        load_qa(bad)
    with pytest.raises(FileNotFoundError):
        load_qa(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="expected .json, .jsonl or .csv"):
        (tmp_path / "x.txt").write_text("x")
        load_qa(tmp_path / "x.txt")


def test_fanoutqa_test_split_without_answers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fanout-final-test.json"
    path.write_text(json.dumps([{"id": "x", "question": "Q?", "necessary_evidence": [], "categories": []}]))
    with pytest.raises(QAFormatError, match="test split has no answers"):
        load_qa(path)


def test_example_round_trips_through_json() -> None:
    example = load_qa(FIXTURES / "fanout-final-dev_sample.json")[0]
    assert QAExample.from_json(json.loads(json.dumps(example.to_json()))) == example
    with pytest.raises(ValueError, match="no gold answer"):
        QAExample(id="x", question="Q?", answers=("",))


def test_freshqa_release_csv_skips_title_rows_and_keeps_all_answers() -> None:
    examples = load_qa(FIXTURES / "freshqa_format_sample.csv")
    assert [e.id for e in examples] == ["0", "1", "2"]
    assert all(e.dataset == "freshqa" for e in examples)
    assert examples[1].question == 'Who wrote the novel "Middlemarch"?'
    assert examples[1].answers == ("George Eliot", "Mary Ann Evans")
    assert examples[2].answers[0] == "Portugal has never adopted the dollar."


def test_freshqa_errors_name_the_problem(tmp_path: Path) -> None:
    no_header = tmp_path / "x.csv"
    no_header.write_text("a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n", encoding="utf-8")
    with pytest.raises(QAFormatError, match="no header row"):
        load_qa(no_header)
    no_answer = tmp_path / "fresh.csv"
    no_answer.write_text("id,question,false_premise,answer_0,answer_1\n7,What?,FALSE,,\n", encoding="utf-8")
    with pytest.raises(QAFormatError, match=r"record 1: freshqa record: no answer"):
        load_qa(no_answer)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,question,false_premise,answer_0\n7,What?,FALSE,x,extra\n", encoding="utf-8")
    with pytest.raises(QAFormatError, match="line 2: 5 cells for 4 columns"):
        load_qa(ragged)

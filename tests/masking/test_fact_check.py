"""The "fact" evidence criterion: each failure class readers found, and the labelled pairs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ramp_env.corpus.passage import Passage
from ramp_env.masking.evidence import CheckedFact, make_fact
from ramp_env.masking.fact_check import check_fact, names_subject, subject_names
from ramp_env.text.spans import SalientSpan, SpanType

# the model (fact check version 4) is fitted on sets v2 to v7; v8 and v9 were drawn and labelled after the fit
LABELS = Path(__file__).parent / "fixtures" / "evidence_labels_v2.jsonl"
TRAINING_V3 = Path(__file__).parent / "fixtures" / "evidence_labels_v3.jsonl"
TRAINING_V4 = Path(__file__).parent / "fixtures" / "evidence_labels_v4.jsonl"
TRAINING_V5 = Path(__file__).parent / "fixtures" / "evidence_labels_v5.jsonl"
TRAINING_V6 = Path(__file__).parent / "fixtures" / "evidence_labels_v6.jsonl"
TRAINING_V7 = Path(__file__).parent / "fixtures" / "evidence_labels_v7.jsonl"
REPORT_V8 = Path(__file__).parent / "fixtures" / "evidence_labels_v8.jsonl"  # its report sets
REPORT_V9 = Path(__file__).parent / "fixtures" / "evidence_labels_v9.jsonl"


def span_of(passage: Passage, text: str, label: SpanType) -> SalientSpan:
    start = passage.text.index(text)
    return SalientSpan(start, start + len(text), label)


JACKSON = Passage(
    "src", "Michael Jackson",
    "Michael Jackson was an American singer, songwriter and dancer. Jackson was born in Gary, Indiana, in 1958, "
    "the eighth child of the Jackson family.",
)
GARY = span_of(JACKSON, "Gary, Indiana", SpanType.PLACE)
YEAR = span_of(JACKSON, "1958", SpanType.DATE)


def ev(text: str, title: str = "Other article") -> Passage:
    return Passage("ev", title, text)


def test_the_same_fact_about_the_same_subject_is_evidence() -> None:
    verdict = check_fact(JACKSON, GARY, ev("The singer Michael Jackson was born in Gary, Indiana, to a working-class family."))
    assert verdict.supported and verdict.path == "subject-named"
    assert "Gary, Indiana" in verdict.sentences[0]


def test_a_parallel_frame_about_another_subject_is_not() -> None:
    # the same sentence frame, answer and all, about another singer of the subject's kind
    presley = ev("Presley was born in Gary, Indiana, in 1958, the son of a truck driver.", "Elvis Presley")
    verdict = check_fact(JACKSON, GARY, presley)
    assert not verdict.supported and verdict.path == "no-subject"
    # a frame whose grammatical subject is another named entity is marked, and counts against it
    both = check_fact(JACKSON, GARY, ev("Elvis Presley was born in Gary, Indiana, unlike Michael Jackson."))
    same = check_fact(JACKSON, GARY, ev("Michael Jackson was born in Gary, Indiana, unlike Elvis Presley."))
    assert both.details["competing_subject"] == "Elvis Presley" and same.details["competing_subject"] is None
    assert both.details["probability"] < same.details["probability"]


def test_without_the_subject_near_the_fact_there_is_no_path() -> None:
    far = ev(
        "Michael Jackson recorded many albums. The label also signed other artists. "
        "Its first studio was built in Gary, Indiana, near the steel mills."
    )
    verdict = check_fact(JACKSON, GARY, far)
    assert not verdict.supported and verdict.path == "no-subject"
    nobody = ev("Gary, Indiana, is a city on Lake Michigan founded in 1906 by the United States Steel Corporation.")
    assert check_fact(JACKSON, GARY, nobody).path == "no-subject"


def test_a_year_of_another_event_is_marked() -> None:
    source = Passage(
        "src", "Azerbaijani carpet",
        "In November 2010 the Azerbaijani carpet was proclaimed a Masterpiece of Intangible Heritage by UNESCO.",
    )
    unesco = span_of(source, "UNESCO", SpanType.ORG)
    other = ev("In 2003 UNESCO proclaimed the Azerbaijani carpet tradition of mugham music a Masterpiece of Heritage.")
    verdict = check_fact(source, unesco, other, threshold=0.999)
    assert verdict.details["other_date"] and verdict.path == "other-date"


def test_the_answer_inside_a_compound_is_marked() -> None:
    source = Passage("src", "China", "China introduced a policy limiting most families to one child in 1980.")
    one = span_of(source, "one", SpanType.NUMBER)
    compound = ev("The one-child policy of China was introduced in 1980 to limit families.")
    verdict = check_fact(source, one, compound, threshold=0.999)
    assert verdict.details["in_compound"] and verdict.path == "answer-in-compound"


def test_a_stricter_threshold_never_accepts_more() -> None:
    texts = [
        "The singer Michael Jackson was born in Gary, Indiana, to a working-class family.",
        "Jackson grew up in Gary, Indiana, with eight siblings.",
        "Gary, Indiana, is a city on Lake Michigan where Michael Jackson was born.",
        "Elvis Presley was born in Gary, Indiana, unlike Michael Jackson.",
    ]
    for text in texts:
        p = check_fact(JACKSON, GARY, ev(text)).details["probability"]
        for t in (0.1, 0.5, 0.9):
            assert check_fact(JACKSON, GARY, ev(text), threshold=t).supported == (p >= t)


def test_subject_names_drop_disambiguation_and_add_a_surname() -> None:
    assert subject_names("Mercury (planet)") == [("mercury",)]
    assert ("presley",) in subject_names("Elvis Presley")


def test_make_fact_names_a_bad_criterion() -> None:
    with pytest.raises(ValueError, match="evidence criterion"):
        make_fact(JACKSON, GARY, "strict")


def _labelled() -> list[dict]:
    with open(LABELS, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_the_labelled_set_is_two_readers_split_by_passage() -> None:
    rows = _labelled()
    assert len(rows) >= 300
    for r in rows:
        assert isinstance(r["reader_a"], bool) and isinstance(r["reader_b"], bool)
        if r["reader_a"] == r["reader_b"]:
            assert r["label"] == r["reader_a"] and r["settled_by"] == "agreement"
        else:
            assert r["settled_by"] == "third reader" and isinstance(r["label"], bool)
        digest = int(hashlib.sha256(r["source_id"].encode()).hexdigest(), 16)
        assert r["half"] == ("tune" if digest % 2 == 0 else "heldout")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


FRESH_SETS = [TRAINING_V3, TRAINING_V4, TRAINING_V5, TRAINING_V6, TRAINING_V7, REPORT_V8, REPORT_V9]


@pytest.mark.parametrize("path", FRESH_SETS, ids=["v3", "v4", "v5", "v6", "v7", "v8", "v9"])
def test_the_fresh_sets_are_two_readers_and_new_passages(path: Path) -> None:
    fresh = _rows(path)
    assert len(fresh) >= 300
    for r in fresh:
        assert r["half"] == "fresh" and isinstance(r["label"], bool)
        assert r["settled_by"] == ("agreement" if r["reader_a"] == r["reader_b"] else "third reader")
    # each drawn after the sets before it, from source passages none of them used
    earlier = _labelled() + [r for before in FRESH_SETS[: FRESH_SETS.index(path)] for r in _rows(before)]
    assert not {r["source_id"] for r in fresh} & {r["source_id"] for r in earlier}


@pytest.mark.slow
@pytest.mark.parametrize("path", [REPORT_V8, REPORT_V9], ids=["v8", "v9"])
def test_the_fact_criterion_is_more_precise_than_context_words_on_the_fresh_sets(path: Path) -> None:
    rows = _rows(path)
    tp = fp = tp1 = fp1 = 0
    for r in rows:
        source = Passage(r["source_id"], r["source_title"], r["source_text"])
        evidence = Passage(r["evidence_id"], r["evidence_title"], r["evidence_text"])
        span = SalientSpan(r["start"], r["end"], SpanType(r["span_type"]))
        if CheckedFact(source, span).stated_in(evidence):
            tp += r["label"]
            fp += not r["label"]
        if make_fact(source, span, "context").stated_in(evidence):
            tp1 += r["label"]
            fp1 += not r["label"]
    precision, precision_v1 = tp / (tp + fp), tp1 / (tp1 + fp1)
    true = sum(r["label"] for r in rows)
    # benchmarks/results/evidence_v9.json: v8 0.885 against 0.439, recall 0.29; v9 0.883 against 0.342, 0.34
    assert precision >= precision_v1 + 0.25, (precision, precision_v1)
    assert tp / true >= 0.25


def test_names_subject_finds_the_title_or_its_surname_in_a_text() -> None:
    assert names_subject("In 1859 Darwin published a book.", "Charles Darwin")
    assert names_subject("Mercury is the closest planet.", "Mercury (planet)")
    assert not names_subject("In 1859 a book was published.", "Charles Darwin")


@pytest.mark.slow
@pytest.mark.parametrize("path", [REPORT_V8, REPORT_V9], ids=["v8", "v9"])
def test_the_screen_changes_no_verdict_of_the_report_sets(path: Path) -> None:
    # the docs' claim: skipping the parse and the embeddings for sentences the screen rejects
    # never turns an accepted pair into a rejected one (at the default point)
    from ramp_env.masking.fact_check import SourceFact

    for r in _rows(path):
        source = Passage(r["source_id"], r["source_title"], r["source_text"])
        evidence = Passage(r["evidence_id"], r["evidence_title"], r["evidence_text"])
        fact = SourceFact(source, SalientSpan(r["start"], r["end"], SpanType(r["span_type"])))
        screened = any(v.supported for v in fact.sentence_verdicts(evidence))
        full = any(v.supported for v in fact.sentence_verdicts(evidence, screen=False))
        assert screened == full, r["pair_id"]

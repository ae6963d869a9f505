"""Evidence per mask: the support criterion, finding it through search, the cache, the labelled sample."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ramp_env.corpus.passage import Passage
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.corpus.store import PassageStore
from ramp_env.masking.evidence import (
    EvidenceCache,
    EvidenceIndex,
    context_terms,
    states_fact,
    subject_of,
)
from ramp_env.text.normalize import normalize_answer
from ramp_env.text.spans import SalientSpan, SpanType

LABELS = Path(__file__).parent / "fixtures" / "evidence_labels.jsonl"

SOURCE = Passage(
    "src",
    "Luanda",
    "Luanda is the capital of Angola. Located on Angola's northern Atlantic coast, Luanda is Angola's "
    "administrative centre and its chief seaport.",
)


def span_of(passage: Passage, text: str, label: SpanType = SpanType.PLACE) -> SalientSpan:
    start = passage.text.index(text)
    return SalientSpan(start, start + len(text), label)


ATLANTIC = span_of(SOURCE, "Atlantic")


def test_answer_must_occur_as_whole_tokens() -> None:
    stated = Passage("e", "Angola", "Angola's capital, Luanda, lies on the Atlantic coast in the northwest.")
    partial = Passage("e", "Angola", "Angola's capital, Luanda, lies on the Atlanticus coast in the northwest.")
    assert states_fact(SOURCE, ATLANTIC, stated)
    assert not states_fact(SOURCE, ATLANTIC, partial)


def test_answer_without_the_facts_context_is_not_evidence() -> None:
    # names the subject and holds the answer, but the answer's sentence says something else
    elsewhere = Passage("e", "Luanda", "Luanda hosts a football club. The Atlantic is the second-largest ocean.")
    assert not states_fact(SOURCE, ATLANTIC, elsewhere)


def test_a_near_paraphrase_counts_without_the_subject() -> None:
    paraphrase = Passage(
        "e", "Ports", "The administrative centre sits on the northern Atlantic coast and is the chief seaport."
    )
    assert states_fact(SOURCE, ATLANTIC, paraphrase)


def test_subject_drops_disambiguation_and_context_drops_answer_and_title() -> None:
    assert subject_of("Mercury (planet)") == ["mercury"]
    terms = context_terms(SOURCE, ATLANTIC)
    assert "atlant" not in terms and "luanda" not in terms
    assert {"northern", "coast", "seaport"} <= terms


# -- through the search engine, on both backends ----------------------------------------------------

FACT = "The Barents Sea is a marginal sea of the Arctic Ocean, off the northern coasts of Norway and Russia."
NAMED = " It is named after Willem Barentsz."
ROWS = [
    {"id": "src", "title": "Barents Sea", "text": FACT + NAMED},
    # exact copies and a one-letter copy: near-duplicates, never evidence
    *({"id": f"copy{i}", "title": f"Mirror {i}", "text": FACT + NAMED} for i in range(3)),
    {"id": "edit", "title": "Barents Sea", "text": FACT.replace("marginal", "marginaI") + NAMED},
    # real evidence: another passage states the fact
    {
        "id": "ev",
        "title": "Arctic Ocean",
        "text": "The Arctic Ocean has several marginal seas, among them the Barents Sea north of Norway and Russia.",
    },
    # the answer, unrelated context
    {"id": "noise", "title": "Ocean liners", "text": "Ships crossing the Arctic Ocean need ice-strengthened hulls."},
    *(
        {"id": f"filler{i}", "title": f"Filler {i}", "text": f"Filler passage number {i} about rivers and lakes."}
        for i in range(20)
    ),
]


@pytest.fixture()
def barents_corpus(tmp_path: Path) -> PreparedCorpus:
    path = tmp_path / "barents.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return PreparedCorpus.open(str(path), cache_dir=tmp_path / "cache", progress=False)


class CountingRetriever:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def search(self, *args, **kwargs):
        self.calls += 1
        return self.inner.search(*args, **kwargs)

    def search_with_required(self, *args, **kwargs):
        self.calls += 1
        return self.inner.search_with_required(*args, **kwargs)


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_evidence_excludes_source_and_near_copies_on_both_backends(
    barents_corpus: PreparedCorpus, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever = barents_corpus.retriever(backend)
    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    arctic = span_of(source, "Arctic Ocean")
    index = EvidenceIndex.for_corpus(barents_corpus, retriever, backend)
    # never a scan of the corpus: iterating the store fails the test
    monkeypatch.setattr(PassageStore, "__iter__", lambda self: pytest.fail("the corpus was scanned"))
    assert index.evidence_for(source, arctic) == ["ev"]
    assert index.supported_spans(source, [arctic, span_of(source, "Willem Barentsz", SpanType.PERSON)]) == [arctic]


def test_a_plain_retriever_gets_the_same_evidence(barents_corpus: PreparedCorpus) -> None:
    class PlainSearch:
        def __init__(self, inner) -> None:
            self.inner = inner

        def search(self, query, k, exclude_ids=()):
            return self.inner.search(query, k, exclude_ids=exclude_ids)

    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    index = EvidenceIndex(PlainSearch(barents_corpus.retriever("tantivy")))
    assert index.evidence_for(source, span_of(source, "Arctic Ocean")) == ["ev"]


def test_evidence_is_cached_on_disk_per_corpus_and_version(barents_corpus: PreparedCorpus) -> None:
    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    spans = [span_of(source, "Arctic Ocean"), span_of(source, "Norway")]
    counting = CountingRetriever(barents_corpus.retriever("tantivy"))
    first = EvidenceIndex.for_corpus(barents_corpus, counting, "tantivy")
    expected = first.evidence_map(source, spans)
    assert counting.calls > 0 and first.cache is not None
    assert first.cache.path.parent == barents_corpus.directory and "-v" in first.cache.path.name
    first.close()
    counting.calls = 0
    again = EvidenceIndex.for_corpus(barents_corpus, counting, "tantivy")
    assert again.evidence_map(source, spans) == expected
    assert counting.calls == 0  # read back, not searched again


def test_damaged_cache_rows_are_recomputed(tmp_path: Path, barents_corpus: PreparedCorpus) -> None:
    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    arctic = span_of(source, "Arctic Ocean")
    cache = EvidenceCache(tmp_path / "ev.sqlite")
    cache.put("src", {(arctic.start, arctic.end): ("ev",)})
    cache.close()
    with sqlite3.connect(tmp_path / "ev.sqlite") as conn:
        conn.execute("UPDATE evidence SET ids = '{not json'")
    index = EvidenceIndex(barents_corpus.retriever("tantivy"), cache=EvidenceCache(tmp_path / "ev.sqlite"))
    assert index.evidence_for(source, arctic) == ["ev"]


def test_unwritable_cache_falls_back_to_memory(barents_corpus: PreparedCorpus) -> None:
    # a directory where the cache file should be: SQLite cannot open it (as in a read-only cache)
    from ramp_env.masking.evidence import EVIDENCE_VERSION

    (barents_corpus.directory / f"evidence-tantivy-v{EVIDENCE_VERSION}.sqlite").mkdir()
    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    with pytest.warns(UserWarning, match="not be cached"):
        index = EvidenceIndex.for_corpus(barents_corpus, barents_corpus.retriever("tantivy"), "tantivy")
    assert index.cache is None
    assert index.evidence_for(source, span_of(source, "Arctic Ocean")) == ["ev"]


def test_bad_arguments_are_named(barents_corpus: PreparedCorpus) -> None:
    with pytest.raises(ValueError, match="candidates"):
        EvidenceIndex(barents_corpus.retriever("tantivy"), candidates=0)


# -- the hand-labelled sample --------------------------------------------------------------------------


def load_labels() -> list[dict]:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 100
    return rows


def judge(row: dict) -> tuple[bool, SalientSpan, Passage, Passage]:
    source = Passage(row["source_id"], row["source_title"], row["source_text"])
    evidence = Passage(row["evidence_id"], row["evidence_title"], row["evidence_text"])
    span = SalientSpan(row["start"], row["end"], SpanType(row["span_type"]))
    assert source.text[span.start : span.end] == row["answer"]
    return states_fact(source, span, evidence), span, source, evidence


def test_criterion_precision_on_the_hand_labelled_sample() -> None:
    """Every pair the criterion accepted when the sample was drawn: precision = share labelled true.
    The docs quote this figure; the test fails if a criterion change lowers it."""
    rows = load_labels()
    accepted = [r for r in rows if judge(r)[0]]
    # the criterion still decides every pair as it did when the sample was labelled; a change
    # to it (bump EVIDENCE_VERSION) needs a fresh labelled sample for its precision
    assert [judge(r)[0] for r in rows] == [r["accepted"] for r in rows]
    assert len(accepted) >= 100
    precision = sum(r["label"] for r in accepted) / len(accepted)
    assert precision >= 0.55, precision  # 0.60 (66/110) when the sample was labelled


def test_criterion_beats_answer_and_title_anywhere() -> None:
    """The naive criterion (answer and subject anywhere in the passage) accepts every labelled pair
    that names the subject; the context requirement must make the accepted set more precise."""
    rows = load_labels()
    naive_precision_rows = []
    for row in rows:
        ok, _, source, evidence = judge(row)
        text = normalize_answer(evidence.title + " " + evidence.text)
        subject = " ".join(subject_of(source.title))
        if subject and f" {subject} " in f" {text} ":
            naive_precision_rows.append(row["label"])
    ours = [r["label"] for r in rows if judge(r)[0]]
    assert sum(ours) / len(ours) > sum(naive_precision_rows) / len(naive_precision_rows)


def test_a_file_that_is_not_a_database_is_named_not_fatal(barents_corpus: PreparedCorpus) -> None:
    from ramp_env.masking.evidence import EVIDENCE_VERSION

    path = barents_corpus.directory / f"evidence-tantivy-v{EVIDENCE_VERSION}.sqlite"
    path.write_bytes(b"this is not SQLite" * 100)
    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    with pytest.warns(UserWarning, match="delete the file"):
        index = EvidenceIndex.for_corpus(barents_corpus, barents_corpus.retriever("tantivy"), "tantivy")
    assert index.evidence_for(source, span_of(source, "Arctic Ocean")) == ["ev"]


def test_a_cache_that_fails_mid_run_falls_back_to_memory(tmp_path: Path, barents_corpus: PreparedCorpus) -> None:
    source = barents_corpus.store.get(barents_corpus.store.rowid_of("src"))
    cache = EvidenceCache(tmp_path / "ev.sqlite")
    index = EvidenceIndex(barents_corpus.retriever("tantivy"), cache=cache)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    cache.get = broken  # type: ignore[method-assign]
    with pytest.warns(UserWarning, match="continuing in memory"):
        assert index.evidence_for(source, span_of(source, "Arctic Ocean")) == ["ev"]
    assert index.cache is None and index.evidence_for(source, span_of(source, "Arctic Ocean")) == ["ev"]

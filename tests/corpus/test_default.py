"""The embedded default corpus comes from the installed packages, offline."""

from __future__ import annotations

import itertools

import pytest

from ramp_env.corpus.default import default_corpus_passages, gensim_passages, ovos_passages


def test_ovos_lead_sections_are_passages() -> None:
    first = list(itertools.islice(ovos_passages(), 50))
    assert len(first) == 50
    assert all(p.id.startswith("wiki:") and p.title and len(p.text) > 20 for p in first)


@pytest.mark.slow
def test_default_corpus_has_both_sources_and_unique_ids() -> None:
    passages = list(default_corpus_passages())
    ids = [p.id for p in passages]
    assert len(ids) == len(set(ids))
    assert sum(i.startswith("wiki:") for i in ids) > 10_000  # ~10k lead sections
    enwiki = [p for p in passages if p.id.startswith("enwiki:")]
    assert {"Aristotle", "Alabama", "Anarchism"} <= {p.title for p in enwiki}
    assert all("''" not in p.text and "[[" not in p.text for p in enwiki)  # wiki markup stripped


def test_gensim_articles_are_split_into_paragraph_passages() -> None:
    passages = list(itertools.islice(gensim_passages(), 300))
    words = [len(p.text.split()) for p in passages]
    assert min(words) >= 20  # paragraphs of 200+ chars; split tails are folded back
    assert max(words) <= 260  # long paragraphs are cut near MAX_PASSAGE_WORDS at sentence ends
    assert any(p.id.endswith("#0") for p in passages) and len({p.title for p in passages}) > 1

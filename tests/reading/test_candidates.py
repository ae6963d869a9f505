"""The reading library: candidate mining shared by the agents and the SB3 wrapper."""

from __future__ import annotations

from ramp_env.reading import (
    SCORER_WEIGHTS,
    CandidatePool,
    CandidateScore,
    build_query,
    guess_mask_kind,
    mask_contexts,
    parse_results,
)
from ramp_env.text.spans import RuleSpanExtractor, SalientSpan, SpanType

PASSAGE = (
    "Aristotle was a Greek philosopher. He was born in [mask_1] in the city of Stagira. "
    "His teacher was [mask_2], who founded the Academy in Athens."
)


def test_mask_contexts_hold_the_words_around_each_mask_nearest_first() -> None:
    contexts = mask_contexts(PASSAGE)
    assert set(contexts) == {1, 2}
    first = contexts[1]
    assert first.left[:3] == ("in", "born", "was")  # analysed, nearest first
    assert first.right[:3] == ("in", "the", "citi")
    assert "mask" not in first.left and "mask" not in contexts[2].right
    # content words weigh more the closer they are; stop words do not count
    weights = first.weights
    assert "in" not in weights and weights["born"] > weights["stagira"]


def test_queries_use_the_title_and_the_mask_context() -> None:
    context = mask_contexts(PASSAGE)[2]
    query = build_query(context, "Aristotle", "title+near")
    assert query.startswith("Aristotle") and "teacher" in query and "academi" in query
    assert "Aristotle" not in build_query(context, "Aristotle", "near")
    assert "mask" not in build_query(context, "Aristotle", "title+sentence")


def test_mask_kind_follows_the_context() -> None:
    contexts = mask_contexts("He died in [mask_1] BC. The river is [mask_2] km long. [mask_3] wrote it.")
    assert max(guess_mask_kind(contexts[1]).items(), key=lambda kv: kv[1])[0] == "date"
    assert max(guess_mask_kind(contexts[2]).items(), key=lambda kv: kv[1])[0] == "number"
    assert max(guess_mask_kind(contexts[3]).items(), key=lambda kv: kv[1])[0] == "name"


def test_parse_results_reads_the_env_rendering(make_env) -> None:
    env = make_env()
    env.reset(seed=0)
    obs, *_ = env.step("<search>Aristotle philosopher Athens</search>")
    hits = parse_results(obs["results"])
    assert [title for title, _ in hits] == [h.title for h in env.last_results]
    assert [text for _, text in hits] == [h.text for h in env.last_results]


def test_pool_prefers_the_span_whose_context_matches_and_skips_passage_text() -> None:
    pool = CandidatePool(PASSAGE, "Aristotle", RuleSpanExtractor())
    pool.add_hits(
        [
            ("Plato", "Plato founded the Academy in Athens. Aristotle studied under Plato for twenty years."),
            ("Stagira", "Stagira is a city in Greece. Aristotle was born in 384 BC in Stagira, a city in Chalcidice."),
        ]
    )
    best = pool.assign([1, 2])
    assert best[1] is not None and best[1].text == "384 BC"
    assert best[2] is not None and best[2].text == "Plato"
    texts = {c.text for n in (1, 2) for c in pool.scores(n)}
    # "Athens" and "Academy" are in the masked passage; "Aristotle" is the title
    assert not texts & {"Athens", "Academy", "Aristotle", "Stagira"}


def test_pool_uses_given_spans_and_gives_no_text_to_two_masks() -> None:
    text = "Bob met Carol in Paris."
    spans = [[SalientSpan(0, 3, SpanType.PERSON), SalientSpan(8, 13, SpanType.PERSON)]]
    pool = CandidatePool("[mask_1] met [mask_2] there.", "", extractor=None)
    pool.add_hits([("x", text)], spans)
    chosen = pool.assign([1, 2])
    assert {chosen[1].text, chosen[2].text} == {"Bob", "Carol"}  # type: ignore[union-attr]
    assert all(c.kind == "name" for c in pool.scores(1))


def test_the_evidence_is_what_the_scorer_weighs_in_its_order() -> None:
    # the scorer sums weight * evidence in this order: a reordering would change scores in the last bits
    candidate = CandidateScore("x", "date", overlap=0.3, left_match=True, best_rank=1, hits=2, kind_prior=0.5)
    evidence = candidate.evidence()
    assert list(evidence) == list(SCORER_WEIGHTS)
    assert evidence["left_match"] == 1.0 and evidence["rank"] == 0.5 and evidence["is_date"] == 1.0

"""The LLM span extractor: replies are validated against the passage, cached like spaCy spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.span_extraction import LLMSpanExtractor, locate, parse_reply
from agents.synthesis.backends import ScriptedBackend
from ramp_env.text.spans import SpanType, make_span_extractor

PASSAGE = (
    "Photosynthesis was described by Jan Ingenhousz in 1779. The Dutch scientist showed that "
    "light is essential; photosynthesis in plants happens in the chloroplast."
)


def reply_with(*spans: tuple[str, str]) -> ScriptedBackend:
    text = json.dumps([{"text": t, "type": ty} for t, ty in spans])
    return ScriptedBackend(lambda messages: "Here you go:\n" + text + "\nDone.")


def test_offsets_are_exact_and_types_mapped() -> None:
    extractor = LLMSpanExtractor(reply_with(("Jan Ingenhousz", "PERSON"), ("1779", "DATE"),
                                            ("chloroplast", "concept"), ("Dutch", "NORP")))
    [spans] = list(extractor.extract_batch([PASSAGE]))
    assert [PASSAGE[s.start : s.end] for s in spans] == ["Jan Ingenhousz", "1779", "Dutch", "chloroplast"]
    assert [s.label for s in spans] == [SpanType.PERSON, SpanType.DATE, SpanType.NORP, SpanType.CONCEPT]
    assert extractor.stats.kept == 4 and extractor.stats.not_in_passage == 0



def test_every_spacy_label_a_model_may_answer_maps_as_spacy_maps_it() -> None:
    # the LLM's label table extends ramp_env's spaCy table, so the two extractors type spans alike
    from agents.span_extraction import TYPE_NAMES
    from ramp_env.text.spans import SPACY_LABELS

    assert {name: TYPE_NAMES.get(name) for name in SPACY_LABELS} == SPACY_LABELS
    extractor = LLMSpanExtractor(reply_with(("Jan Ingenhousz", "person"), ("chloroplast", "work of art")))
    [spans] = list(extractor.extract_batch([PASSAGE]))
    assert [s.label for s in spans] == [SpanType.PERSON, SpanType.WORK]

def test_hallucinated_and_paraphrased_spans_are_dropped() -> None:
    extractor = LLMSpanExtractor(reply_with(("Isaac Newton", "PERSON"), ("the year 1779", "DATE"),
                                            ("1779", "DATE")))
    [spans] = list(extractor.extract_batch([PASSAGE]))
    assert [PASSAGE[s.start : s.end] for s in spans] == ["1779"]
    assert extractor.stats.not_in_passage == 2


def test_case_insensitive_match_uses_the_passage_text_and_skips_overlaps() -> None:
    # "photosynthesis" twice: the second proposal lands on the second occurrence
    extractor = LLMSpanExtractor(reply_with(("photosynthesis", "CONCEPT"), ("PHOTOSYNTHESIS", "CONCEPT")))
    [spans] = list(extractor.extract_batch([PASSAGE]))
    assert [PASSAGE[s.start : s.end] for s in spans] == ["Photosynthesis", "photosynthesis"]
    assert spans[0].start == 0 and spans[1].start == PASSAGE.index("photosynthesis in")


def test_unknown_types_short_spans_and_garbage_replies() -> None:
    extractor = LLMSpanExtractor(reply_with(("1779", "COLOUR"), ("a", "CONCEPT")))
    assert list(extractor.extract_batch([PASSAGE])) == [[]]
    assert extractor.stats.unknown_type == 1 and extractor.stats.overlapping_or_short == 1
    garbage = LLMSpanExtractor(ScriptedBackend(lambda m: "I cannot help with that."))
    assert list(garbage.extract_batch([PASSAGE, PASSAGE])) == [[], []]
    assert garbage.stats.unparsable_replies == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('[{"text": "A", "type": "DATE"}, 3, {"type": "X"}]', [("A", "DATE")]),
        ('[["Paris", "PLACE"]]', [("Paris", "PLACE")]),
        ("PERSON: Jan Ingenhousz\n- DATE: 1779", [("Jan Ingenhousz", "PERSON"), ("1779", "DATE")]),
        ("[" * 5000, None),
        ("", None),
    ],
)
def test_parse_reply_formats(reply: str, expected: list[tuple[str, str]] | None) -> None:
    assert parse_reply(reply) == expected


def test_locate_respects_word_boundaries_in_the_fallback() -> None:
    assert locate("Parisian life in paris", "PARIS", []) == (17, 22)
    assert locate("Parisian life", "PARIS", []) is None


def test_spans_inside_words_are_rejected_even_when_the_case_matches() -> None:
    extractor = LLMSpanExtractor(reply_with(("Ant", "PERSON"), ("is c", "CONCEPT"), ("Antarctica", "PLACE")))
    [spans] = list(extractor.extract_batch(["Antarctica is cold."]))
    assert [(s.start, s.end) for s in spans] == [(0, 10)]
    assert extractor.stats.not_in_passage == 2
    assert locate("Parisian life in Paris", "Paris", []) == (17, 22)  # the exact pass skips "Parisian" too


def test_registered_as_llm_and_cache_key_names_the_backend() -> None:
    extractor = make_span_extractor("llm:http://127.0.0.1:9/v1|qwen")
    assert isinstance(extractor, LLMSpanExtractor)
    assert "127.0.0.1" in extractor.cache_key and extractor.cache_key.startswith("llm-")
    assert make_span_extractor("llm").cache_key != extractor.cache_key
    # every setting that changes the spans changes the key (a stale table is never read)
    keys = {
        LLMSpanExtractor("m").cache_key,
        LLMSpanExtractor("m", max_passage_chars=500).cache_key,
        LLMSpanExtractor("m", max_new_tokens=64).cache_key,
        LLMSpanExtractor("m", temperature=0.7).cache_key,
    }
    assert len(keys) == 4 and LLMSpanExtractor("m").cache_key == LLMSpanExtractor("m").cache_key
    with pytest.raises(ValueError, match="registered extractor"):
        make_span_extractor("nonsense")


def test_env_masks_llm_spans_and_caches_them(tmp_path: Path) -> None:
    from ramp_env.envs.ramp import RAMPEnv

    corpus = tmp_path / "c.jsonl"
    rows = [{"id": f"p{i}", "title": f"Doc {i}", "contents": PASSAGE.replace("1779", str(1700 + i))}
            for i in range(4)]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")

    def respond(messages: list[dict[str, str]]) -> str:
        year = next(w for w in messages[-1]["content"].split() if w.rstrip(".").isdigit()).rstrip(".")
        return json.dumps([{"text": "Jan Ingenhousz", "type": "PERSON"}, {"text": year, "type": "DATE"}])

    backend = ScriptedBackend(respond, name="scripted-test")

    def make_env(extractor: LLMSpanExtractor) -> RAMPEnv:
        # the four passages are near-copies of each other, so none can be another's evidence
        return RAMPEnv(corpus=str(corpus), cache_dir=str(tmp_path / "cache"), num_masks=2, require_evidence="none",
                       span_extractor=extractor, retriever="rank_bm25", progress=False)

    env = make_env(LLMSpanExtractor(backend))
    env.reset(seed=0)
    task = env.task
    assert task.answers[0] == "Jan Ingenhousz" and task.answers[1].isdigit()
    assert all(task.text[a:b] == ans for (a, b), ans in zip(task.spans, task.answers, strict=True))
    # a second extractor over the same backend name reads the cached table: no new generations
    calls = backend.calls
    again = ScriptedBackend(lambda m: pytest.fail("spans should come from the cache"), name="scripted-test")
    env2 = make_env(LLMSpanExtractor(again))
    env2.reset(seed=0)
    assert env2.task.answers == task.answers and backend.calls == calls


def test_lazy_preparation_asks_the_model_only_for_passages_drawn(tmp_path: Path) -> None:
    from ramp_env.envs.ramp import RAMPEnv

    corpus = tmp_path / "c.jsonl"
    rows = [{"id": f"p{i}", "title": f"Doc {i}", "contents": f"Doc {i} was written by Jan Ingenhousz in {1700 + i}."}
            for i in range(40)]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    asked: list[str] = []

    def respond(messages: list[dict[str, str]]) -> str:
        passage = messages[-1]["content"]
        asked.append(passage)
        year = passage.split(" in ")[-1].split(".")[0]
        return json.dumps([{"text": year, "type": "DATE"}])

    env = RAMPEnv(corpus=str(corpus), cache_dir=str(tmp_path / "cache"), num_masks=1, require_evidence="none",
                  span_extractor=LLMSpanExtractor(ScriptedBackend(respond, name="lazy-test")), task_pool=1.0,
                  retriever="rank_bm25", progress=False)
    for seed in range(3):
        env.reset(seed=seed)
        year = env.task.answers[0]
        assert year.isdigit() and f"in {year}." in env.task.text
    assert 1 <= len(asked) < len(rows) // 2  # only drawn passages were sent, never the whole corpus
    assert list((tmp_path / "cache").rglob("lazy-spans-llm-lazy-test*"))  # kept on disk for the next run


@pytest.mark.slow
def test_offline_smollm2_produces_only_valid_spans() -> None:
    """SmolLM2-135M is weak at this; the test checks validity, not quality."""
    passages = [line for line in (Path(__file__).parents[1] / "fixtures" / "tiny.jsonl").read_text().splitlines()][:2]
    texts = [json.loads(p).get("contents") or json.loads(p).get("text") for p in passages]
    extractor = LLMSpanExtractor(max_new_tokens=64)
    for text, spans in zip(texts, extractor.extract_batch(texts), strict=True):
        for span in spans:
            assert 0 <= span.start < span.end <= len(text)
            assert 2 <= len(text[span.start : span.end].strip())
        assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert extractor.stats.passages == 2
    assert extractor.stats.kept + extractor.stats.not_in_passage + extractor.stats.unknown_type \
        + extractor.stats.overlapping_or_short <= extractor.stats.proposed

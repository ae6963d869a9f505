"""Role reply parsing (with its fallbacks) and the diversity metrics."""

from __future__ import annotations

import pytest

from agents.synthesis.diversity import distinct_n, jaccard, search_queries, trajectory_diversity
from agents.synthesis.roles import Observer, Planner, Rewriter, plain
from ramp_env.trajectories import Trajectory

OBS = {
    "title": "Aristotle",
    "passage": "Aristotle was born in [mask_1]. His teacher was [mask_2] in Athens.",
    "num_masks": 2,
    "results": "",
}


def test_planner_reads_labeled_lines_and_falls_back_per_mask() -> None:
    planner = Planner()
    both = planner.parse("[mask_1]: Where was Aristotle born?\n[mask_2]: Who taught Aristotle?", OBS)
    assert both.value == {1: "Where was Aristotle born?", 2: "Who taught Aristotle?"} and not both.fallback
    half = planner.parse("Sure! [mask_2]: Who taught <b>Aristotle</b>?", OBS)
    assert half.fallback
    assert half.value[1] == "Aristotle was born in what."
    assert half.value[2] == "Who taught b Aristotle /b ?"  # tag brackets never reach an action
    assert "Masks to fill: 2" in planner.messages(OBS)[1]["content"]


def test_rewriter_strips_prefixes_and_falls_back() -> None:
    rewriter = Rewriter()
    assert rewriter.parse('Query: "Aristotle birthplace"\nextra', "Where?", "Aristotle").value == "Aristotle birthplace"
    long = rewriter.parse("word " * 50, "Who taught [mask_2] Aristotle?", "Aristotle")
    assert long.fallback and long.value == "Aristotle Who taught Aristotle"
    assert "already tried" in rewriter.messages("q", "t", ["a", "b"])[1]["content"]


@pytest.mark.parametrize(
    ("reply", "value", "fallback"),
    [
        ("ANSWER: Stagira.", "Stagira", False),
        ("The answer: Plato\nbecause...", "Plato", False),
        ("NOT FOUND", None, False),
        ("Stagira", "Stagira", True),
        ("[1] Kolkata", "Kolkata", True),
        ("I could not find it in these results, sorry about that, maybe search again later", None, True),
    ],
)
def test_observer_parsing(reply: str, value: str | None, fallback: bool) -> None:
    decision = Observer().parse(reply)
    assert (decision.value, decision.fallback) == (value, fallback)


def test_plain_is_one_bounded_line_without_brackets() -> None:
    assert plain("a <answer>\n b</answer>", 100) == "a answer b /answer"
    assert len(plain("x" * 500, 50)) == 50


def _trajectory(actions: list[str]) -> Trajectory:
    messages = [{"role": "user", "content": "p"}] + [{"role": "assistant", "content": a} for a in actions]
    n = len(actions)
    return Trajectory("t", messages, actions, ["r"] * n, [0.0] * n, [0.0], 1, answers=["a"])


def test_distinct_n_counts_repeats() -> None:
    assert distinct_n(["a b a b"], 1) == pytest.approx(2 / 4)
    assert distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)  # (a b), (b a), (a b)
    assert distinct_n([""], 2) == 0.0


def test_diversity_report_queries_and_overlap() -> None:
    first = [_trajectory(["<search>Plato teacher</search>", "<answer>x</answer>"]),
             _trajectory(["<search>The Plato  teacher!</search>", "<answer>y</answer>"])]
    report = trajectory_diversity(first)
    assert search_queries(first[1]) == ["plato teacher"]  # normalised like answers
    assert (report.queries, report.unique_query_share, report.mean_searches) == (2, 0.5, 1.0)
    assert report.query_overlap_prev is None
    second = trajectory_diversity([_trajectory(["<search>plato teacher</search>", "<search>Athens</search>"])],
                                  previous_queries={"plato teacher"})
    assert second.query_overlap_prev == pytest.approx(1 / 2)
    assert jaccard(set(), set()) == 0.0
    assert "distinct-1" in report.summary()


def test_planner_decomposes_freely_and_keeps_its_reasoning() -> None:
    reply = ("The passage is about Aristotle's life.\n[mask_2]: Who taught Aristotle?\n"
             "[mask_2]: Which school did he attend in Athens?\n[mask_1]: Where was Aristotle born?")
    plan = Planner().parse(reply, OBS)
    assert plan.value == {1: "Where was Aristotle born?",
                          2: "Who taught Aristotle? Which school did he attend in Athens?"}
    assert plan.text == "The passage is about Aristotle's life." and not plan.fallback


def test_rewriter_proposes_several_distinct_queries() -> None:
    reply = "1. Aristotle birthplace\n2) Stagira Aristotle\n- Aristotle birthplace\n* Aristotle born city\nmore"
    many = Rewriter().parse_many(reply, "Where?", "Aristotle", limit=3)
    assert many.value == ["Aristotle birthplace", "Stagira Aristotle", "Aristotle born city"] and not many.fallback
    assert Rewriter().parse_many("", "Who taught [mask_2]?", "Aristotle").value == ["Aristotle Who taught"]


@pytest.mark.parametrize(
    ("reply", "value", "text"),
    [
        ("The second result says he was born in Stagira.\nANSWER: Stagira", "Stagira",
         "The second result says he was born in Stagira."),
        ("None of these mention his teacher. NOT FOUND", None, "None of these mention his teacher."),
        ("ANSWER: Plato", "Plato", ""),
    ],
)
def test_observer_keeps_its_reflection(reply: str, value: str | None, text: str) -> None:
    decision = Observer().parse(reply)
    assert (decision.value, decision.text) == (value, text)

"""MultiHopQA-v0: the Gymnasium contract, grading, evidence filtering and RAMP-agent compatibility."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import ramp_env
from ramp_env.envs.multihop_qa import MultiHopQAEnv, join_answer_lines

FIXTURES = Path(__file__).parent / "fixtures"
HOTPOT = FIXTURES / "hotpot_dev_distractor_sample.json"
FANOUT = FIXTURES / "fanout-final-dev_sample.json"

# a corpus holding the evidence of the first HotpotQA question and half of the second's
PASSAGES = [
    ("sd", "Scott Derrickson", "Scott Derrickson (born July 16, 1966) is an American director, screenwriter and producer."),
    ("ew", "Ed Wood", "Edward Davis Wood Jr. (October 10, 1924 - December 10, 1978) was an American filmmaker."),
    ("st", "Shirley_Temple", "Shirley Temple Black was an American actress who served as Chief of Protocol of the United States."),
    ("x1", "Aristotle", "Aristotle was a Greek philosopher and polymath during the Classical period in Ancient Greece."),
    ("x2", "Plato", "Plato was an ancient Greek philosopher born in Athens during the Classical period."),
]


@pytest.fixture(scope="module")
def qa_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qa-corpus") / "qa_corpus.jsonl"
    path.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in PASSAGES))
    return path


@pytest.fixture()
def make_qa_env(qa_corpus: Path, cache_dir: Path):
    def factory(**kwargs: object) -> MultiHopQAEnv:
        kwargs.setdefault("dataset", str(HOTPOT))
        kwargs.setdefault("corpus", str(qa_corpus))
        kwargs.setdefault("cache_dir", str(cache_dir))
        kwargs.setdefault("progress", False)
        return MultiHopQAEnv(**kwargs)  # type: ignore[arg-type]

    return factory


def test_registered_and_passes_check_env(qa_corpus: Path, cache_dir: Path) -> None:
    assert "MultiHopQA-v0" in ramp_env.ENV_IDS
    env = gym.make("MultiHopQA-v0", dataset=str(HOTPOT), corpus=str(qa_corpus), cache_dir=str(cache_dir),
                   progress=False)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_observation_is_a_ramp_observation_with_the_question(make_qa_env) -> None:
    env = make_qa_env(order="sequential")
    obs, info = env.reset()
    question = "Were Scott Derrickson and Ed Wood of the same nationality?"
    assert obs["question"] == question
    assert obs["passage"] == f"[mask_1] is the answer to: {question}"
    assert obs["num_masks"] == 1 and obs["title"] == "" and obs["results"] == ""
    assert info["task_id"] == "5a8b57f25542995d1e6f1371"
    obs, reward, terminated, truncated, info = env.step("<search>Scott Derrickson nationality</search>")
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["retrieved_ids"][0] == "sd" and obs["results"].startswith("[1] Scott Derrickson\n")
    assert obs["searches_left"] == 3


@pytest.mark.parametrize(
    ("action", "reward", "em"),
    [
        ("<answer>yes</answer>", 1.0, 1.0),
        ("I think so. <answer>[mask_1]: Yes.</answer>", 1.0, 1.0),
        ("<answer>yes, both are American</answer>", pytest.approx(2 / 5), 0.0),
        ("<answer>no</answer>", 0.0, 0.0),
    ],
)
def test_answers_are_graded_with_f1_and_report_em(make_qa_env, action: str, reward: float, em: float) -> None:
    env = make_qa_env()
    env.reset(options={"question_id": "5a8b57f25542995d1e6f1371"})
    _, r, terminated, _, info = env.step(action)
    assert terminated and r == reward
    assert info["answer_metrics"]["em"] == em
    assert info["per_mask_scores"] == [r]


def test_best_alias_counts_and_other_rewards(tmp_path: Path, make_qa_env) -> None:
    musique = FIXTURES / "musique_ans_v1.0_dev_sample.jsonl"
    env = make_qa_env(dataset=str(musique), reward="em", answers_in_info=True)
    _, info = env.reset(options={"question_id": "2hop__460946_294723"})
    assert info["answers"] == ["Miquette Giraudy", "Miquette Giraudy-Hillage"]
    assert env.unwrapped.task.answers == ("Miquette Giraudy",)  # one gold per mask, as in RAMP
    _, r, *_ = env.step("<answer>Miquette Giraudy-Hillage</answer>")
    assert r == 1.0  # the alias, not the main answer
    with pytest.raises(ValueError, match="unknown reward"):
        make_qa_env(reward="bleu")


def test_table_answers_over_several_lines_score_their_parts(make_qa_env) -> None:
    env = make_qa_env(dataset=str(FANOUT))
    env.reset(options={"index": 0})
    _, r, _, _, info = env.step("<answer>Pat Burrell: Right\nMark Mulder: Left\nJD Drew: Left</answer>")
    assert info["predictions"] == ["Pat Burrell: Right; Mark Mulder: Left; JD Drew: Left"]
    assert info["answer_metrics"]["parts"] == pytest.approx(5 / 7)  # 3 names + Right + Left of 7 parts
    assert 0 < r < 1


def test_format_errors_cost_the_penalty_and_never_crash(make_qa_env) -> None:
    env = make_qa_env(max_searches=1)
    env.reset(seed=1)
    for bad in ["hello", "<search>unclosed", b"\xff\xfe", 42, "<search> </search>"]:
        _, r, terminated, truncated, info = env.step(bad)
        assert r == -0.1 and not terminated and info["action"] == "invalid"
        if truncated:
            break
    env.reset(seed=1)
    env.step("<search>Ed Wood</search>")
    _, r, *_ , info = env.step("<search>again</search>")
    assert r == -0.1 and "no_searches_left" in info["format_errors"]
    _, r, terminated, _, info = env.step("<answer></answer>")
    assert terminated and r == -0.1 and "empty_answer" in info["format_errors"]


def test_truncation_scores_zero(make_qa_env) -> None:
    env = make_qa_env(max_searches=0, max_steps=2)
    env.reset(seed=0)
    env.step("nothing")
    _, _, terminated, truncated, info = env.step("nothing")
    assert truncated and not terminated and info["per_mask_scores"] == [0.0]
    assert info["answer_metrics"]["f1"] == 0.0


def test_seeds_reproduce_questions_and_options_pick_one(make_qa_env) -> None:
    env = make_qa_env()
    first = [env.reset(seed=s)[1]["task_id"] for s in range(6)]
    assert first == [env.reset(seed=s)[1]["task_id"] for s in range(6)]
    assert len(set(first)) == 2
    with pytest.raises(ValueError, match="not among"):
        env.reset(options={"question_id": "nope"})
    with pytest.raises(ValueError, match="exactly one answer slot"):
        env.reset(options={"num_masks": 2})
    env.reset(options={"num_masks": 1})  # what the harness sends for --num-masks 1


def test_sequential_order_ignores_seeds(make_qa_env) -> None:
    env = make_qa_env(order="sequential")
    ids = [env.reset(seed=0)[1]["task_id"] for _ in range(3)]
    assert ids == ["5a8b57f25542995d1e6f1371", "5a8c7595554299585d9e36b6", "5a8b57f25542995d1e6f1371"]


def test_evidence_coverage_and_restriction(make_qa_env) -> None:
    env = make_qa_env()
    report = env.coverage()
    assert (report.questions, report.all_covered, report.any_covered) == (2, 1, 2)
    assert (report.titles, report.titles_covered) == (4, 3)  # "Shirley_Temple" matches "Shirley Temple"
    assert report.mean_fraction == pytest.approx((1 + 1 / 2) / 2)
    full = make_qa_env(require_evidence="all")
    assert [e.id for e in full.examples] == ["5a8b57f25542995d1e6f1371"]
    assert len(make_qa_env(require_evidence="any").examples) == 2
    with pytest.raises(ValueError, match="no question"):
        make_qa_env(dataset=str(FIXTURES / "bamboogle_sample.csv"), require_evidence="any")
    with pytest.raises(ValueError, match="require_evidence"):
        make_qa_env(require_evidence="most")


def test_pickles_for_async_vector_envs(make_qa_env) -> None:
    env = make_qa_env()
    env.reset(seed=0)
    clone = pickle.loads(pickle.dumps(env))
    obs, *_ = clone.step("<search>Shirley Temple</search>")
    assert "Shirley" in obs["results"]


def test_multi_line_answers_are_joined_labeled_ones_kept() -> None:
    assert join_answer_lines("<answer>\n a \n b \n</answer>") == "<answer>a; b</answer>"
    assert join_answer_lines("ok <answer>[mask_1]: Paris\n</answer>") == "ok <answer>[mask_1]: Paris\n</answer>"
    assert join_answer_lines("<answer>x\ny</answer><answer>z\nw</answer>") == "<answer>x; y</answer><answer>z\nw</answer>"
    assert join_answer_lines(42) == 42


def test_labeled_answer_errors_are_graded_as_in_ramp(make_qa_env) -> None:
    env = make_qa_env()
    env.reset(options={"question_id": "5a8b57f25542995d1e6f1371"})
    _, r, terminated, _, info = env.step("<answer>[mask_1]: yes\n[mask_2]: no</answer>")
    assert terminated and r == pytest.approx(0.9) and info["format_errors"] == ["unknown_mask"]
    env.reset(options={"passage_id": "5a8b57f25542995d1e6f1371"})  # RAMP's option name works too
    _, r, *_ , info = env.step("<answer>yes</answer><answer>no</answer>")
    assert r == pytest.approx(0.9) and info["format_errors"] == ["multiple_answers"]


@pytest.mark.parametrize("agent_name", ["bm25", "random", "oracle", "closed_book"])
def test_ramp_agents_play_it_unchanged(make_qa_env, agent_name: str) -> None:
    from ramp_env.evaluation.agent_loading import make_agent

    env = make_qa_env(span_extractor="rules")  # the closed-book prior reads env.spans, built on demand
    kwargs = {"span_extractor": "rules"} if agent_name in ("bm25", "random") else {}
    agent = make_agent(agent_name, env=env, kwargs=kwargs)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            done = terminated or truncated
        assert terminated, f"{agent_name} never answered"
        if agent_name == "oracle":
            assert reward == 1.0


def test_bm25_heuristic_queries_with_the_question_words(make_qa_env) -> None:
    from agents.bm25_heuristic import BM25HeuristicAgent

    env = make_qa_env()
    obs, _ = env.reset(options={"question_id": "5a8c7595554299585d9e36b6"})
    query = BM25HeuristicAgent(span_extractor="rules").act(obs)
    assert query.startswith("<search>") and "govern" in query.lower()  # the question's words, stemmed


def test_the_ending_step_reveals_every_alias(make_qa_env) -> None:
    musique = FIXTURES / "musique_ans_v1.0_dev_sample.jsonl"
    env = make_qa_env(dataset=str(musique), max_searches=0, max_steps=1)
    assert len(repr(env.observation_space)) < 200 and "question" in repr(env.observation_space)
    _, info = env.reset(options={"question_id": "2hop__460946_294723"})
    assert "answers" not in info
    _, _, terminated, truncated, info = env.step("no tag")
    assert truncated and not terminated
    assert info["answers"] == ["Miquette Giraudy", "Miquette Giraudy-Hillage"] and info["per_mask_scores"] == [0.0]
    env.reset(options={"question_id": "2hop__460946_294723"})
    _, _, terminated, _, info = env.step("<answer>Miquette Giraudy</answer>")
    assert terminated and info["answers"] == ["Miquette Giraudy", "Miquette Giraudy-Hillage"]

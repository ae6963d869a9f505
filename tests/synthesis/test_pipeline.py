"""The multi-agent pipeline plays real RAMP episodes and produces valid SFT trajectories."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.synthesis import AgentTeacher, AnswerJudge, MultiAgentTeacher, ScriptedBackend, task_plan
from ramp_env.actions import parse_action
from ramp_env.trajectories import Trajectory, read_trajectories, write_trajectories


def test_stub_teacher_trajectories_are_valid_and_kept(make_env, oracle_backend, tmp_path: Path) -> None:
    env = make_env()
    teacher = MultiAgentTeacher(oracle_backend(env))
    trajectories = teacher.generate(env, num_tasks=4, seed=3, num_masks=[1, 2])
    assert [t.num_masks for t in trajectories] == [1, 2, 1, 2]
    for t in trajectories:
        t.validate()
        assert t.terminated and t.answers is not None and len(t.answers) == t.num_masks
        # the SFT chat: system, user (masked passage), then assistant/tool turns ending on the answer
        roles = [m["role"] for m in t.messages]
        assert roles[:2] == ["system", "user"] and roles[-1] == "assistant"
        assert roles[2:] == ["assistant", "tool"] * (len(t.actions) - 1) + ["assistant"]
        assert "[mask_1]" in t.messages[1]["content"]
        kinds = [parse_action(a, t.num_masks).kind for a in t.actions]
        assert kinds == ["search"] * (len(kinds) - 1) + ["answer"]
        assert all(a.startswith("<think>") for a in t.actions)  # the roles' reasoning is the chain of thought
        # the env graded the answer: the stub's fills are the gold spans
        assert t.per_mask_scores == [1.0] * t.num_masks
        meta = t.metadata
        assert meta["teacher"] == "multi-agent" and meta["backend"] == "scripted-oracle"
        assert set(meta["plan"]) == {str(i) for i in range(1, t.num_masks + 1)}
        assert len(meta["queries"]) == t.num_masks  # one search per mask: found at the first attempt
    kept, rejected = AnswerJudge("em").split(trajectories)
    assert len(kept) == 4 and not rejected
    assert kept[0].metadata["judge"]["keep"] is True
    write_trajectories(tmp_path / "t.jsonl", trajectories)
    assert [t.to_json() for t in read_trajectories(tmp_path / "t.jsonl")] == [t.to_json() for t in trajectories]


def test_judge_rejects_wrong_fills(make_env, wrong_backend) -> None:
    env = make_env()
    trajectories = MultiAgentTeacher(wrong_backend(env)).generate(env, num_tasks=3, seed=0, num_masks=[1, 2])
    kept, rejected = AnswerJudge("em").split(trajectories)
    assert not kept and len(rejected) == 3
    assert all(t.metadata["judge"]["reason"].startswith("wrong:") for t in rejected)
    assert all(max(t.per_mask_scores) == 0.0 for t in trajectories)  # the env agrees they are wrong


def test_lockstep_batches_give_the_same_trajectories(make_env, oracle_backend) -> None:
    one = make_env()
    sequential = MultiAgentTeacher(oracle_backend(one)).generate(one, 4, seed=5, num_masks=[2])
    envs = [make_env() for _ in range(3)]
    backend = oracle_backend(envs)
    batched_calls: list[int] = []
    complete = backend.complete
    backend.complete = lambda conversations, max_new_tokens=96: (  # type: ignore[method-assign]
        batched_calls.append(len(conversations)) or complete(conversations, max_new_tokens))
    parallel = MultiAgentTeacher(backend).generate(envs, 4, seed=5, num_masks=[2])
    assert [t.to_json() for t in parallel] == [t.to_json() for t in sequential]
    assert max(batched_calls) == 3  # three episodes asked the backend together


def test_observer_that_finds_nothing_retries_then_answers(make_env) -> None:
    env = make_env(max_searches=4)

    def respond(messages):
        system = messages[0]["content"]
        if system.startswith("You plan"):
            return ""  # nothing usable: the planner falls back to the mask's sentence
        if system.startswith("Rewrite"):
            return "x " * 40  # too long: the rewriter falls back to title + question
        return "NOT FOUND"

    teacher = MultiAgentTeacher(ScriptedBackend(respond), attempts_per_mask=2)
    (trajectory,) = teacher.generate(env, 1, seed=0, num_masks=[1])
    assert [parse_action(a, 1).kind for a in trajectory.actions] == ["search", "search", "answer"]
    meta = trajectory.metadata
    assert meta["fallbacks"] == {"planner": 1, "rewriter": 2, "observer": 0}
    assert "what" in meta["plan"]["1"]
    assert parse_action(trajectory.actions[-1], 1).answers == {1: ""}
    assert trajectory.per_mask_scores == [0.0]


def test_agent_teacher_poses_the_same_tasks(make_env, oracle_backend) -> None:
    from agents.oracle import OracleAgent

    env = make_env()
    synthesized = MultiAgentTeacher(oracle_backend(env)).generate(env, 3, seed=9, num_masks=[1, 3])
    played = AgentTeacher(OracleAgent(env), "oracle").generate(env, 3, seed=9, num_masks=[1, 3])
    assert [t.task_id for t in played] == [t.task_id for t in synthesized]
    assert [t.seed for t in played] == [s for s, _ in task_plan(3, 9, [1, 3])]
    assert all(t.metadata == {"teacher": "agent", "agent": "oracle"} and t.score == 1.0 for t in played)


def test_judge_needs_gold_answers() -> None:
    bare = Trajectory("t", [{"role": "user", "content": "x"}], ["<answer>a</answer>"], ["ok"], [1.0], [1.0], 1)
    with pytest.raises(ValueError, match="no gold answers"):
        AnswerJudge()(bare)
    bare.answers = ["A"]
    assert AnswerJudge()(bare).keep
    bare.answers = ["B"]
    verdict = AnswerJudge("f1", threshold=0.5)(bare)
    assert not verdict.keep and verdict.per_mask == [0.0]
    unanswered = Trajectory("t", [{"role": "user", "content": "x"}], ["<search>q</search>"], ["r"], [0.0], [0.0], 1,
                            answers=["A"], terminated=False)
    assert AnswerJudge()(unanswered).reason == "no final answer"
    with pytest.raises(ValueError, match="threshold"):
        AnswerJudge(threshold=1.5)


def test_chain_of_thought_is_the_models_own_words(make_env) -> None:
    """With a backend that writes reasoning, the <think> turns carry it; several queries per rewrite
    are searched in order, and the observer gets up to ``attempts_per_mask`` rounds."""
    env = make_env(max_searches=4)

    def respond(messages):
        system = messages[0]["content"]
        if system.startswith("You plan"):
            return "I think this passage describes a person.\n[mask_1]: Which detail is hidden?"
        if system.startswith("Rewrite"):
            return "first query words\nsecond query words\nthird query words"
        return "Result two talks about something else. NOT FOUND"

    teacher = MultiAgentTeacher(ScriptedBackend(respond), attempts_per_mask=3, queries_per_rewrite=3)
    (trajectory,) = teacher.generate(env, 1, seed=0, num_masks=[1])
    meta = trajectory.metadata
    assert meta["queries"] == ["first query words", "second query words", "third query words"]
    assert meta["fallbacks"] == {"planner": 0, "rewriter": 0, "observer": 0}
    assert meta["reflections"] == ["Result two talks about something else."] * 3
    assert "I think this passage describes a person." in trajectory.actions[0]
    assert "Result two talks about something else." in trajectory.actions[1]
    with pytest.raises(ValueError, match="1..5"):
        MultiAgentTeacher(ScriptedBackend(respond), attempts_per_mask=6)


def test_llm_judge_records_the_models_verdicts(make_env, oracle_backend) -> None:
    from agents.synthesis import LLMAnswerJudge

    env = make_env()
    trajectories = MultiAgentTeacher(oracle_backend(env)).generate(env, 2, seed=1, num_masks=[2])

    def verdict(messages):
        user = messages[-1]["content"]
        gold, predicted = (line.split(": ", 1)[1] for line in user.splitlines()[:2])
        return "CORRECT, same span." if gold == predicted else "INCORRECT: different."

    kept, rejected = LLMAnswerJudge(ScriptedBackend(verdict, name="judge")).split(trajectories)
    assert len(kept) == 2 and not rejected
    assert kept[0].metadata["judge"]["name"] == "llm:judge"
    assert "CORRECT, same span." in kept[0].metadata["judge"]["reason"]
    # a judge that says nothing usable keeps nothing, and never sees empty answers
    seen: list[str] = []
    mute = ScriptedBackend(lambda m: seen.append(m[-1]["content"]) or "hmm", name="mute")
    assert LLMAnswerJudge(mute).split(trajectories)[0] == []
    assert len(seen) == 4


@pytest.mark.parametrize(
    ("reply", "correct"),
    [
        ("CORRECT, same span.", True),
        ("Verdict: correct - an alias.", True),
        ("INCORRECT: another person.", False),
        ("The prediction is not correct.", False),
        ("It isn't correct, different year.", False),
        ("Not entirely correct.", False),
        ("Incorrect, although the format is correct.", False),
        ("hmm", False),
    ],
)
def test_judge_verdicts_are_read_with_negations(reply: str, correct: bool) -> None:
    from agents.synthesis.judge import read_verdict

    assert read_verdict(reply) is correct

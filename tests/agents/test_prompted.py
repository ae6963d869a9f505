"""agents.prompted: the RAG-PE and Agent-PE baselines on RAMP-v0 and MultiHopQA-v0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.prompted import AGENT_PE_PROMPT, RAGPEAgent, agent_pe, answer_action, retrieval_query
from agents.synthesis.backends import ScriptedBackend
from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.evaluation import registered_agents
from ramp_env.evaluation.runner import run_episodes

HOTPOT = Path(__file__).resolve().parents[1] / "qa" / "fixtures" / "hotpot_dev_distractor_sample.json"
QA_PASSAGES = [
    ("sd", "Scott Derrickson", "Scott Derrickson (born July 16, 1966) is an American director and producer."),
    ("ew", "Ed Wood", "Edward Davis Wood Jr. (October 10, 1924 - December 10, 1978) was an American filmmaker."),
    ("x1", "Aristotle", "Aristotle was a Greek philosopher and polymath during the Classical period in Ancient Greece."),
]


@pytest.fixture()
def qa_env(tmp_path: Path, cache_dir: Path) -> MultiHopQAEnv:
    corpus = tmp_path / "qa.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in QA_PASSAGES))
    return MultiHopQAEnv(dataset=str(HOTPOT), corpus=str(corpus), cache_dir=str(cache_dir), progress=False,
                         require_evidence="none")


def test_both_baselines_are_registered() -> None:
    agents = registered_agents()
    assert agents["rag_pe"] == "agents.prompted:RAGPEAgent" and agents["agent_pe"] == "agents.prompted:agent_pe"


def test_retrieval_query_is_the_question_or_the_passage_without_masks() -> None:
    ramp = {"title": "Aristotle", "passage": "[mask_1] was taught by <b>[mask_2]</b> in Athens.", "num_masks": 2}
    assert retrieval_query(ramp) == "Aristotle was taught by b /b in Athens."
    qa = {"title": "", "passage": "Question: Who? Answer: [mask_1]", "question": "Who taught Aristotle?"}
    assert retrieval_query(qa) == "Who taught Aristotle?"
    assert len(retrieval_query({"passage": "word " * 500, "num_masks": 1}, max_chars=50)) <= 50


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<answer>\n[mask_2]: Plato\n[mask_1]: Aristotle\n</answer>", ["Aristotle", "Plato"]),
        ("[mask_1]: Aristotle", ["Aristotle", ""]),
        ("Aristotle\nPlato\nSocrates", ["Aristotle", "Plato"]),
        ("", ["", ""]),
        ("<answer>[mask_1]: x [mask_2] <search>y</search>", ["x search y /search", ""]),
    ],
)
def test_answer_action_always_answers_every_mask(reply: str, expected: list[str]) -> None:
    action = answer_action(reply, 2)
    assert action.startswith("<answer>\n") and action.endswith("\n</answer>") and action.count("<") == 2
    lines = action.splitlines()[1:-1]
    assert lines == [f"[mask_{i}]: {text}".rstrip() if text else f"[mask_{i}]: " for i, text in enumerate(expected, 1)]


def first_hit_title(messages: list[dict[str, str]]) -> str:
    """A stand-in LLM: answers every mask with the title of the first retrieved passage."""
    user = messages[-1]["content"]
    hits = user.split("Retrieved passages:\n", 1)[1].splitlines()
    title = hits[0].split("] ", 1)[1] if hits and hits[0].startswith("[1]") else "unknown"
    n = int(user.split("Masks to fill: ")[1].split()[0])
    return "<answer>\n" + "\n".join(f"[mask_{i}]: {title}" for i in range(1, n + 1)) + "\n</answer>"


def test_rag_pe_searches_once_then_answers_from_the_hits_on_ramp(make_env) -> None:
    seen: list[list[dict[str, str]]] = []

    def respond(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        return first_hit_title(messages)

    env = make_env(max_searches=3)
    agent = RAGPEAgent(backend=ScriptedBackend(respond))
    records = list(run_episodes(env, agent, 4, seed=0, num_masks=2))
    assert all(r.searches == 1 and r.steps == 2 and r.format_errors == 0 for r in records)
    assert len(seen) == 4 and all("Retrieved passages:\n[1] " in m[-1]["content"] for m in seen)
    assert all("[mask_1]" in m[-1]["content"] and m[0]["role"] == "system" for m in seen)


def test_rag_pe_on_multihop_qa_searches_with_the_question(qa_env: MultiHopQAEnv) -> None:
    queries: list[str] = []

    def respond(messages: list[dict[str, str]]) -> str:
        return first_hit_title(messages)

    agent = RAGPEAgent(backend=ScriptedBackend(respond))
    obs, _ = qa_env.reset(seed=0)
    action = agent.act(obs)
    queries.append(action)
    assert action == f"<search>{retrieval_query(obs)}</search>" and obs["question"] in action
    obs, *_ = qa_env.step(action)
    _, _, terminated, _, info = qa_env.step(agent.act(obs))
    assert terminated and not info["format_errors"]


def test_rag_pe_without_search_budget_answers_closed_book(make_env) -> None:
    env = make_env(max_searches=0)
    agent = RAGPEAgent(backend=ScriptedBackend(lambda m: "Plato"))
    records = list(run_episodes(env, agent, 2, seed=0, num_masks=1))
    assert all(r.searches == 0 and r.steps == 1 and r.predictions == ["Plato"] for r in records)


@pytest.mark.slow
def test_agent_pe_is_the_prompted_llm_agent_on_both_envs(tiny_model, smollm2_tokenizer, make_env, qa_env) -> None:
    agent = agent_pe(model=tiny_model(), tokenizer=smollm2_tokenizer, max_new_tokens=6, max_context_tokens=1024)
    assert agent.config.system_prompt == AGENT_PE_PROMPT
    for env in (make_env(max_searches=1), qa_env):
        (record,) = run_episodes(env, agent, 1, seed=0)
        assert record.steps >= 1  # a random model writes no valid action: graded penalties, never a crash


def test_agent_pe_with_base_url_is_the_endpoint_agent() -> None:
    from agents.llm.openai_agent import OpenAIAgent

    agent = agent_pe(model="served-model", base_url="http://127.0.0.1:9/v1", concurrency=2)
    try:
        assert isinstance(agent, OpenAIAgent) and agent.system_prompt == AGENT_PE_PROMPT
    finally:
        agent.close()


def test_the_cli_hands_the_baselines_only_arguments_they_take() -> None:
    from ramp_env.cli.evaluate import agent_specs

    specs = agent_specs(["rag_pe", "agent_pe"], ["max_new_tokens=8"], span_extractor="rules")
    assert [s.kwargs for s in specs] == [{"max_new_tokens": 8}, {"max_new_tokens": 8}]

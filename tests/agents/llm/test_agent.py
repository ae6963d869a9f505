"""LLMAgent: multi-turn chats against RAMP-v0, token records, context budget, batching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import agents.llm.agent as agent_module
from agents import LLMAgent
from agents.llm.agent import ELIDED_RESULTS
from agents.llm.chat import encode, render, template_messages
from agents.llm.generation import Generation
from agents.llm.rollout import EpisodeSpec, play_episodes


class ScriptedGenerations:
    """Stands in for ``generate_batch``: returns scripted turns and records the contexts it got."""

    def __init__(self, tokenizer: Any, turns: Sequence[str], end_with_eos: bool = False) -> None:
        self.tokenizer = tokenizer
        self.turns = list(turns)
        self.end_with_eos = end_with_eos
        self.contexts: list[list[int]] = []

    def __call__(self, model: Any, tokenizer: Any, contexts: Sequence[Sequence[int]], **kwargs: Any) -> list:
        out = []
        for context in contexts:
            self.contexts.append(list(context))
            text = self.turns.pop(0)
            ids = encode(self.tokenizer, text)
            if self.end_with_eos and not self.turns:
                ids.append(self.tokenizer.eos_token_id)
            out.append(Generation(ids, text, "stop"))
        return out


def play(agent: LLMAgent, env: Any, seed: int = 3) -> tuple[list[str], dict[str, Any]]:
    obs, info = env.reset(seed=seed)
    actions = []
    while True:
        action = agent.act(obs)
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return actions, info


def test_tiny_model_completes_an_episode(tiny_model, smollm2_tokenizer, small_env) -> None:
    env = small_env()
    agent = LLMAgent(model=tiny_model(), tokenizer=smollm2_tokenizer, max_new_tokens=8, record_tokens=True)
    actions, info = play(agent, env)
    assert 1 <= len(actions) <= env.max_steps
    assert len(info["per_mask_scores"]) == env.task.num_masks
    assert len(agent.generations()) == len(actions)
    assert sum(s.num_generated for s in agent.token_segments()) == sum(len(g.token_ids) for g in agent.generations())


def test_multi_turn_context_and_policy_mask(monkeypatch, tiny_model, smollm2_tokenizer, small_env) -> None:
    env = small_env()
    env.reset(seed=5)
    gold = env.task.answers[0]
    turns = [f"<search>{env.task.title}</search>", f"<answer>\n[mask_1]: {gold}\n</answer>"]
    script = ScriptedGenerations(smollm2_tokenizer, turns, end_with_eos=True)
    monkeypatch.setattr(agent_module, "generate_batch", script)
    monkeypatch.setattr(agent_module, "generate_cached", script)
    agent = LLMAgent(model=tiny_model(), tokenizer=smollm2_tokenizer, record_tokens=True)
    [episode] = play_episodes(agent, [env], [EpisodeSpec(seed=5)])

    trajectory = episode.trajectory
    assert trajectory.score == 1.0 and trajectory.actions == turns
    assert [m["role"] for m in trajectory.messages] == ["system", "user", "assistant", "tool", "assistant"]
    # the second turn saw the first turn and the env's search results, rendered by the template
    second_context = smollm2_tokenizer.decode(script.contexts[1])
    expected = render(smollm2_tokenizer, template_messages(trajectory.messages[:4], "tool"), True)
    assert second_context == expected and trajectory.messages[3]["content"] in second_context
    # one segment; its policy tokens are exactly what was generated (answer EOS included)
    [segment] = episode.segments
    generated = [t for t, m in zip(segment.input_ids, segment.policy_mask) if m]
    assert generated == encode(smollm2_tokenizer, turns[0]) + encode(smollm2_tokenizer, turns[1]) + [
        smollm2_tokenizer.eos_token_id
    ]
    untrained = smollm2_tokenizer.decode([t for t, m in zip(segment.input_ids, segment.policy_mask) if not m])
    assert trajectory.messages[3]["content"] in untrained  # retrieved text is context, never policy


def test_context_budget_elides_old_results(monkeypatch, tiny_model, smollm2_tokenizer, small_env) -> None:
    env = small_env(max_searches=2, top_k=2, max_hit_chars=600)
    turns = ["<search>history</search>", "<search>geography</search>", "<answer>x</answer>"]

    def run(max_context_tokens: int) -> tuple[ScriptedGenerations, LLMAgent]:
        script = ScriptedGenerations(smollm2_tokenizer, turns)
        monkeypatch.setattr(agent_module, "generate_batch", script)
        monkeypatch.setattr(agent_module, "generate_cached", script)
        agent = LLMAgent(
            model=tiny_model(), tokenizer=smollm2_tokenizer, record_tokens=True,
            max_new_tokens=16, max_context_tokens=max_context_tokens,
        )
        play(agent, env, seed=7)
        return script, agent

    roomy, _ = run(100_000)
    lengths = [len(c) for c in roomy.contexts]
    assert lengths[0] < lengths[1] < lengths[2]
    budget = lengths[1] + 16 + 4  # room for two turns, not for the third with both results
    tight, agent = run(budget)
    assert all(len(c) + 16 <= budget for c in tight.contexts)
    assert ELIDED_RESULTS in smollm2_tokenizer.decode(tight.contexts[2])
    assert len(agent.token_segments()) == 2  # the rebuilt context starts a new segment


def test_act_batch_keeps_one_episode_per_slot(monkeypatch, tiny_model, smollm2_tokenizer, small_env) -> None:
    envs = [small_env(), small_env()]
    observations = [envs[0].reset(seed=1)[0], envs[1].reset(seed=2)[0]]
    script = ScriptedGenerations(smollm2_tokenizer, ["<search>a</search>", "<search>b</search>"] * 3)
    monkeypatch.setattr(agent_module, "generate_batch", script)
    monkeypatch.setattr(agent_module, "generate_cached", script)
    agent = LLMAgent(model=tiny_model(), tokenizer=smollm2_tokenizer)
    agent.act_batch(observations)
    observations = [env.step("<search>q</search>")[0] for env in envs]
    agent.act_batch(observations)
    for slot, obs in enumerate(observations):
        text = smollm2_tokenizer.decode(script.contexts[2 + slot])
        assert obs["passage"] in text and text.count("<|im_start|>assistant") == 2
    # a new passage in slot 0 starts a new chat there
    agent.act_batch([envs[0].reset(seed=9)[0]], slots=[0])
    assert smollm2_tokenizer.decode(script.contexts[4]).count("<|im_start|>assistant") == 1
    with pytest.raises(ValueError, match="distinct"):
        agent.act_batch(observations, slots=[0, 0])


def test_bad_configuration_is_refused(tiny_model, smollm2_tokenizer) -> None:
    with pytest.raises(ValueError, match="max_context_tokens"):
        LLMAgent(model=tiny_model(), tokenizer=smollm2_tokenizer, max_new_tokens=64, max_context_tokens=64)
    with pytest.raises(ValueError, match="tokenizer"):
        LLMAgent(model=tiny_model())
    with pytest.raises(RuntimeError, match="record_tokens"):
        LLMAgent(model=tiny_model(), tokenizer=smollm2_tokenizer).token_segments()


@pytest.mark.slow
def test_default_agent_plays_with_the_offline_smollm2(small_env) -> None:
    env = small_env()
    agent = LLMAgent(max_new_tokens=24)  # no arguments beyond budget: the offline SmolLM2-135M-Instruct
    assert agent.model.config.vocab_size == 49152
    actions, info = play(agent, env, seed=0)
    assert 1 <= len(actions) <= env.max_steps and all(isinstance(a, str) and a for a in actions)
    assert len(info["per_mask_scores"]) == env.task.num_masks


def test_registered_for_the_harness_with_explicit_arguments(tiny_model, smollm2_tokenizer) -> None:
    from ramp_env.evaluation.agent_loading import accepts, make_agent, resolve_agent

    assert resolve_agent("llm") is LLMAgent
    # the harness hands span_extractor to agents that take it; LLMAgent must not look like one
    assert accepts(LLMAgent, "max_new_tokens") and not accepts(LLMAgent, "span_extractor")
    agent = make_agent("llm", kwargs={"model": tiny_model(), "tokenizer": smollm2_tokenizer, "temperature": 0.5})
    assert agent.config.temperature == 0.5 and agent.config.max_new_tokens == 96


def test_score_agent_plays_seeded_tasks_in_waves(monkeypatch, tiny_model, smollm2_tokenizer, small_env) -> None:
    from agents.llm.rollout import score_agent, seeded_specs

    specs = seeded_specs(seed=3, num_masks=1, count=3)
    assert specs == seeded_specs(seed=3, num_masks=1, count=3) and len({s.seed for s in specs}) == 3
    probe = small_env()
    golds = []
    for spec in specs:
        probe.reset(seed=spec.seed, options=dict(spec.options))
        golds.append(probe.task.answers[0])
    # two envs for three tasks: waves of 2 then 1; the first task answered right, the others wrong
    turns = [f"<answer>{golds[0]}</answer>", "<answer>zzz</answer>", "<answer>zzz</answer>"]
    script = ScriptedGenerations(smollm2_tokenizer, turns)
    monkeypatch.setattr(agent_module, "generate_batch", script)
    monkeypatch.setattr(agent_module, "generate_cached", script)
    agent = LLMAgent(model=tiny_model(), tokenizer=smollm2_tokenizer)
    summary = score_agent(agent, [small_env(), small_env()], specs)
    assert summary["answered"] == 1.0 and summary["example_action"] == turns[0]
    assert summary["score"] == pytest.approx(1 / 3, abs=1e-3) and summary["reward"] == pytest.approx(1 / 3, abs=1e-3)


def test_kv_cache_across_turns_plays_the_same_episodes(tiny_model, smollm2_tokenizer, small_env) -> None:
    model = tiny_model(seed=5)
    envs = [small_env(max_searches=2), small_env(max_searches=2)]
    specs = [EpisodeSpec(seed=11), EpisodeSpec(seed=12)]
    played = {}
    for cached in (False, True):
        agent = LLMAgent(model=model, tokenizer=smollm2_tokenizer, max_new_tokens=6, cache_across_turns=cached)
        played[cached] = play_episodes(agent, envs, specs)
        if cached:
            # turns after the first reused the episode's cached prefix
            assert agent.kv_cache.hits >= 2 and agent.kv_cache.reused_tokens > 0
    for plain, cached in zip(played[False], played[True]):
        assert len(plain.generations) >= 2  # multi-turn: the cache had something to reuse
        assert [g.token_ids for g in plain.generations] == [g.token_ids for g in cached.generations]


def test_trajectories_record_the_sampling_settings(tiny_model, smollm2_tokenizer, small_env) -> None:
    model = tiny_model()
    model.generation_config.repetition_penalty = 1.3  # not applied, and the record says so
    agent = LLMAgent(model=model, tokenizer=smollm2_tokenizer, max_new_tokens=4, temperature=0.7, top_p=0.9, seed=3)
    [episode] = play_episodes(agent, [small_env()], [EpisodeSpec(seed=1)])
    sampling = episode.trajectory.metadata["sampling"]
    assert sampling["do_sample"] and sampling["temperature"] == 0.7 and sampling["top_p"] == 0.9
    assert sampling["repetition_penalty"] == 1.0 and sampling["no_repeat_ngram_size"] == 0 and sampling["top_k"] == 0
    assert sampling["max_new_tokens"] == 4 and sampling["seed"] == 3 and sampling["cache_across_turns"]

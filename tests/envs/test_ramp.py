"""RAMP-v0: the Gymnasium contract, determinism, the source-leak guarantee, budgets and penalties."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ramp_env
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.masking import maskable_spans


def test_ids_are_registered_on_import() -> None:
    assert "RAMP-v0" in ramp_env.ENV_IDS
    for env_id in ramp_env.ENV_IDS:
        assert env_id in gym.registry


@pytest.mark.parametrize("num_masks", [1, 3])
def test_check_env_passes(make_env, num_masks: int) -> None:
    env = make_env(num_masks=num_masks, render_mode="ansi")
    check_env(env)


def test_gym_make_with_package_prefix(cache_dir, wiki_sample) -> None:
    env = gym.make(
        "ramp_env:RAMP-v0", num_masks=2, corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules"
    )
    obs, _ = env.reset(seed=0)
    assert obs["passage"].count("[mask_") == 2 and env.observation_space.contains(obs)


def rollout(env: RAMPEnv, seed: int, actions: list[str]) -> list[object]:
    trace: list[object] = [env.reset(seed=seed)]
    for action in actions:
        trace.append(env.step(action))
    return trace


def test_same_seed_same_episode_bit_for_bit(make_env) -> None:
    actions = ["<search>Greek philosopher</search>", "<search>battle year</search>", "<answer>x</answer>"]
    a = rollout(make_env(num_masks=2), 7, actions)
    b = rollout(make_env(num_masks=2), 7, actions)
    assert pickle.dumps(a) == pickle.dumps(b)
    c = rollout(make_env(num_masks=2), 8, actions)
    assert pickle.dumps(a) != pickle.dumps(c)


def test_masks_render_in_reading_order_and_answers_match(make_env) -> None:
    env = make_env(num_masks=4)
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        task = env.task
        positions = [obs["passage"].index(f"[mask_{i}]") for i in range(1, 5)]
        assert positions == sorted(positions)
        # filling the masks with the answers gives back the passage
        filled = obs["passage"]
        for i, answer in enumerate(task.answers, start=1):
            filled = filled.replace(f"[mask_{i}]", answer)
        assert filled == task.text


@pytest.mark.parametrize("backend", ["tantivy", "rank_bm25"])
def test_source_passage_never_comes_back(make_env, backend: str) -> None:
    env = make_env(num_masks=1, retriever=backend, top_k=5, max_searches=3)
    for seed in range(25):
        env.reset(seed=seed)
        task = env.task
        # the strongest possible leak queries: the passage itself and its gold answer in context
        for query in (task.masked_text, f"{task.title} {task.answers[0]}", task.text):
            _, _, _, _, info = env.step(f"<search>{query[:3000]}</search>")
            assert task.passage_id not in info["retrieved_ids"]
            assert len(info["retrieved_ids"]) == 5


def test_opt_in_lets_the_source_come_back(make_env) -> None:
    env = make_env(num_masks=1, allow_source_in_results=True, top_k=3)
    found = 0
    for seed in range(10):
        env.reset(seed=seed)
        _, _, _, _, info = env.step(f"<search>{env.task.text[:3000]}</search>")
        found += env.task.passage_id in info["retrieved_ids"]
    assert found >= 8  # searching a passage's own text finds it


def test_correct_answer_scores_one_and_ends_episode(make_env) -> None:
    env = make_env(num_masks=3)
    env.reset(seed=3)
    answer = "\n".join(f"[mask_{i}]: {a}" for i, a in enumerate(env.task.answers, 1))
    _, reward, terminated, truncated, info = env.step(f"Let me think. <answer>{answer}</answer>")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["per_mask_scores"] == [1.0, 1.0, 1.0]
    assert info["reward_components"]["format"] == 0.0


def test_answers_in_order_without_labels(make_env) -> None:
    env = make_env(num_masks=2)
    env.reset(seed=4)
    a1, a2 = env.task.answers
    _, reward, *_ = env.step(f"<answer>{a1}\n{a2}</answer>")
    assert reward == 1.0
    env.reset(seed=4)
    _, reward, _, _, info = env.step(f"<answer>[mask_2]: {a2}</answer>")
    assert reward == 0.5 and info["per_mask_scores"] == [0.0, 1.0]


def test_gold_answers_only_in_info_when_asked(make_env) -> None:
    _, info = make_env().reset(seed=0)
    assert "answers" not in info
    env = make_env(answers_in_info=True)
    _, info = env.reset(seed=0)
    assert info["answers"] == list(env.unwrapped.task.answers)


def test_search_budget_and_truncation(make_env) -> None:
    env = make_env(num_masks=1, max_searches=2, max_steps=4)
    obs, _ = env.reset(seed=1)
    assert (obs["searches_left"], obs["steps_left"]) == (2, 4)
    for left in (1, 0):
        obs, reward, terminated, truncated, info = env.step("<search>history</search>")
        assert obs["searches_left"] == left and reward == 0.0 and info["retrieved_ids"]
    obs, reward, terminated, truncated, info = env.step("<search>more</search>")
    assert reward == pytest.approx(-0.1) and "no_searches_left" in info["format_errors"] and not info["retrieved_ids"]
    obs, reward, terminated, truncated, info = env.step("nothing")
    assert truncated and not terminated and info["per_mask_scores"] == [0.0]
    with pytest.raises(RuntimeError, match="reset"):
        env.step("<answer>x</answer>")


def test_results_are_in_the_observation(make_env) -> None:
    env = make_env(top_k=2)
    env.reset(seed=0)
    obs, _, _, _, info = env.step("<search>Aristotle</search>")
    assert obs["results"].startswith("[1] ") and "\n\n[2] " in obs["results"]
    assert len(info["retrieved_ids"]) == 2


ODD_ACTIONS = [
    "",
    "hello",
    "<search></search>",
    "<search>unclosed",
    "<answer>never closed",
    b"<search>\xff\xfe</search>",
    b"<search>bytes query</search>",
    None,
    12345,
    ["<search>x</search>"],
    "\ud800 lone surrogate <search>x</search>",
    "<search>" + "x" * 10_000 + "</search>",
    "<search><answer>nested</answer></search>",
]


@pytest.mark.parametrize("action", ODD_ACTIONS)
def test_malformed_actions_are_penalised_not_raised(make_env, action: object) -> None:
    env = make_env(num_masks=2)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(action)  # type: ignore[arg-type]
    assert env.observation_space.contains(obs)
    if info["action"] == "invalid":
        assert reward == pytest.approx(-0.1) and info["format_errors"] and "Invalid action" in obs["message"]
    else:  # bytes that decode, or a tag that is complete inside the junk
        assert info["action"] in ("search", "answer")


@pytest.fixture(scope="module")
def fuzz_env(cache_dir, wiki_sample) -> RAMPEnv:
    return RAMPEnv(corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules", num_masks=2, progress=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.one_of(st.text(max_size=300), st.binary(max_size=300), st.text(alphabet="<>/searchnw[]_:1\n ", max_size=80)))
def test_fuzzed_actions_never_raise(fuzz_env: RAMPEnv, action: object) -> None:
    env = fuzz_env
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(action)  # type: ignore[arg-type]
    assert env.observation_space.contains(obs)
    assert -0.1 - 1e-9 <= reward <= 1.0
    if info["action"] == "invalid":
        assert reward == pytest.approx(-0.1) and not terminated


def test_format_errors_in_answers_cost_the_penalty(make_env) -> None:
    env = make_env(num_masks=1)
    env.reset(seed=2)
    gold = env.task.answers[0]
    _, reward, terminated, _, info = env.step(f"<answer>[mask_1]: {gold}\n[mask_7]: extra</answer>")
    assert terminated and reward == pytest.approx(0.9) and info["format_errors"] == ["unknown_mask"]
    assert info["reward_components"]["format"] == pytest.approx(-0.1)


def test_pickle_mid_episode_continues_identically(make_env) -> None:
    env = make_env(num_masks=2)
    env.reset(seed=11)
    env.step("<search>empire</search>")
    clone = pickle.loads(pickle.dumps(env))
    a = env.step("<search>war</search>")
    b = clone.step("<search>war</search>")
    assert pickle.dumps(a) == pickle.dumps(b)
    assert pickle.dumps(env.reset()) == pickle.dumps(clone.reset())  # the RNG state travelled too


def test_render_modes(make_env, capsys: pytest.CaptureFixture[str]) -> None:
    env = make_env(render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and env.task.masked_text in text
    human = make_env(render_mode="human")
    human.reset(seed=0)
    assert "[mask_1]" in capsys.readouterr().out


def test_reset_options(make_env) -> None:
    env = make_env(num_masks=1)
    obs, _ = env.reset(seed=0, options={"num_masks": 3})
    assert obs["num_masks"] == 3 and env.num_masks == 3
    pid = env.task.passage_id
    env.reset(seed=99, options={"passage_id": pid})
    assert env.task.passage_id == pid
    with pytest.raises(ValueError, match="not in the corpus"):
        env.reset(options={"passage_id": "nope"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_masks": 0}, "num_masks"),
        ({"num_masks": 1000}, "num_masks"),
        ({"top_k": 0}, "top_k"),
        ({"render_mode": "rgb_array"}, "render_mode"),
        ({"reward": "nope"}, "unknown reward"),
        ({"mask_strategy": "nope"}, "unknown mask_strategy"),
        ({"retriever": "nope"}, "unknown retriever backend"),
    ],
)
def test_bad_arguments_are_named(make_env, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_env(**kwargs)


def test_mask_positions_cover_the_corpus(make_env) -> None:
    env = make_env(num_masks=1)
    ids = {env.reset(seed=s)[1]["task_id"] for s in range(40)}
    assert len(ids) > 30  # tasks are spread over the corpus, not stuck on a few passages
    assert np.all([isinstance(i, str) for i in ids])


@pytest.mark.slow
def test_default_configuration_passes_check_env() -> None:
    env = gym.make("RAMP-v0", num_masks=3)
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=0)
    assert obs["passage"].count("[mask_") == 3


# -- evidence-verified masking ------------------------------------------------------------------


def _gold_in(answer: str, text: str) -> bool:
    from ramp_env.rewards import normalize_answer

    return f" {normalize_answer(answer)} " in f" {normalize_answer(text)} "


@pytest.mark.parametrize("num_masks", [1, 2])
def test_every_mask_has_evidence_by_default(make_env, num_masks: int) -> None:
    from ramp_env.masking.near_duplicates import is_near_duplicate

    env = make_env(num_masks=num_masks)
    assert env.require_evidence == "all"
    store = env.corpus.store
    for seed in range(12):
        env.reset(seed=seed)
        task = env.task
        assert len(task.evidence_ids) == num_masks
        for answer, ids in zip(task.answers, task.evidence_ids):
            assert ids, (task.passage_id, answer)
            for pid in ids:
                evidence = store.get(store.rowid_of(pid))
                assert pid != task.passage_id and not is_near_duplicate(task.text, evidence.text)
                assert _gold_in(answer, evidence.text)  # checked here without the criterion's code


def test_without_evidence_any_maskable_span_is_masked(make_env) -> None:
    on, off = make_env(num_masks=1), make_env(num_masks=1, require_evidence="none")
    unsupported = 0
    for seed in range(40):
        off.reset(seed=seed)
        assert off.task.evidence_ids == ()  # not computed on the draw: only on request
        unsupported += not off.unwrapped.task_evidence()[0]
        on.reset(seed=seed)
        assert on.task.evidence_ids[0]
    assert unsupported > 0  # off keeps the masks no other passage states


@pytest.mark.parametrize("require_evidence", ["all", "none"])
def test_evidence_never_leaks_into_observations_or_info(make_env, require_evidence: str) -> None:
    env = make_env(num_masks=2, require_evidence=require_evidence)
    obs, info = env.reset(seed=3)
    evidence_ids = {pid for ids in env.task_evidence() for pid in ids}
    assert evidence_ids or require_evidence == "none"
    obs, _, _, _, info2 = env.step("<search>anything at all</search>")
    for blob in (repr(info), repr(info2), obs["passage"], obs["message"], obs["title"]):
        assert "evidence" not in blob and not any(pid in blob for pid in evidence_ids)
    shown = make_env(num_masks=2, require_evidence=require_evidence, answers_in_info=True)
    _, info = shown.reset(seed=3)
    assert info["evidence_ids"] == [list(ids) for ids in shown.task_evidence()]


@pytest.mark.parametrize("require_evidence", ["all", "any", "none"])
def test_check_env_passes_with_and_without_evidence(make_env, require_evidence: str) -> None:
    check_env(make_env(num_masks=2, require_evidence=require_evidence))


def test_passage_without_enough_supported_spans_is_named(make_env) -> None:
    env = make_env(num_masks=1)
    for row in range(1, len(env.corpus.store) + 1):
        passage = env.corpus.store.get(row)
        candidates = maskable_spans(passage, env.spans.get(row))
        if candidates and not env.evidence.supported_spans(passage, candidates):
            break
    else:
        pytest.skip("every passage of the sample has a supported span")
    with pytest.raises(ValueError, match="supported by evidence"):
        env.reset(seed=0, options={"passage_id": passage.id})
    off = make_env(num_masks=1, require_evidence="none")
    off.reset(seed=0, options={"passage_id": passage.id})
    assert off.task.passage_id == passage.id


@pytest.mark.parametrize("ending", ["answer", "truncation"])
def test_the_ending_step_reveals_gold_answers_and_scores(make_env, ending: str) -> None:
    env = make_env(num_masks=2, max_searches=1, max_steps=2)
    _, info = env.reset(seed=5)
    assert "answers" not in info
    gold = list(env.task.answers)
    _, _, terminated, truncated, info = env.step("<search>anything</search>")
    assert not (terminated or truncated) and "answers" not in info and "per_mask_scores" not in info
    action = f"<answer>[mask_1]: {gold[0]}</answer>" if ending == "answer" else "not an action"
    _, _, terminated, truncated, info = env.step(action)
    assert (terminated, truncated) == ((True, False) if ending == "answer" else (False, True))
    assert info["answers"] == gold
    assert info["per_mask_scores"] == ([1.0, 0.0] if ending == "answer" else [0.0, 0.0])
    assert "evidence_ids" not in info  # evidence stays with answers_in_info=True


def test_options_that_leave_no_task_raise_a_package_error_naming_what_to_relax(make_env) -> None:
    from ramp_env.errors import NoTaskError

    env = make_env(num_masks=1, evidence_criterion="fact", task_pool=3)
    try:
        # a one-passage pool whose evidence cannot pass the fact check: every draw fails
        env.unwrapped._make_task = lambda row, k: None  # type: ignore[method-assign]
        with pytest.raises(NoTaskError, match="evidence_criterion='context'.*require_evidence='none'") as info:
            env.reset(seed=0)
        assert isinstance(info.value, RuntimeError)  # what callers caught before the package base
    finally:
        env.close()

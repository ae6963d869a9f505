"""Option validation and the hidden title (issue 22): every numeric option finite and in range
with a one-line error, and ``show_title=False`` reveals the title nowhere the agent looks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ramp_env.masking.pool import parse_task_pool, pool_size
from ramp_env.text.normalize import normalize_answer

BAD_OPTIONS = [
    {"max_hit_chars": -5},
    {"max_hit_chars": 0},
    {"max_hit_chars": 2.5},
    {"max_action_chars": 0},
    {"max_action_chars": -1},
    {"max_passage_chars": 0},
    {"format_penalty": math.nan},
    {"format_penalty": math.inf},
    {"format_penalty": -0.1},
    {"format_penalty": "0.1"},
    {"format_penalty": True},
    {"top_k": 0},
    {"top_k": 2.7},
    {"top_k": True},
    {"top_k": 10**9},
    {"max_hit_chars": 10**12},
    {"max_searches": -1},
    {"max_searches": 1.5},
    {"max_steps": 0},
    {"max_steps": math.nan},
    {"num_masks": 2.7},
    {"num_masks": 0},
    {"num_masks": 65},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))!r}")
def test_bad_numeric_options_are_one_line_errors(make_env, options: dict) -> None:
    (name,) = options
    with pytest.raises(ValueError, match=name) as error:
        make_env(**options)
    assert "\n" not in str(error.value)


def test_good_numeric_options_are_accepted(make_env) -> None:
    env = make_env(num_masks=np.int64(1), top_k=np.int64(2), format_penalty=np.float32(0.5), max_hit_chars=1,
                   max_action_chars=1, require_evidence="none")
    obs, _ = env.reset(seed=0)
    obs, reward, *_ = env.step("<search>river</search>")
    assert env.observation_space.contains(obs)
    obs, reward, *_ = env.step("too long for one character")
    assert reward == -0.5


@pytest.mark.parametrize("num_masks", [2.7, "2", True, 0, 65, None])
def test_reset_num_masks_option_is_validated(make_env, num_masks: object) -> None:
    env = make_env(require_evidence="none")
    with pytest.raises(ValueError, match="num_masks"):
        env.reset(seed=0, options={"num_masks": num_masks})
    assert env.num_masks == 1


def test_max_hit_chars_keeps_observations_in_their_space(make_env) -> None:
    env = make_env(max_hit_chars=1, top_k=3, require_evidence="none")
    env.reset(seed=1)
    obs, *_ = env.step("<search>the</search>")
    assert env.observation_space.contains(obs)


# -- task_pool: one meaning everywhere ---------------------------------------------------------


@pytest.mark.parametrize(("text", "passages"), [("1", 1), ("2", 2), ("1.0", 969), ("0.5", 484), ("1e0", 969)])
def test_cli_task_pool_means_what_the_env_option_means(text: str, passages: int) -> None:
    spec = parse_task_pool(text)
    assert pool_size(spec, 969) == passages
    env_spec = int(text) if text.isdigit() else float(text)
    assert pool_size(env_spec, 969) == passages


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "0.0", "nan", "inf", "x", ""])
def test_bad_cli_task_pools_are_errors(text: str) -> None:
    with pytest.raises((ValueError, TypeError)):
        parse_task_pool(text)


# -- show_title=False hides the title everywhere the agent looks --------------------------------


def test_hidden_title_is_not_in_the_task_id(make_env) -> None:
    env = make_env(show_title=False, require_evidence="none")
    seen = {}
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        task = env.task
        assert obs["title"] == ""
        assert task.title.lower() not in info["task_id"].lower()
        assert task.passage_id not in info["task_id"]
        _, _, _, _, step_info = env.step("<search>river</search>")
        assert step_info["task_id"] == info["task_id"]  # stable within the episode ...
        seen.setdefault(task.passage_id, set()).add(info["task_id"])
    assert all(len(ids) == 1 for ids in seen.values())  # ... and per passage within the env
    assert len({next(iter(ids)) for ids in seen.values()}) == len(seen)


def test_hidden_title_never_reaches_the_agent_even_as_an_answer(make_env) -> None:
    # the class behind "a gold answer absent from the passage in 39 of 300": with the title hidden a
    # span of the title may be masked (nothing shows the title), and the passage id in info["task_id"]
    # then gave the answer away. No gold answer absent from the masked passage may appear in what the
    # agent is given besides it: the title, the message, the rendered header or info.
    env = make_env(show_title=False, require_evidence="none", render_mode="ansi")
    answers_in_title = 0
    for seed in range(80):
        obs, info = env.reset(seed=seed)
        task = env.task
        others = " ".join([obs["title"], obs["message"], env.render().replace(obs["passage"], ""),
                           *(str(v) for v in info.values())])
        # as whole tokens: the opaque id's hex digits may hold "20" by chance, which reveals nothing
        others = f" {normalize_answer(others)} "
        for answer in task.answers:
            if answer in obs["passage"]:
                continue
            answers_in_title += answer.lower() in task.title.lower()
            assert f" {normalize_answer(answer)} " not in others, (seed, answer)
    assert answers_in_title > 0  # the case happened: answers from the hidden title were masked


def test_shown_title_keeps_the_passage_id(make_env) -> None:
    env = make_env(require_evidence="none")
    _, info = env.reset(seed=0)
    assert info["task_id"] == env.task.passage_id

"""Fuzzing the agent's actions: whatever an agent sends, a step returns a valid transition.

Random Unicode (control characters, lone surrogates, private use, astral planes),
grammar-built tag soup (nested, unclosed, repeated, mixed case, thousands of
masks), non-string objects and megabyte strings. The invariants checked on every
step are the env's contract: no exception, an observation inside the observation
space, a finite reward within its bounds, format errors from the documented list,
and a malformed action that changes nothing but the step count.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ramp_env.actions import FORMAT_ERRORS, parse_action
from ramp_env.envs.ramp import RAMPEnv

PENALTY = 0.1

# every kind of code point, surrogates and unassigned ones included
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ODD_CHARS = st.characters(categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn"])
TAG_PIECES = [
    "<search>", "</search>", "<answer>", "</answer>", "<SEARCH>", "</Answer>", "<search >", "</ search>",
    "<think>", "</think>", "<", ">", "/", "[mask_1]:", "[mask_2]:", "[mask_0]:", "[mask_999999]:", "mask_3 =",
    "(mask_1) -", "[MASK_1]:", "\n", "\r\n", ";", " ", "\t", "\x00", "\u2028", "Paris", "1066", "é", "💡",
]
TAG_SOUP = st.lists(st.one_of(st.sampled_from(TAG_PIECES), st.text(ANY_CHAR, max_size=8)), max_size=40).map("".join)
NON_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=200),
    st.binary(max_size=200).map(bytearray),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.text(max_size=50).map(lambda s: np.array(s)),  # 0-d numpy string
    st.text(max_size=50).map(lambda s: np.array([s, s])),  # 1-d: not an action
    st.text(max_size=50).map(np.str_),
)
ACTIONS = st.one_of(st.text(ANY_CHAR, max_size=300), st.text(ODD_CHARS, max_size=50), TAG_SOUP, NON_TEXT)


@pytest.fixture(scope="module")
def env(cache_dir: Path, wiki_sample: Path) -> RAMPEnv:
    return RAMPEnv(corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules", progress=False,
                   num_masks=2, format_penalty=PENALTY)


def check_transition(env: RAMPEnv, before: dict[str, Any], step: tuple) -> None:
    obs, reward, terminated, truncated, info = step
    assert env.observation_space.contains(obs), "observation outside its space"
    assert isinstance(reward, float) and math.isfinite(reward) and -PENALTY <= reward <= 1.0
    assert set(info["format_errors"]) <= set(FORMAT_ERRORS)
    assert info["action"] in ("search", "answer", "invalid")
    assert obs["steps_left"] == before["steps_left"] - 1
    if info["action"] == "invalid":
        assert reward == -PENALTY and not terminated and info["format_errors"]
        assert obs["searches_left"] == before["searches_left"] and obs["passage"] == before["passage"]
    elif info["action"] == "answer":
        assert terminated and not truncated
        assert len(info["per_mask_scores"]) == before["num_masks"]
        assert all(0.0 <= s <= 1.0 for s in info["per_mask_scores"])
    else:
        assert not terminated
        assert env.unwrapped.task.passage_id not in info["retrieved_ids"]  # the source never leaks
        assert len(info["retrieved_ids"]) <= env.top_k
    if truncated:
        assert obs["steps_left"] == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 50), actions=st.lists(ACTIONS, min_size=1, max_size=8))
def test_random_action_sequences_keep_the_contract(env: RAMPEnv, seed: int, actions: list[object]) -> None:
    obs, _ = env.reset(seed=seed)
    for action in actions:
        step = env.step(action)
        check_transition(env, obs, step)
        obs = step[0]
        if step[2] or step[3]:
            break


# The tag-finding regex the parser used before it was made linear; a reference for
# which complete tag wins, on inputs small enough for it to be fast.
REFERENCE_TAG = re.compile(r"<(search|answer)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
REFERENCE_BLOCK = re.compile(r"<answer>.*?</answer>", re.IGNORECASE | re.DOTALL)


@settings(max_examples=400, deadline=None)
@given(text=TAG_SOUP, num_masks=st.integers(1, 64))
def test_parser_picks_the_same_tag_as_the_reference_regex(text: str, num_masks: int) -> None:
    parsed = parse_action(text, num_masks, max_chars=10**6)
    match = REFERENCE_TAG.search(text)
    if match is None:
        assert parsed.kind == "invalid"
        return
    tag, content = match.group(1).lower(), match.group(2)
    if tag == "search":
        query = " ".join(content.split())
        assert (parsed.kind, parsed.query) == (("search", query) if query else ("invalid", ""))
    else:
        assert parsed.kind == "answer"
        assert ("multiple_answers" in parsed.errors) == (len(REFERENCE_BLOCK.findall(text)) > 1)
        assert set(parsed.answers) <= set(range(1, num_masks + 1))


MEGABYTE = 1 << 20


@pytest.mark.parametrize(
    "action",
    [
        "x" * MEGABYTE,
        "<search>" + "word " * (MEGABYTE // 5) + "</search>",
        "<answer>[mask_1]: " + "y" * MEGABYTE + "</answer>",
        "<search>" * (MEGABYTE // 8),
        "\ud800" * MEGABYTE,  # lone surrogates
        b"\xff" * MEGABYTE,
    ],
    ids=["plain", "search", "answer", "unclosed-tags", "surrogates", "bad-bytes"],
)
def test_megabyte_actions_are_rejected_quickly(env: RAMPEnv, action: object) -> None:
    obs, _ = env.reset(seed=0)
    started = time.perf_counter()
    step = env.step(action)
    assert time.perf_counter() - started < 1.0
    check_transition(env, obs, step)
    assert step[4]["format_errors"] == ["too_long"]


@pytest.mark.parametrize(
    "text",
    [
        "<search>" * 20_000,  # unclosed, repeated: was quadratic in the old tag regex
        "<answer>" * 20_000 + "</search>",
        "<answer>x</answer>" + "<answer>" * 20_000,
        "<search>" * 10_000 + "deep" + "</search>" * 10_000,
        "<answer>" + "".join(f"[mask_{i}]: a\n" for i in range(1, 20_000)) + "</answer>",
        "<answer>" + "mask_1:" + " \t" * 80_000 + "x</answer>",
    ],
    ids=["unclosed", "mismatched", "answer-then-unclosed", "nested", "thousands-of-masks", "label-whitespace"],
)
def test_adversarial_long_actions_parse_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    parsed = parse_action(text, 64, max_chars=10**7)
    assert time.perf_counter() - started < 0.5  # 160k characters; the quadratic regex took minutes
    assert parsed.kind in ("search", "answer", "invalid")


def test_thousands_of_masks_in_an_env_answer(cache_dir: Path, wiki_sample: Path) -> None:
    env = RAMPEnv(corpus=str(wiki_sample), cache_dir=str(cache_dir), span_extractor="rules", progress=False,
                  num_masks=3, max_action_chars=200_000, format_penalty=PENALTY)
    obs, _ = env.reset(seed=1)
    answer = "<answer>" + "".join(f"[mask_{i}]: guess {i}\n" for i in range(1, 5001)) + "</answer>"
    step = env.step(answer)
    check_transition(env, obs, step)
    assert step[4]["format_errors"] == ["unknown_mask"] and step[1] <= 1.0 - PENALTY
    assert step[4]["predictions"] == ["guess 1", "guess 2", "guess 3"]


def test_stepping_after_the_end_is_a_clear_error_not_a_corrupt_state(env: RAMPEnv) -> None:
    env.reset(seed=2)
    env.step("<answer>x</answer>")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("<search>more</search>")
    obs, _ = env.reset(seed=2)  # and the env is usable again
    assert env.observation_space.contains(obs)

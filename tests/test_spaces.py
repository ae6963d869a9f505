"""The text spaces' reprs name their charset instead of listing 55k characters."""

from __future__ import annotations

import pickle

import numpy as np
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

from ramp_env.spaces import SharedMemoryText, TextDict, describe_charset, text_space
from ramp_env.text.charset import text_charset


def test_text_space_repr_is_short_and_names_the_charset() -> None:
    space = text_space(4096, text_charset())
    text = repr(space)
    assert len(text) < 200 and "max_length=4096" in text and "printable BMP" in text
    assert f"{len(text_charset()):,}" in text
    assert isinstance(space, spaces.Text)  # still a real Text space: samples, contains, equality
    sample = space.sample()
    assert space.contains(sample) and space == pickle.loads(pickle.dumps(space))


def test_small_charsets_are_listed_and_large_ones_summarised() -> None:
    assert describe_charset(frozenset("cab")) == repr("abc")
    summary = describe_charset(frozenset(chr(c) for c in range(0x41, 0x41 + 200)))
    assert summary == "200 chars U+0041..U+0108"


def test_text_dict_repr_lists_text_fields_once() -> None:
    charset = text_charset()
    space = TextDict({"title": text_space(1024, charset), "passage": text_space(4000, charset),
                      "n": spaces.Discrete(65)})
    text = repr(space)
    assert text.count("printable BMP") == 1 and "title 1024" in text and "passage 4000" in text
    assert "Discrete(n): n 65" in text and len(text) < 200
    assert isinstance(space, spaces.Dict) and space.contains(space.sample())


def test_every_env_space_repr_is_under_200_chars(make_env) -> None:
    env = make_env(num_masks=2)
    for space in (env.observation_space, env.action_space):
        assert len(repr(space)) < 200, repr(space)[:300]
    assert isinstance(env.action_space, SharedMemoryText)
    check_env(env, skip_render_check=True)  # the spaces still do everything gymnasium asks of them
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert isinstance(env.observation_space.sample()["num_masks"], np.integer | int)

"""The envs' options as frozen configs: one definition per option, checked once, the keywords
``gym.make`` always took still work, unknown ones are named, old spellings warn."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import typing
from pathlib import Path

import gymnasium as gym
import pytest

import ramp_env
from ramp_env.envs.config import (
    EnvOptions,
    QAConfig,
    RAMPConfig,
    RAMPLiteConfig,
    UnknownOptionError,
)
from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.envs.ramp import RAMPEnv
from ramp_env.envs.ramp_lite import RAMPLiteEnv
from ramp_env.errors import InvalidOptionError, RampEnvError

CONFIGS = (RAMPConfig, RAMPLiteConfig, QAConfig)


def env_kwargs(cache_dir: Path, wiki_sample: Path) -> dict[str, object]:
    return {"corpus": str(wiki_sample), "cache_dir": str(cache_dir), "span_extractor": "rules", "progress": False}


def test_config_and_keywords_make_the_same_env(cache_dir: Path, wiki_sample: Path) -> None:
    kwargs = env_kwargs(cache_dir, wiki_sample)
    by_keyword = gym.make("RAMP-v0", num_masks=2, **kwargs)
    by_config = gym.make("RAMP-v0", config=RAMPConfig(num_masks=2, **kwargs))
    assert by_keyword.unwrapped.config == by_config.unwrapped.config
    assert by_keyword.reset(seed=4) == by_config.reset(seed=4)
    assert by_config.unwrapped.num_masks == 2
    by_keyword.close()
    by_config.close()


def test_keywords_replace_fields_of_a_config(cache_dir: Path, wiki_sample: Path) -> None:
    base = RAMPConfig(num_masks=2, top_k=2, **env_kwargs(cache_dir, wiki_sample))
    env = RAMPEnv(config=base, top_k=5)
    assert env.config == dataclasses.replace(base, top_k=5)
    assert (env.num_masks, env.top_k, base.top_k) == (2, 5, 2)  # the caller's config is unchanged
    env.reset(seed=0)
    _, _, _, _, info = env.step("<search>river</search>")
    assert len(info["retrieved_ids"]) == 5
    env.close()


def test_the_resolved_config_is_frozen_and_pickles(make_env) -> None:
    env = make_env(max_searches=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.config.top_k = 7  # type: ignore[misc]
    assert env.max_steps == env.config.step_limit == 8  # max_steps=None: max_searches + 2
    assert pickle.loads(pickle.dumps(env.config)) == env.config
    env.close()


@pytest.mark.parametrize(("cls", "typo", "suggestion"), [
    (RAMPEnv, "num_mask", "num_masks"),
    (RAMPEnv, "topk", "top_k"),
    (MultiHopQAEnv, "require_evidense", "require_evidence"),
    (RAMPLiteEnv, "max_search", "max_searches"),
])
def test_an_unknown_keyword_is_named_with_its_near_matches(cls: type, typo: str, suggestion: str) -> None:
    with pytest.raises(TypeError, match=f"no option '{typo}'; did you mean '{suggestion}'") as error:
        cls(**{typo: 1})  # raised before any corpus is opened
    assert isinstance(error.value, UnknownOptionError) and isinstance(error.value, RampEnvError)
    assert "\n" not in str(error.value)


def test_an_unknown_keyword_through_gym_make() -> None:
    with pytest.raises(TypeError, match="no option 'num_maskz'; did you mean 'num_masks'"):
        gym.make("RAMP-v0", num_maskz=3)


def test_a_config_of_another_env_is_refused() -> None:
    with pytest.raises(TypeError, match="config must be a RAMPConfig, got QAConfig"):
        RAMPEnv(config=QAConfig())
    with pytest.raises(TypeError, match="config must be a RAMPLiteConfig, got RAMPConfig"):
        RAMPLiteEnv(config=RAMPConfig())


@pytest.mark.parametrize(("cls", "options"), [
    (RAMPConfig, {"top_k": 0}),
    (RAMPConfig, {"num_masks": 65}),
    (RAMPConfig, {"max_passage_chars": 0}),
    (RAMPConfig, {"format_penalty": float("nan")}),
    (RAMPConfig, {"render_mode": "rgb_array"}),
    (RAMPConfig, {"evidence_criterion": "vibes"}),
    (RAMPConfig, {"require_evidence": "most"}),
    (RAMPConfig, {"show_title": "no"}),
    (RAMPConfig, {"allow_source_in_results": 1}),
    (QAConfig, {"answers_in_info": "yes"}),
    (QAConfig, {"progress": None}),
    (QAConfig, {"order": "shuffled"}),
    (QAConfig, {"max_question_chars": -1}),
    (QAConfig, {"max_hit_chars": 0}),
    (QAConfig, {"limit": 0}),
])
def test_configs_check_every_value_on_construction(cls: type, options: dict) -> None:
    (name,) = options
    with pytest.raises(InvalidOptionError, match=name) as error:
        cls(**options)
    assert isinstance(error.value, ValueError) and "\n" not in str(error.value)
    with pytest.raises(InvalidOptionError, match=name):  # replace() checks again
        dataclasses.replace(cls(), **options)


@pytest.mark.parametrize(("old", "new"), [(True, "all"), (False, "none")])
@pytest.mark.parametrize("cls", CONFIGS)
def test_the_bool_spelling_of_require_evidence_warns_and_still_works(cls: type, old: bool, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"require_evidence={old} is deprecated; use require_evidence='{new}'"
                      ) as record:
        config = cls(require_evidence=old)
    assert config.require_evidence == new
    assert record[0].filename == __file__  # the warning points at the caller's line


def test_the_bool_spelling_warns_through_the_env(make_env) -> None:
    with pytest.warns(DeprecationWarning, match="use require_evidence='none'"):
        env = make_env(require_evidence=False)
    assert env.require_evidence == "none"
    env.reset(seed=0)
    assert env.task.evidence_ids == ()  # the draw without evidence, as require_evidence=False gave
    env.close()


def test_require_evidence_any_keeps_tasks_with_at_least_one_supported_mask(make_env) -> None:
    env = make_env(num_masks=2, require_evidence="any")
    partly = 0
    for seed in range(15):
        env.reset(seed=seed)
        supported = [bool(ids) for ids in env.task.evidence_ids]
        assert len(supported) == 2 and any(supported)
        partly += not all(supported)
    assert partly > 0  # "any" is not "all": some tasks keep an unsupported mask
    env.close()


def test_one_name_and_one_type_for_each_shared_option() -> None:
    ramp = {f.name: f for f in dataclasses.fields(RAMPConfig)}
    qa = {f.name: f for f in dataclasses.fields(QAConfig)}
    shared = set(ramp) & set(qa)
    assert {"require_evidence", "reward", "corpus", "top_k", "max_searches", "format_penalty"} <= shared
    ramp_types, qa_types = typing.get_type_hints(RAMPConfig), typing.get_type_hints(QAConfig)
    assert all(ramp_types[name] == qa_types[name] for name in shared)


def test_every_option_is_defined_in_one_group_and_documented() -> None:
    groups = [c for c in EnvOptions.__subclasses__()]
    defined: dict[str, str] = {}
    for group in groups:
        for name in inspect.get_annotations(group):
            assert name not in defined, f"{name} defined in {defined[name]} and {group.__name__}"
            defined[name] = group.__name__
    for cls in CONFIGS:
        # a config may only give a group's option another default, never define a new one
        assert set(inspect.get_annotations(cls)) <= set(defined), cls.__name__
        for name, doc in cls.describe().items():
            assert name in defined and len(doc) > 20, (cls.__name__, name)


@pytest.mark.parametrize(("env_class", "config_class"), [(RAMPEnv, RAMPConfig), (MultiHopQAEnv, QAConfig),
                                                         (RAMPLiteEnv, RAMPLiteConfig)])
def test_help_shows_every_option_with_its_default(env_class: type, config_class: type) -> None:
    doc = inspect.getdoc(env_class) or ""
    for base in env_class.__mro__[1:]:
        doc += inspect.getdoc(base) or ""
    for field in dataclasses.fields(config_class):
        assert f"``{field.name}``" in doc, field.name
    assert config_class.__name__ in doc


@pytest.mark.parametrize(("env_class", "config_class"), [(RAMPEnv, RAMPConfig), (MultiHopQAEnv, QAConfig),
                                                         (RAMPLiteEnv, RAMPLiteConfig)])
def test_the_env_signature_lists_every_option(env_class: type, config_class: type) -> None:
    params = inspect.signature(env_class).parameters
    assert list(params) == ["config", *(f.name for f in dataclasses.fields(config_class))]
    assert params["max_searches"].default == config_class().max_searches


def test_the_configs_are_importable_from_the_package() -> None:
    assert ramp_env.RAMPConfig is RAMPConfig and ramp_env.QAConfig is QAConfig
    assert ramp_env.RAMPLiteConfig is RAMPLiteConfig
    with pytest.raises(AttributeError, match="no attribute 'RAMPConfigs'"):
        ramp_env.RAMPConfigs  # noqa: B018


def test_a_bad_reward_fails_in_the_config_and_judges_without_call_pass() -> None:
    from ramp_env.envs.config import RAMPConfig
    from ramp_env.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="unknown reward 'nonsense'"):
        RAMPConfig(reward="nonsense")
    with pytest.raises(InvalidOptionError, match="got 5"):
        RAMPConfig(reward=5)

    class ScoreOnlyJudge:
        name = "mine"

        def score(self, predictions, golds):
            return [1.0 for _ in predictions]

    assert isinstance(RAMPConfig(reward=ScoreOnlyJudge()).reward, ScoreOnlyJudge)

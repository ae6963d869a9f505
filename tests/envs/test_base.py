"""The search-and-answer base: RAMP-v0 and MultiHopQA-v0 are siblings on it, their tasks are
``Task``s, and a new env needs only a config, a task source and a grader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from gymnasium.utils.env_checker import check_env

from ramp_env.actions import ParsedAction
from ramp_env.envs.base import SearchAnswerEnv, Task
from ramp_env.envs.config import (
    CorpusOptions,
    EvidenceOptions,
    LimitOptions,
    OutputOptions,
    RewardOptions,
    SearchOptions,
)
from ramp_env.envs.multihop_qa import MultiHopQAEnv
from ramp_env.envs.ramp import RAMPEnv

QA_FIXTURES = Path(__file__).parents[1] / "qa" / "fixtures"


def test_the_envs_are_siblings() -> None:
    assert issubclass(RAMPEnv, SearchAnswerEnv) and issubclass(MultiHopQAEnv, SearchAnswerEnv)
    assert not issubclass(MultiHopQAEnv, RAMPEnv) and not issubclass(RAMPEnv, MultiHopQAEnv)


def test_both_tasks_are_tasks(make_env, tmp_path: Path, cache_dir: Path) -> None:
    ramp = make_env(require_evidence="none")
    ramp.reset(seed=0)
    assert isinstance(ramp.task, Task)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a", "title": "Ed Wood", "text": "Ed Wood was an American filmmaker."}) + "\n")
    qa = MultiHopQAEnv(dataset=str(QA_FIXTURES / "hotpot_dev_distractor_sample.json"), corpus=str(corpus),
                       cache_dir=str(cache_dir), progress=False)
    qa.reset(seed=0)
    assert isinstance(qa.task, Task)
    ramp.close()
    qa.close()


@dataclass(frozen=True)
class Capital:
    """A hand-made task: the shortest thing that is a ``Task``."""

    passage_id: str = "q-paris"
    title: str = ""
    text: str = "Paris is the capital of France."
    masked_text: str = "[mask_1] is the capital of France."
    answers: tuple[str, ...] = ("Paris",)
    num_masks: int = 1


@dataclass(frozen=True, kw_only=True)
class CapitalConfig(OutputOptions, LimitOptions, RewardOptions, SearchOptions, CorpusOptions, EvidenceOptions):
    """The shared option groups and nothing else."""


class CapitalEnv(SearchAnswerEnv[Capital]):
    config_class: ClassVar[type[CapitalConfig]] = CapitalConfig
    max_passage_chars = 200

    def _next_task(self, options: dict[str, Any], seeded: bool) -> Capital:
        return Capital()

    def _grade(self, parsed: ParsedAction) -> tuple[float, dict[str, Any]]:
        right = (parsed.answers.get(1) or "").strip().lower() == "paris"
        return float(right), {"per_mask_scores": [float(right)]}


def test_a_new_env_needs_a_config_a_task_source_and_a_grader(cache_dir: Path, wiki_sample: Path) -> None:
    env = CapitalEnv(corpus=str(wiki_sample), cache_dir=str(cache_dir), progress=False, require_evidence="none")
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs["passage"] == "[mask_1] is the capital of France." and info["task_id"] == "q-paris"
    obs, reward, terminated, _, info = env.step("<search>capital of France</search>")
    assert (reward, terminated, obs["searches_left"]) == (0.0, False, 3) and len(info["retrieved_ids"]) == 3
    _, reward, terminated, _, info = env.step("<answer>Paris</answer>")
    assert (reward, terminated, info["answers"]) == (1.0, True, ["Paris"])
    env.close()
    with pytest.raises(RuntimeError, match="closed CapitalEnv"):
        env.reset()

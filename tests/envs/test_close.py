"""``close()`` frees what an env opened: the process is back at its open file descriptors
(SQLite stores, span tables, evidence caches) and the tantivy reader's link directory is gone.

Each test uses a private cache directory, so its corpus is shared with no other test's env
(a corpus shared by several envs stays open until the last of them closes).
"""

from __future__ import annotations

import gc
import glob
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import pytest

import ramp_env  # noqa: F401  (registers the ids)
from ramp_env.wrappers.candidate_actions import CandidateActionWrapper
from ramp_env.wrappers.curriculum import CurriculumWrapper, StagedCurriculum

QA_FIXTURES = Path(__file__).parents[1] / "qa" / "fixtures"


def open_fds() -> set[tuple[str, str]]:
    """This process's open descriptors with what each points to (a number reused for another
    file counts as a new descriptor)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:  # closed between the listing and the read (the listing's own descriptor)
            pass
    return found


def tantivy_links() -> set[str]:
    """This process's tantivy link directories (other processes on the machine make their own)."""
    return set(glob.glob(os.path.join(tempfile.gettempdir(), f"ramp-env-tantivy-*-{os.getpid()}-*")))


def assert_close_frees(make: Callable[[], gym.Env], act: Callable[[gym.Env], None]) -> None:
    """Make an env once to prepare its corpus, then count: make, play, close -> the count from before."""
    warm = make()
    warm.close()
    gc.collect()  # objects of earlier tests close their files now, not while this test counts
    fds, links = open_fds(), tantivy_links()
    env = make()
    act(env)
    assert open_fds() - fds, "the env holds no file open: the test would prove nothing"
    if env.unwrapped.config.retriever == "tantivy":
        assert tantivy_links() - links, "no link directory found: the test would prove nothing"
    env.close()
    # nothing the env opened is still open (a descriptor another test's leftovers closed meanwhile
    # may be gone: that is not this env's doing)
    assert open_fds() - fds == set()
    assert tantivy_links() == links
    env.close()  # a second close is a no-op
    assert open_fds() - fds == set()


def ramp_kwargs(tmp_path: Path, wiki_sample: Path) -> dict[str, object]:
    return {"corpus": str(wiki_sample), "cache_dir": str(tmp_path / "cache"), "span_extractor": "rules",
            "progress": False}


def search_and_answer(env: gym.Env) -> None:
    env.reset(seed=0)
    env.step("<search>river city</search>")
    env.step("<answer>Paris</answer>")


@pytest.mark.parametrize("retriever", ["tantivy", "rank_bm25"])
def test_ramp_close_returns_every_file_descriptor(tmp_path: Path, wiki_sample: Path, retriever: str) -> None:
    kwargs = ramp_kwargs(tmp_path, wiki_sample)
    assert_close_frees(lambda: gym.make("RAMP-v0", retriever=retriever, **kwargs), search_and_answer)


def test_ramp_task_pool_close_returns_every_file_descriptor(tmp_path: Path, wiki_sample: Path) -> None:
    kwargs = ramp_kwargs(tmp_path, wiki_sample)
    assert_close_frees(lambda: gym.make("RAMP-v0", task_pool=50, num_masks=1, **kwargs), search_and_answer)


def test_wrapped_envs_close_returns_every_file_descriptor(tmp_path: Path, wiki_sample: Path) -> None:
    kwargs = ramp_kwargs(tmp_path, wiki_sample)

    def make() -> gym.Env:
        env = CurriculumWrapper(gym.make("RAMP-v0", **kwargs), StagedCurriculum(stages=(1, 2), episodes_per_stage=1))
        return CandidateActionWrapper(env)

    def act(env: gym.Env) -> None:
        env.reset(seed=0)
        env.step(0)  # a search action

    assert_close_frees(make, act)


def test_multihop_qa_close_returns_every_file_descriptor(tmp_path: Path) -> None:
    corpus = tmp_path / "qa_corpus.jsonl"
    passages = [("sd", "Scott Derrickson", "Scott Derrickson is an American director."),
                ("ew", "Ed Wood", "Edward Davis Wood Jr. was an American filmmaker.")]
    corpus.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in passages))
    kwargs = {"dataset": str(QA_FIXTURES / "hotpot_dev_distractor_sample.json"), "corpus": str(corpus),
              "cache_dir": str(tmp_path / "cache"), "span_extractor": "rules", "progress": False}

    def act(env: gym.Env) -> None:
        search_and_answer(env)
        assert env.unwrapped.spans.get(1)  # the on-demand span table is freed too

    assert_close_frees(lambda: gym.make("MultiHopQA-v0", **kwargs), act)


def test_reset_and_step_after_close_are_clear_errors(tmp_path: Path, wiki_sample: Path) -> None:
    env = gym.make("RAMP-v0", **ramp_kwargs(tmp_path, wiki_sample))
    env.reset(seed=0)
    env.close()
    with pytest.raises(RuntimeError, match=r"step\(\) on a closed RAMPEnv"):
        env.step("<search>x</search>")
    with pytest.raises(RuntimeError, match=r"reset\(\) on a closed RAMPEnv"):
        env.reset(seed=0)
    wrapped = CandidateActionWrapper(gym.make("RAMP-v0", **ramp_kwargs(tmp_path, wiki_sample)))
    wrapped.reset(seed=0)
    wrapped.close()
    with pytest.raises(RuntimeError, match="closed"):
        wrapped.step(10**6)  # even an invalid action, which never reaches the env


def test_envs_sharing_a_corpus_close_independently(tmp_path: Path, wiki_sample: Path) -> None:
    kwargs = ramp_kwargs(tmp_path, wiki_sample)
    gym.make("RAMP-v0", **kwargs).close()  # prepared
    gc.collect()
    fds = open_fds()
    first, second = gym.make("RAMP-v0", **kwargs), gym.make("RAMP-v0", **kwargs)
    assert first.unwrapped.corpus is second.unwrapped.corpus  # one store and one index per process
    first.close()
    search_and_answer(second)  # the other env still searches the shared corpus
    second.close()
    assert open_fds() - fds == set()
    third = gym.make("RAMP-v0", **kwargs)  # and the corpus opens again afterwards
    search_and_answer(third)
    third.close()


def test_a_failed_construction_frees_what_it_opened(tmp_path: Path, wiki_sample: Path) -> None:
    kwargs = ramp_kwargs(tmp_path, wiki_sample)
    gym.make("RAMP-v0", **kwargs).close()  # prepared
    gc.collect()
    fds = open_fds()
    with pytest.raises(ValueError, match="unknown retriever backend"):
        gym.make("RAMP-v0", retriever="faiss", **kwargs)  # fails after the corpus is open
    assert open_fds() - fds == set()
    qa = {"dataset": str(QA_FIXTURES / "hotpot_dev_distractor_sample.json"), "corpus": str(wiki_sample),
          "cache_dir": str(tmp_path / "cache"), "span_extractor": "rules", "progress": False}
    with pytest.raises(ValueError, match="no question"):
        gym.make("MultiHopQA-v0", require_evidence="all", **qa)  # no supporting title in the wiki sample
    assert open_fds() - fds == set()

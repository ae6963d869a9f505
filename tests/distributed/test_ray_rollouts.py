"""RAMP rollouts on a local Ray cluster: same trajectories as in-process, spread over the workers,
which open the corpus the driver prepared instead of rebuilding it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.random_agent import RandomAgent
from ramp_env.corpus.prepared import LAZY_CACHE_PREFIXES
from ramp_env.distributed import RayRolloutPool, RolloutWorker, prepare_env
from ramp_env.trajectories import Trajectory

ray = pytest.importorskip("ray")


def make_agent() -> RandomAgent:
    return RandomAgent(span_extractor="rules")  # reseeded by every episode's seed: deterministic


@pytest.fixture(scope="module")
def env_kwargs(tmp_path_factory: pytest.TempPathFactory, wiki_sample: Path) -> dict[str, object]:
    # a cache of this module's own, so the no-rebuild check sees only what prepare_env built
    cache = tmp_path_factory.mktemp("ray-cache")
    return {"corpus": str(wiki_sample), "cache_dir": str(cache), "span_extractor": "rules", "progress": False,
            "num_masks": 2}


@pytest.fixture(scope="module")
def ray_cluster():
    # a private single-node cluster on loopback; the dashboard would add a web server and a minute
    ray.init(num_cpus=2, include_dashboard=False, address="local", _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def pool(ray_cluster, env_kwargs):
    corpus_dir = Path(prepare_env(**env_kwargs)["corpus_dir"])
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in corpus_dir.iterdir()
            if not p.name.startswith(LAZY_CACHE_PREFIXES)}  # envs fill those on purpose
    with RayRolloutPool(2, env_kwargs, agent_factory=make_agent, agent_name="random") as pool:
        pool.artefacts_before = before  # type: ignore[attr-defined]
        pool.corpus_dir = corpus_dir  # type: ignore[attr-defined]
        yield pool


def without_worker(trajectory: Trajectory) -> dict[str, object]:
    record = trajectory.to_json()
    record["metadata"].pop("worker")
    return record


@pytest.mark.slow
def test_rollouts_match_in_process_and_use_every_worker(pool, env_kwargs) -> None:
    seeds = list(range(10, 18))
    distributed = pool.rollouts(seeds)
    local = RolloutWorker(env_kwargs, agent_factory=make_agent, agent_name="random").rollouts(seeds)
    assert [t.seed for t in distributed] == seeds  # in the order asked, whoever finished first
    assert [without_worker(t) for t in distributed] == [without_worker(t) for t in local]
    assert len({t.metadata["worker"] for t in distributed}) == 2
    assert all(t.agent == "random" and t.num_steps >= 1 for t in distributed)


@pytest.mark.slow
def test_unordered_rollouts_cover_every_seed(pool) -> None:
    seeds = [3, 1, 2, 5]
    got = list(pool.rollouts_unordered(seeds, num_masks=1))
    assert sorted(t.seed for t in got) == sorted(seeds) and all(t.num_masks == 1 for t in got)
    # a one-off mask count does not leak into later episodes on the same workers
    assert all(t.num_masks == 2 for t in pool.rollouts([3, 1]))


@pytest.mark.slow
def test_workers_open_the_prepared_corpus_and_never_rebuild(pool) -> None:
    described = pool.describe()
    assert len({d["pid"] for d in described}) == 2
    assert {d["corpus_dir"] for d in described} == {str(pool.corpus_dir)}
    assert len({d["index_dir"] for d in described}) == 1 and described[0]["index_dir"]
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in pool.corpus_dir.iterdir()
             if not p.name.startswith(LAZY_CACHE_PREFIXES)}
    assert after == pool.artefacts_before  # no file replaced, none added (no temp dirs either)


@pytest.mark.slow
def test_step_level_api_matches_local_envs(pool, env_kwargs) -> None:
    import gymnasium as gym

    resets = pool.reset([4, 5], options={"num_masks": 2})
    stepped = pool.step(["<search>river city</search>", "not an action"])
    for seed, (obs, info), (obs2, reward, terminated, truncated, info2), action in zip(
        (4, 5), resets, stepped, ["<search>river city</search>", "not an action"]
    ):
        env = gym.make("RAMP-v0", **env_kwargs)
        local_obs, local_info = env.reset(seed=seed)
        assert obs == local_obs and info["task_id"] == local_info["task_id"]
        local = env.step(action)
        assert (obs2, reward, terminated, truncated) == local[:4]
        assert info2["retrieved_ids"] == local[4]["retrieved_ids"]
    assert stepped[1][1] == pytest.approx(-0.1) and stepped[1][4]["format_errors"] == ["no_tag"]
    with pytest.raises(ValueError, match="2 workers"):
        pool.step(["<search>x</search>"])


def test_worker_without_agent_cannot_roll_out(env_kwargs) -> None:
    worker = RolloutWorker(env_kwargs)
    with pytest.raises(RuntimeError, match="no agent"):
        worker.rollout(0)
    obs, _ = worker.reset(seed=0)
    assert obs["num_masks"] == 2


def test_agent_factory_gets_the_env_when_it_asks(env_kwargs) -> None:
    seen = {}

    def factory(env):
        seen["env"] = env
        return make_agent()

    worker = RolloutWorker(env_kwargs, agent_factory=factory, record_answers=True)
    trajectory = worker.rollout(1)
    assert seen["env"] is worker.env
    assert trajectory.answers == list(worker.env.unwrapped.task.answers)


def test_agent_by_name_or_module_path(env_kwargs) -> None:
    # strings travel to remote workers without pickling any code
    by_path = RolloutWorker(env_kwargs, agent_factory="agents.random_agent:RandomAgent").rollout(3)
    by_hand = RolloutWorker(env_kwargs, agent_factory=RandomAgent).rollout(3)
    assert by_path.agent == "RandomAgent" and without_worker(by_path) == without_worker(by_hand)
    with pytest.raises(ValueError, match="unknown agent"):
        RolloutWorker(env_kwargs, agent_factory="no-such-agent")


def test_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="num_workers"):
        RayRolloutPool(0)

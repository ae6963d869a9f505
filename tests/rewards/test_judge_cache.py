"""CachedJudge: shortcuts, the in-memory LRU, the SQLite cache, validation, pickling, make_reward."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import pytest

from ramp_env.rewards import JudgeReward, make_reward
from ramp_env.rewards.judges import CachedJudge, Judge


class CountingJudge(CachedJudge):
    """Scores by the share of shared characters and counts the pairs it is asked about."""

    name = "counting"

    def __init__(self, value: float | None = None, version: str = "v1", **kwargs) -> None:
        super().__init__(**kwargs)
        self.asked: list[tuple[str, str]] = []
        self.value = value
        self.version = version

    @property
    def fingerprint(self) -> str:
        return f"counting-{self.version}"

    def _score_pairs(self, pairs):
        self.asked.extend(pairs)
        if self.value is not None:
            return [self.value] * len(pairs)
        return [len(set(p) & set(g)) / max(1, len(set(p) | set(g))) for p, g in pairs]


def test_shortcuts_skip_the_model() -> None:
    judge = CountingJudge()
    assert judge.score(["The Beatles!", "", "   "], ["beatles", "x", "x"]) == [1.0, 0.0, 0.0]
    assert judge.asked == []


def test_each_pair_is_scored_once() -> None:
    judge = CountingJudge()
    first = judge.score(["Parus", "Lodnon", "Parus"], ["Paris", "London", "Paris"])
    assert judge.asked == [("Parus", "Paris"), ("Lodnon", "London")]  # the duplicate in one call too
    again = judge.score(["Lodnon", "Parus"], ["London", "Paris"])
    assert again == [first[1], first[0]]
    assert len(judge.asked) == 2 and judge.hits == 2 and judge.misses == 2


def test_lru_drops_least_recently_used() -> None:
    judge = CountingJudge(cache_size=2)
    judge.score(["a1", "b1", "c1"], ["x", "y", "z"])
    judge.score(["a1"], ["x"])  # evicted by c1: asked again
    assert judge.asked.count(("a1", "x")) == 2


def test_sqlite_cache_persists_across_judges(tmp_path: Path) -> None:
    path = tmp_path / "judge.sqlite"
    first = CountingJudge(cache_path=path)
    scores = first.score(["Parus", "Lodnon"], ["Paris", "London"])
    second = CountingJudge(cache_path=path)
    assert second.score(["Parus", "Lodnon"], ["Paris", "London"]) == scores
    assert second.asked == []
    # another fingerprint (model, prompt or constants changed) never reuses those scores
    other = CountingJudge(cache_path=path, version="v2")
    other.score(["Parus"], ["Paris"])
    assert other.asked == [("Parus", "Paris")]


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_out_of_range_scores_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        CountingJudge(value=bad).score(["Parus"], ["Paris"])


def test_bad_inputs_get_clear_errors() -> None:
    judge = CountingJudge()
    with pytest.raises(ValueError, match="2 predictions for 1 golds"):
        judge.score(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="must be str"):
        judge.score([None], ["a"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="cache_size"):
        CountingJudge(cache_size=-1)


def test_judge_is_picklable_with_its_sqlite_cache(tmp_path: Path) -> None:
    judge = CountingJudge(cache_path=tmp_path / "judge.sqlite")
    score = judge.score(["Parus"], ["Paris"])
    clone = pickle.loads(pickle.dumps(judge))
    assert clone.score(["Parus"], ["Paris"]) == score


def test_make_reward_wraps_a_judge_with_the_penalty() -> None:
    judge = CountingJudge(value=0.9)
    assert isinstance(judge, Judge)
    reward = make_reward(judge)
    assert isinstance(reward, JudgeReward)
    result = reward(["Parus", "Parus, Lima, Oslo, Rome, or Kyiv", None], ["Paris", "Paris", "Paris"])
    assert result.per_mask[0] == pytest.approx(0.9)
    assert result.per_mask[1] == 0.0  # the enumeration penalty (4/5 + length) removes the judge's 0.9
    assert result.per_mask[2] == 0.0
    assert result.components["penalty"] == pytest.approx(-0.9 / 3)
    unpenalized = JudgeReward(judge, penalty=None)(["Parus, Lima, Oslo, Rome, or Kyiv"], ["Paris"])
    assert unpenalized.reward == pytest.approx(0.9) and "penalty" not in unpenalized.components


def test_make_reward_errors() -> None:
    with pytest.raises(ValueError, match="unknown reward 'nope'"):
        make_reward("nope")
    with pytest.raises(TypeError, match="reward must be"):
        make_reward(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [7.5, -1.0, float("inf"), "high", b"\x00"])
def test_a_bad_cached_score_is_recomputed_never_a_reward(tmp_path: Path, bad: object) -> None:
    # issue 22: every cached row is checked on read; a poisoned score must not become a reward
    import sqlite3

    path = tmp_path / "judge.sqlite"
    CountingJudge(cache_path=path).score(["Parus"], ["Paris"])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE judge_scores SET score = ?", (bad,))
    conn.commit()
    conn.close()
    judge = CountingJudge(cache_path=path)
    (score,) = judge.score(["Parus"], ["Paris"])
    assert 0.0 <= score <= 1.0 and judge.asked == [("Parus", "Paris")]


def test_a_score_file_others_can_write_is_refused(tmp_path: Path) -> None:
    from ramp_env.cache import UntrustedCacheError

    path = tmp_path / "judge.sqlite"
    CountingJudge(cache_path=path).score(["Parus"], ["Paris"])
    path.chmod(0o666)
    with pytest.raises(UntrustedCacheError):
        CountingJudge(cache_path=path).score(["Lodnon"], ["London"])


def test_the_score_file_is_shared_like_the_other_caches(tmp_path: Path) -> None:
    # vector-env workers open it together: WAL, as ramp_env.cache.connect_shared_sqlite opens every shared cache
    path = tmp_path / "judge.sqlite"
    CountingJudge(cache_path=path).score(["Parus"], ["Paris"])
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()

"""ramp_env.trajectories: the Trajectory record, JSONL files, recording episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.trajectories import (
    RecordTrajectories,
    Trajectory,
    filter_trajectories,
    message_trains,
    read_trajectories,
    write_trajectories,
)


def make_trajectory(task_id: str = "p1", scores: tuple[float, ...] = (1.0, 0.5), terminated: bool = True) -> Trajectory:
    return Trajectory(
        task_id=task_id,
        messages=[
            {"role": "system", "content": "instructions"},
            {"role": "user", "content": "passage with [mask_1] and [mask_2]"},
            {"role": "assistant", "content": "<search>q</search>"},
            {"role": "tool", "content": "results"},
            {"role": "assistant", "content": "<answer>a; b</answer>", "train": False},
        ],
        actions=["<search>q</search>", "<answer>a; b</answer>"],
        tool_results=["results", "Answer graded."],
        rewards=[0.0, sum(scores) / len(scores)],
        per_mask_scores=list(scores),
        num_masks=len(scores),
        seed=4,
        agent="scripted",
        terminated=terminated,
        answers=["x", "y"],
        metadata={"model": "none"},
    )


def test_json_round_trip_and_file_round_trip(tmp_path: Path) -> None:
    trajectories = [make_trajectory("p1"), make_trajectory("p2", (0.0,), terminated=False)]
    assert Trajectory.from_json(json.loads(json.dumps(trajectories[0].to_json()))) == trajectories[0]
    path = tmp_path / "out" / "traj.jsonl"
    assert write_trajectories(path, trajectories) == 2
    assert read_trajectories(path) == trajectories
    assert trajectories[0].score == 0.75 and trajectories[0].total_reward == 0.75 and trajectories[0].num_steps == 2


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "traj.jsonl"
    write_trajectories(path, [make_trajectory("old")])

    def broken():
        yield make_trajectory("new")
        raise RuntimeError("crash while collecting")

    with pytest.raises(RuntimeError, match="crash"):
        write_trajectories(path, broken())
    assert [t.task_id for t in read_trajectories(path)] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["traj.jsonl"]  # no temp file left behind
    with pytest.raises(TypeError, match="Trajectory"):
        write_trajectories(path, [{"task_id": "x"}])  # type: ignore[list-item]


def test_bad_records_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps(make_trajectory().to_json())
    path.write_text(good + "\n\n{not json\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:3"):
        read_trajectories(path)
    record = make_trajectory().to_json()
    for change, message in [
        ({"extra": 1}, "unknown trajectory field"),
        ({"format": 99}, "unsupported trajectory format"),
        ({"per_mask_scores": [1.0]}, "1 per-mask scores for 2 masks"),
        ({"rewards": [0.0]}, "one item per step"),
        ({"per_mask_scores": [1.5, 0.0]}, r"\[0, 1\]"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "role 'robot'"),
    ]:
        with pytest.raises(ValueError, match=message):
            Trajectory.from_json({**record, **change})
    missing = {k: v for k, v in record.items() if k != "actions"}
    with pytest.raises(ValueError, match="missing field"):
        Trajectory.from_json(missing)


def test_training_rule_and_rejection_sampling() -> None:
    t = make_trajectory()
    assert [message_trains(m) for m in t.messages] == [False, False, True, False, False]
    pool = [make_trajectory("a", (1.0, 1.0)), make_trajectory("b", (0.0, 0.5)), make_trajectory("c", (1.0,), False)]
    assert [x.task_id for x in filter_trajectories(pool, min_score=0.5)] == ["a"]
    assert [x.task_id for x in filter_trajectories(pool, 0.5, require_terminated=False)] == ["a", "c"]


def test_recording_wrapper_turns_an_episode_into_a_chat(make_env) -> None:
    env = RecordTrajectories(make_env(num_masks=2, max_searches=1), agent="scripted")
    obs, info = env.reset(seed=2)
    gold = list(env.unwrapped.task.answers)
    env.step("<search>anything</search>")
    env.step("no tag at all")
    _, reward, terminated, _, _ = env.step(f"<answer>\n[mask_1]: {gold[0]}\n[mask_2]: wrong guess\n</answer>")
    assert terminated
    [trajectory] = env.pop_trajectories()
    assert env.pop_trajectories() == []
    roles = [m["role"] for m in trajectory.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert obs["passage"] in trajectory.messages[1]["content"]
    assert "Invalid action" in trajectory.messages[5]["content"]
    assert trajectory.per_mask_scores[0] == 1.0 and trajectory.answers == gold and trajectory.seed == 2
    assert trajectory.rewards[1] < 0 and trajectory.rewards[2] == reward and trajectory.terminated
    assert trajectory.task_id == info["task_id"] and trajectory.num_masks == 2

"""agents.training.trl_rollout: RAMP episodes through a real TRL GRPOTrainer step (tiny model, CPU)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from agents.llm.agent import TokenSegment
from agents.llm.generation import Generation
from agents.llm.rollout import Episode
from agents.training.trl_rollout import (
    RAMPRollout,
    episode_completion,
    episode_reward,
    mask_score,
    parse_task_prompt,
    ramp_task_dataset,
    task_prompt,
)
from ramp_env.trajectories import Trajectory


def test_task_prompts_round_trip_and_bad_prompts_name_the_problem() -> None:
    spec = parse_task_prompt(task_prompt(17, 3))
    assert spec.seed == 17 and dict(spec.options) == {"num_masks": 3}
    chat = [{"role": "user", "content": task_prompt(5, 1)}]
    assert parse_task_prompt(chat).seed == 5
    with pytest.raises(ValueError, match="not a RAMP task"):
        parse_task_prompt("What is the capital of France?")
    with pytest.raises(ValueError, match="no 'ramp_task'"):
        parse_task_prompt('{"seed": 1}')
    with pytest.raises(ValueError, match="num_masks must be"):
        parse_task_prompt('{"ramp_task": {"seed": 1, "num_masks": 0}}')
    with pytest.raises(ValueError, match="seed must be"):
        parse_task_prompt('{"ramp_task": {"seed": "1", "num_masks": 1}}')


def test_task_dataset_is_seeded_and_cycles_mask_counts() -> None:
    a = ramp_task_dataset(6, num_masks=[1, 2, 3], seed=4)
    b = ramp_task_dataset(6, num_masks=[1, 2, 3], seed=4)
    assert a["prompt"] == b["prompt"] and a["num_masks"] == [1, 2, 3, 1, 2, 3]
    assert [parse_task_prompt(p).seed for p in a["prompt"]] == a["seed"]
    assert ramp_task_dataset(6, seed=5)["seed"] != a["seed"]


def _episode(segments: list[TokenSegment], finish: str) -> Episode:
    trajectory = Trajectory("p", [{"role": "user", "content": "u"}], [], [], [], [0.0], 1)
    return Episode(trajectory, segments, [Generation([9], "x", finish)])


def test_completion_closes_finished_turns_and_leaves_cut_ones_open() -> None:
    segment = TokenSegment()
    segment.extend([1, 2, 3], generated=False)  # prompt + header
    segment.extend([4, 5], generated=True)  # turn 1
    segment.extend([6, 7], generated=False)  # env reply
    segment.extend([8, 9], generated=True)  # turn 2
    stopped = episode_completion(_episode([segment], "stop"), end_of_turn_id=99)
    assert stopped.prompt_ids == [1, 2, 3]
    assert stopped.completion_ids == [4, 5, 6, 7, 8, 9, 99] and stopped.env_mask == [1, 1, 0, 0, 1, 1, 0]
    cut = episode_completion(_episode([segment], "length"), end_of_turn_id=99)
    assert cut.completion_ids[-1] == 9 and not cut.closed
    second = TokenSegment()
    second.extend([1, 2], generated=False)
    second.extend([3], generated=True)
    rebuilt = episode_completion(_episode([segment, second], "stop"), end_of_turn_id=99)
    assert rebuilt.rebuilt and rebuilt.env_mask == [0] * 6


def test_reward_functions_read_the_rollout_columns() -> None:
    assert episode_reward([None, None], ramp_reward=[0.5, -0.1]) == [0.5, -0.1]
    assert mask_score([None], per_mask_scores=[[1.0, 0.0]]) == [0.5]


def mean_token_id(completion_ids: list[list[int]], **kwargs: Any) -> list[float]:
    # an untrained model never closes a turn, so every env reward is the same; this
    # reward varies between samples so the group advantages, hence the gradient, are not 0
    return [sum(ids) / len(ids) / 50_000 for ids in completion_ids]


@pytest.mark.slow
def test_one_grpo_trainer_step_trains_on_exactly_the_model_tokens(
    tiny_model: Callable[..., Any], smollm2_tokenizer: Any, small_env: Callable[..., Any], tmp_path: Any
) -> None:
    from trl import GRPOConfig, GRPOTrainer

    model = tiny_model(0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    rollout = RAMPRollout(env_factory=lambda: small_env(max_searches=1), max_new_tokens=6, max_context_tokens=2048)
    calls: list[tuple[list[Any], dict[str, Any]]] = []

    def recording_rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        out = rollout(prompts, trainer)
        calls.append((list(prompts), out))
        return out

    args = GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        max_steps=1,
        per_device_train_batch_size=4,
        num_generations=2,
        learning_rate=1e-2,
        loss_type="dapo",
        epsilon_high=0.28,
        mask_truncated_completions=False,  # see mean_token_id: an untrained model's turns all run out
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        seed=0,
        bf16=False,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[episode_reward, mean_token_id],
        args=args,
        train_dataset=ramp_task_dataset(8, num_masks=[1, 2], seed=3),
        processing_class=smollm2_tokenizer,
        rollout_func=recording_rollout,
    )
    trainer.train()

    assert len(calls) == 1
    prompts, out = calls[0]
    episodes = rollout.last_episodes
    assert len(prompts) == len(episodes) == 4
    # the trainer repeats each prompt num_generations times in a row: a group plays one task
    assert prompts[0] == prompts[1] and prompts[2] == prompts[3] and prompts[0] != prompts[2]
    assert episodes[0].trajectory.task_id == episodes[1].trajectory.task_id
    for i, episode in enumerate(episodes):
        completion, mask = out["completion_ids"][i], out["env_mask"][i]
        assert len(completion) == len(mask) == len(out["logprobs"][i])
        generated = [t for g in episode.generations for t in g.token_ids]
        # env_mask is 1 on exactly the sampled tokens, in order, and 0 on everything the env wrote
        assert [t for t, m in zip(completion, mask) if m] == generated
        env_text = smollm2_tokenizer.decode([t for t, m in zip(completion, mask) if not m])
        assert episode.trajectory.tool_results[0].splitlines()[0] in env_text
        assert out["ramp_reward"][i] == pytest.approx(episode.trajectory.total_reward)
        assert all(lp <= 0.0 for lp in out["logprobs"][i]) and any(lp < 0 for lp in out["logprobs"][i])
        assert all(lp == 0.0 for lp, m in zip(out["logprobs"][i], mask) if not m)
        full = smollm2_tokenizer.decode(out["prompt_ids"][i])
        assert episode.trajectory.messages[1]["content"][:40] in full  # the masked passage is the prompt
    moved = [name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])]
    assert moved, "no parameter changed after one GRPOTrainer step"
    assert trainer.state.global_step == 1


class ScriptedEngine:
    """Stands in for ``trainer.vllm_generation`` (no vLLM without a GPU): replies with a fixed
    text plus trailing junk the rollout must cut, and a log-prob of -0.5 per token."""

    def __init__(self, tokenizer: Any, reply: str) -> None:
        self.ids = tokenizer(reply + " trailing junk", add_special_tokens=False)["input_ids"]
        self.max_completion_length = 999
        self.generation_kwargs = {"seed": 1}
        self.calls: list[tuple[int, dict[str, Any], int]] = []

    def generate(self, prompts: list[list[int]], images: Any, num_generations: int) -> tuple:
        self.calls.append((self.max_completion_length, dict(self.generation_kwargs), num_generations))
        ids = [list(self.ids) for _ in prompts]
        return prompts, ids, [[[-0.5]] * len(row) for row in ids], None


def fake_trainer(model: Any, tokenizer: Any, engine: Any, mode: str = "colocate", processes: int = 1) -> Any:
    from types import SimpleNamespace

    args = SimpleNamespace(seed=0, per_device_train_batch_size=2, vllm_mode=mode, vllm_tensor_parallel_size=1)
    accelerator = SimpleNamespace(unwrap_model=lambda m: m, num_processes=processes)
    return SimpleNamespace(model=model, processing_class=tokenizer, accelerator=accelerator, args=args,
                           use_vllm=True, vllm_generation=engine, temperature=1.0, top_p=1.0)


def test_vllm_turns_are_cut_at_the_tag_and_keep_the_sampler_logprobs(
    tiny_model: Callable[..., Any], smollm2_tokenizer: Any, small_env: Callable[..., Any]
) -> None:
    engine = ScriptedEngine(smollm2_tokenizer, "<search>Paris</search>")
    rollout = RAMPRollout(env_factory=lambda: small_env(max_searches=1), max_new_tokens=12)
    trainer = fake_trainer(tiny_model(0), smollm2_tokenizer, engine)
    out = rollout([task_prompt(11, 1)] * 2, trainer)
    # per turn: max_new_tokens and the stop tags go to the engine, which is restored after
    assert engine.calls[0][0] == 12 and engine.calls[0][1]["stop"] == ["</search>", "</answer>"]
    assert engine.calls[0][1]["seed"] == 1 and engine.calls[0][2] == 1
    assert engine.max_completion_length == 999 and engine.generation_kwargs == {"seed": 1}
    episode = rollout.last_episodes[0]
    assert episode.generations[0].text == "<search>Paris</search>"  # the junk after the tag is cut
    for completion, mask, logprobs in zip(out["completion_ids"], out["env_mask"], out["logprobs"]):
        assert [lp for lp, m in zip(logprobs, mask) if m] == [-0.5] * sum(mask)
        assert all(lp == 0.0 for lp, m in zip(logprobs, mask) if not m)
        assert completion[-1] == smollm2_tokenizer.eos_token_id and mask[-1] == 0  # closed turn


def test_vllm_server_mode_with_several_processes_is_refused(
    tiny_model: Callable[..., Any], smollm2_tokenizer: Any, small_env: Callable[..., Any]
) -> None:
    engine = ScriptedEngine(smollm2_tokenizer, "<answer>x</answer>")
    rollout = RAMPRollout(env_factory=lambda: small_env())
    with pytest.raises(NotImplementedError, match="one training process"):
        rollout([task_prompt(1, 1)], fake_trainer(tiny_model(0), smollm2_tokenizer, engine, "server", 2))
    with pytest.raises(ValueError, match="not a RAMP task"):
        RAMPRollout(env_factory=lambda: small_env())(["hello"], fake_trainer(tiny_model(0), smollm2_tokenizer, engine))

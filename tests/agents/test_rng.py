"""agents.rng: sampling and SFT seed their own draws and leave the caller's global generators as they were."""

from __future__ import annotations

import random

import numpy as np
import torch

from agents.llm import LLMAgent
from agents.llm.rollout import EpisodeSpec, play_episodes
from agents.rng import restored_global_rngs, seeded_torch
from agents.training.sft import SFTTrainConfig, train_sft
from tests.agents.llm.conftest import _one_torch_thread, small_env  # noqa: F401  (fixtures)
from tests.agents.training.test_sft import BATCH


def global_states() -> tuple:
    return random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state()


def assert_unchanged(before: tuple) -> None:
    after = global_states()
    assert after[0] == before[0] and after[1] == before[1] and torch.equal(after[2], before[2])


def test_a_block_that_reseeds_everything_leaves_the_callers_generators_as_they_were() -> None:
    before = global_states()
    with restored_global_rngs():
        random.seed(1)
        np.random.seed(1)
        torch.manual_seed(1)
    assert_unchanged(before)
    with seeded_torch(5):
        first = torch.rand(3)
    with seeded_torch(5):
        assert torch.equal(torch.rand(3), first)
    assert_unchanged(before)


def test_seeded_sampling_repeats_without_changing_the_callers_torch_generator(
    tiny_model, smollm2_tokenizer, small_env
) -> None:
    model = tiny_model()
    actions = []
    for _ in range(2):
        agent = LLMAgent(model=model, tokenizer=smollm2_tokenizer, max_new_tokens=6, temperature=1.0, seed=3)
        env = small_env()
        torch.manual_seed(123)  # the caller's own stream
        before = global_states()
        [episode] = play_episodes(agent, [env], [EpisodeSpec(seed=1)])
        assert_unchanged(before)
        actions.append(episode.trajectory.actions)
    assert actions[0] == actions[1]


def test_sft_restores_the_generators_trl_reseeds(tiny_model, smollm2_tokenizer) -> None:
    model = tiny_model()
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    before = global_states()
    train_sft(model, smollm2_tokenizer, BATCH, SFTTrainConfig(max_steps=1, batch_size=2, seed=0))
    assert_unchanged(before)

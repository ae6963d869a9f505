"""Writes examples/tutorial.ipynb (outputs stripped) from the cells below.

    python examples/make_tutorial.py

Edit the cells here, not in the notebook, so the notebook's diff stays readable;
``tests/examples/test_tutorial.py`` checks the two agree and runs the notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).with_name("tutorial.ipynb")

CELLS: list[tuple[str, str]] = [
    ("md", """# RAMP for reinforcement learning: a hands-on tutorial

**Retrieval-Augmented Mask Prediction** (RAMP, from the MaskSearch paper): a
Wikipedia sentence with a salient span hidden as `[mask_1]`, a BM25 search tool,
and a reward for filling the mask. In this notebook you

1. play an episode by hand and read the observation and the reward breakdown;
2. write an agent in a few lines;
3. evaluate it against the baselines, with plots;
4. train MaskablePPO through `CandidateActionWrapper` and watch the curve;
5. try reward variants, and watch an RL agent discover *enumeration hacking* and get penalised for it;
6. (optional) run a small language model, SmolLM2-135M, as the agent.

Everything runs on a CPU, offline. It uses `RAMP-Lite-v0`: ~2,300 one-sentence
passages chosen so that most masked facts are stated by another passage,
small enough that a policy learns in a minute. `Run All` takes about 2 minutes
(126 s measured on a busy 2-core machine, `docs/teaching.md`). `docs/teaching.md` is the instructor's guide; `exercises/`
holds graded exercises."""),
    ("code", """import os
import sys
import time

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np

import ramp_env  # registers RAMP-v0 and RAMP-Lite-v0
from ramp_env.evaluation import make_agent, mean_ci95, run_episodes

# Set to True to try the SmolLM2 agent in section 6 (about a minute per episode on a laptop CPU).
RUN_SMOLLM2 = os.environ.get("RAMP_TUTORIAL_SMOLLM2", "0") == "1"
PPO_STEPS = 4_000  # section 4: the curve flattens after ~2,000 steps on RAMP-Lite-v0
EVAL_TASKS = 100  # held-out tasks per evaluation
started = time.perf_counter()
print("python:", sys.executable)"""),
    ("md", """## 1. Play an episode by hand

`reset` draws a passage and masks one salient span. The observation is a dict of
texts and counters; `render()` shows it. The passage the task was made from never
comes back from a search: the fact has to be found in *another* passage."""),
    ("code", """env = gym.make("RAMP-Lite-v0", render_mode="ansi")
obs, info = env.reset(seed=3)
print(env.render())
print({key: value for key, value in obs.items() if key not in ("passage", "results")})
assert obs["passage"].count("[mask_1]") == 1 and obs["num_masks"] == 1"""),
    ("md", """Search with `<search>query</search>`. A search costs nothing but a step and
one of the `max_searches` (3) searches; the results (top 3 passages) replace
`obs["results"]`. Here the query is the title and the sentence without the mask."""),
    ("code", """query = obs["title"] + " " + obs["passage"].replace("[mask_1]", " ")
obs, reward, terminated, truncated, info = env.step(f"<search>{query}</search>")
print(obs["results"])
print("reward", reward, "| info", info)
source = env.unwrapped.task.passage_id
assert reward == 0.0 and not terminated and info["action"] == "search"
assert source not in info["retrieved_ids"], "the masked passage never comes back from search"
"""),
    ("md", """Answer with `<answer>[mask_1]: text</answer>`: the episode ends and every mask is
graded. The paper's reward is **token recall** (share of the gold answer's tokens
in your answer); the env's default, `penalized_recall`, is recall minus a penalty
for long answers and lists of candidates (see why below; `reward="recall"` selects
the paper's). `info["per_mask_scores"]` and `info["reward_components"]` break the
reward down, and the step that ends an episode reveals the gold in `info["answers"]`.
For teaching we peek at the gold answer before the end (`env.unwrapped.task.answers`;
an agent never sees it) and replay the same task with three different answers under
`recall`: right, wrong, and a list of guesses."""),
    ("code", """gold = env.unwrapped.task.answers[0]
print("gold answer:", repr(gold))


def answer_once(text, seed=3, **env_kwargs):
    \"\"\"Reset to the same task, answer at once, return (reward, info).\"\"\"
    replay = gym.make("RAMP-Lite-v0", **env_kwargs)
    replay.reset(seed=seed)
    _, reward, terminated, _, info = replay.step(f"<answer>[mask_1]: {text}</answer>")
    assert terminated and info["answers"] == [gold]  # the ending step's info holds the gold
    return reward, info


listing = f"Paris, 1900, {gold}, Napoleon, Tokyo"
for text in [gold, "something else", listing]:
    reward, info = answer_once(text, reward="recall")
    print(f"{text!r:45} reward {reward:.3f}  components {info['reward_components']}")

# the list got full credit: recall cannot tell a list from an answer. The default reward can:
reward, info = answer_once(listing)  # reward="penalized_recall"
print(f"penalized_recall, the list: reward {reward:.3f}  components {info['reward_components']}")
assert answer_once(gold, reward="recall")[0] == 1.0 and answer_once("something else", reward="recall")[0] == 0.0
assert answer_once(listing, reward="recall")[0] == 1.0 and reward < 0.5"""),
    ("md", """A malformed action is not a crash: it costs `format_penalty` (0.1), the episode
goes on, and `message` says what was wrong."""),
    ("code", """obs, info = env.reset(seed=3)
obs, reward, terminated, truncated, info = env.step("I think it is Paris")
print(reward, info["format_errors"], "|", obs["message"])
assert reward == -0.1 and not terminated and info["format_errors"]"""),
    ("md", """## 2. Write an agent in a few lines

An agent is anything with `act(observation) -> str` (and optionally `reset()`).
This one searches the title plus the masked sentence, then answers with the
first capitalised word of the results that is not already in the passage.
`format_search` and `format_answer` (from `ramp_env.actions`) write the two actions,
so a title or an answer can never break the tags."""),
    ("code", """from ramp_env.actions import format_answer, format_search


class FirstNameAgent:
    def reset(self):
        self.searched = False

    def act(self, obs):
        if not self.searched:
            self.searched = True
            return format_search(obs["title"] + " " + obs["passage"].replace("[mask_1]", " "))
        words = [w.strip(".,;:()\\"'") for w in obs["results"].split()]
        names = [w for w in words if w[:1].isupper() and w not in obs["passage"] and w not in obs["title"]]
        return format_answer({1: names[0] if names else "?"})


lite = gym.make("RAMP-Lite-v0")
records = list(run_episodes(lite, FirstNameAgent(), episodes=5, seed=0))
for r in records:
    print(f"reward {r.reward:.2f}  predicted {r.predictions}  gold {r.answers}")
assert len(records) == 5 and all(-0.1 <= r.reward <= 1.0 for r in records)"""),
    ("md", """## 3. Evaluate against the baselines

`run_episodes` plays seeded episodes; with the same `seed` every agent faces the
same tasks, so scores are paired. The baselines come from the agent registry:
`random` (the floor), `closed_book` (never searches: a corpus prior), `bm25` (a
hand-written search heuristic: targeted queries, typed candidates, a fitted
scorer) and `oracle` (reads the gold: checks the harness). The same in a shell:

```bash
ramp-env evaluate --env RAMP-Lite-v0 --agent bm25 random closed_book oracle --episodes 100
```"""),
    ("code", """agents = {
    "random": make_agent("random", lite),
    "closed_book": make_agent("closed_book", lite),
    "FirstNameAgent": FirstNameAgent(),
    "bm25": make_agent("bm25", lite, {"span_extractor": "rules"}),  # RAMP-Lite-v0 masks rule spans
    "oracle": make_agent("oracle", lite),
}
scores = {}
for name, agent in agents.items():
    rewards = [r.reward for r in run_episodes(lite, agent, episodes=EVAL_TASKS, seed=1)]
    scores[name] = mean_ci95(rewards)
    print(f"{name:15} {scores[name][0]:.3f} ± {scores[name][1]:.3f}")

# horizontal bars: agent names are read along the axis, however long they are
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(scores), [m for m, _ in scores.values()], xerr=[ci for _, ci in scores.values()], capsize=4)
ax.invert_yaxis()  # first agent on top
ax.set_xlabel(f"mean reward over {EVAL_TASKS} tasks (bars: 95% CI)")
ax.set_title("RAMP-Lite-v0, 1 mask")
fig.tight_layout()
plt.show()

assert scores["oracle"][0] == 1.0
assert scores["bm25"][0] > scores["random"][0] + 0.2, "the search heuristic must beat random by far on Lite\""""),
    ("md", """## 4. Train MaskablePPO through `CandidateActionWrapper`

stable-baselines3 cannot act in text. `CandidateActionWrapper` turns an episode
into a numeric problem: the observation is a vector of features of the candidate
answers mined from the search results (context overlap, neighbouring words, kind
fit, rank, the heuristic's score); the action is *search for mask m with query
template t* or *answer mask m with its j-th candidate*; `action_masks()` tells
`MaskablePPO` which actions are valid. PPO trains on `split="train"` and is
scored on `split="test"`: the corpus's passages are split once (near copies on
one side), so the held-out tasks' passages never appear in training, neither as
tasks nor in search results. We measure two references on the same held-out
tasks: a uniformly random valid policy and the wrapper's greedy heuristic
(search with every template, then answer the top candidate)."""),
    ("code", """import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv

from ramp_env.wrappers.candidate_actions import CandidateActionWrapper

torch.set_num_threads(1)  # a tiny MLP: one thread is faster than several busy ones


def make_wrapped(reward="penalized_recall", wrapper=CandidateActionWrapper, split="train"):
    # split="train": training never sees a test passage, not as a task, not in a search result
    return wrapper(gym.make("RAMP-Lite-v0", reward=reward, split=split).unwrapped, max_masks=1)


def held_out(env, choose, tasks=EVAL_TASKS):
    \"\"\"Rewards of choose(obs, action_mask) -> action on the test split's tasks (env made with split="test").\"\"\"
    rewards = []
    for i in range(tasks):
        obs, _ = env.reset(seed=10_000_000 + i)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(choose(obs, env.action_masks()))
            done = terminated or truncated
        rewards.append(reward)
    return np.array(rewards)


def greedy(env):
    def choose(obs, mask):
        searches = np.flatnonzero(mask[: env.n_search_actions])
        return int(searches[0]) if searches.size else env.n_search_actions  # then mask 1's top candidate
    return choose


def policy(model):
    return lambda obs, mask: int(model.predict(obs, deterministic=True, action_masks=mask)[0])


eval_env = make_wrapped(split="test")
rng = np.random.default_rng(0)
random_valid = held_out(eval_env, lambda obs, mask: int(rng.choice(np.flatnonzero(mask))))
greedy_rewards = held_out(eval_env, greedy(eval_env))
print(f"random valid policy {random_valid.mean():.3f}   greedy heuristic {greedy_rewards.mean():.3f}")
print("observation", eval_env.observation_space.shape, "actions", eval_env.action_space.n)"""),
    ("code", """train_env = DummyVecEnv([make_wrapped for _ in range(4)])
train_env.seed(0)
model = MaskablePPO("MlpPolicy", train_env, n_steps=128, batch_size=128, learning_rate=1e-3,
                    ent_coef=0.01, seed=0, device="cpu")
curve = [(0, held_out(eval_env, policy(model)))]
t0 = time.perf_counter()
while model.num_timesteps < PPO_STEPS:
    model.learn(total_timesteps=1_024, reset_num_timesteps=False)
    curve.append((model.num_timesteps, held_out(eval_env, policy(model))))
    print(f"step {curve[-1][0]:>5}  held-out reward {curve[-1][1].mean():.3f}  ({time.perf_counter() - t0:.0f} s)")

steps = [s for s, _ in curve]
means = [r.mean() for _, r in curve]
cis = [mean_ci95(r.tolist())[1] for _, r in curve]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.errorbar(steps, means, yerr=cis, marker="o", label="MaskablePPO (deterministic)")
ax.axhline(random_valid.mean(), color="gray", linestyle="--", label="random valid policy")
ax.axhline(greedy_rewards.mean(), color="green", linestyle=":", label="greedy heuristic")
ax.set_xlabel("environment steps")
ax.set_ylabel(f"reward, {EVAL_TASKS} held-out tasks")
ax.legend()
fig.tight_layout()
plt.show()

final = curve[-1][1]
print(f"final {final.mean():.3f} vs random {random_valid.mean():.3f} vs greedy {greedy_rewards.mean():.3f}")
assert final.mean() > random_valid.mean() + 0.2, "PPO must clearly beat the random valid policy"
assert final.mean() > curve[0][1].mean(), "PPO must improve on its initial policy\""""),
    ("md", """The policy passes the random floor within ~2,000 steps and settles at the
greedy heuristic's level: the heuristic's score is one of its features, and
"search, then take the top candidate" is the best use of these features.
Beating it needs richer features or a text policy (section 6, and the
exercises). `benchmarks/teaching_ppo.py` measures this curve over several seeds.

## 5. Reward variants: enumeration hacking, live

Token recall has a hole: an answer that *lists* several candidates gets full
credit if any of them is right. First by hand: the same search agent answers
honestly (its best candidate) or lists its top 5 candidates, under `recall` and
under `penalized_recall` (recall minus a penalty for answers much longer than
the gold, and for lists of alternatives: `docs/rewards.md`)."""),
    ("code", """from ramp_env.actions import format_answer, format_search
from ramp_env.reading import CandidatePool, build_query, mask_contexts, parse_results
from ramp_env.text.spans import RuleSpanExtractor


class SearchThenAnswer:
    \"\"\"One search (title + words near the mask), then the best candidate, or the top `list_top` joined.\"\"\"

    def __init__(self, list_top=0):
        self.list_top, self.extractor = list_top, RuleSpanExtractor()

    def reset(self):
        self.pool = None

    def act(self, obs):
        if self.pool is None:
            self.pool = CandidatePool(obs["passage"], obs["title"], self.extractor)
            context = mask_contexts(obs["passage"])[1]
            return format_search(build_query(context, obs["title"], "title+near"))
        self.pool.add_hits(parse_results(obs["results"]))
        ranked = self.pool.scores(1)
        text = ", ".join(c.text for c in ranked[: self.list_top]) if self.list_top else (ranked[0].text if ranked else "")
        return format_answer({1: text})


hack_scores = {}
for reward_name in ["recall", "penalized_recall", "f1"]:
    env_r = gym.make("RAMP-Lite-v0", reward=reward_name)
    for agent_name, agent in [("honest", SearchThenAnswer()), ("lists top 5", SearchThenAnswer(list_top=5))]:
        rewards = [r.reward for r in run_episodes(env_r, agent, episodes=60, seed=2)]
        hack_scores[reward_name, agent_name] = np.mean(rewards)
        print(f"{reward_name:17} {agent_name:12} {np.mean(rewards):.3f}")

assert hack_scores["recall", "lists top 5"] > hack_scores["recall", "honest"], "recall rewards the list"
assert hack_scores["penalized_recall", "lists top 5"] < hack_scores["penalized_recall", "honest"]"""),
    ("md", """Now let RL find it. `ListAnswerWrapper` gives the policy one more action per
mask: *answer with all my candidates joined*. Nothing tells the policy that this
is cheating; it only sees the reward. Train the same MaskablePPO under each
reward and count how often the trained policy lists."""),
    ("code", """from gymnasium import spaces

from ramp_env.reading import CandidateScore


class ListAnswerWrapper(CandidateActionWrapper):
    \"\"\"CandidateActionWrapper plus one action per mask: answer it with every candidate, joined.\"\"\"

    def __init__(self, env, **kwargs):
        super().__init__(env, **kwargs)
        self.n_single = self.action_space.n
        self.action_space = spaces.Discrete(self.n_single + self.max_masks)
        self.lists = 0

    def action_masks(self):
        can_list = [m < self._num_masks and m + 1 not in self._answers and len(self._ranked[m]) > 1
                    for m in range(self.max_masks)]
        # the base class sizes its mask by action_space.n, which now includes the list actions
        return np.concatenate([super().action_masks()[: self.n_single], can_list])

    def step(self, action):
        action = int(action)
        if action < self.n_single or not self.action_masks()[action]:
            return super().step(action)
        m = action - self.n_single
        self._steps += 1
        self.lists += 1
        self._answers[m + 1] = CandidateScore(", ".join(c.text for c in self._ranked[m]), "name")
        reward, terminated, info = 0.0, False, {"action": "list", "mask": m + 1}
        if len(self._answers) == self._num_masks:
            reward, terminated, info = self._submit()
        self._ranked = self._rank()
        return self._observation(), float(reward), terminated, False, info


list_rate = {}
for reward_name in ["recall", "penalized_recall"]:
    train = DummyVecEnv([lambda: make_wrapped(reward_name, ListAnswerWrapper) for _ in range(4)])
    train.seed(0)
    hacker = MaskablePPO("MlpPolicy", train, n_steps=128, batch_size=128, learning_rate=1e-3,
                         ent_coef=0.01, seed=0, device="cpu")
    hacker.learn(total_timesteps=3_000)
    probe = make_wrapped(reward_name, ListAnswerWrapper, split="test")
    rewards = held_out(probe, policy(hacker), tasks=60)
    list_rate[reward_name] = probe.lists / 60
    print(f"{reward_name:17} reward {rewards.mean():.3f}   episodes answered with a list: {list_rate[reward_name]:.0%}")

assert list_rate["recall"] > 0.5, "under recall, PPO should learn to list"
assert list_rate["penalized_recall"] < list_rate["recall"]"""),
    ("md", """Under `recall` the policy lists almost always (its reward looks better than
honest answering, but it learned nothing useful); under `penalized_recall` it
stops. For RL on RAMP use `penalized_recall`, `em`, `f1` or the embedding
`judge` (`docs/rewards.md`); exercise 2 asks you to write such a reward.

## 6. (Optional) A small language model as the agent

`make_agent("llm", env)` loads SmolLM2-135M-Instruct from its installed package
(offline) and plays with text actions. It is slow on a CPU and scores near zero
without training (`docs/llm-training.md` trains it with SFT and DAPO). Set
`RUN_SMOLLM2 = True` in the first cell to try it."""),
    ("code", """if RUN_SMOLLM2:
    llm = make_agent("llm", lite)
    for r in run_episodes(lite, llm, episodes=2, seed=0):
        print(f"reward {r.reward:.2f}  predicted {r.predictions}  gold {r.answers}")
else:
    print("skipped (RUN_SMOLLM2 = False)")"""),
    ("md", """## Where next

* `exercises/`: a query writer that must match the BM25 heuristic's query, and a
  reward that cannot be hacked; `pytest exercises/` grades them.
* `examples/train_ppo.py`: the same training as a script, on any corpus (`--corpus`).
* `ramp-env evaluate --env RAMP-Lite-v0 --agent my_module:MyAgent`: your agent on the leaderboard."""),
    ("code", """import json

summary = {
    "baselines": {name: {"mean": round(m, 3), "ci95": round(ci, 3)} for name, (m, ci) in scores.items()},
    "ppo": {"steps": steps, "mean": [round(m, 3) for m in means],
            "random_valid": round(random_valid.mean(), 3), "greedy": round(greedy_rewards.mean(), 3)},
    "listing_by_hand": {f"{r}/{a}": round(v, 3) for (r, a), v in hack_scores.items()},
    "ppo_list_rate": list_rate,
    "seconds": round(time.perf_counter() - started, 1),
}
print("TUTORIAL_SUMMARY " + json.dumps(summary))  # benchmarks/teaching_kit.py reads this line
print(f"tutorial ran in {summary['seconds']:.0f} s")"""),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, source) in enumerate(CELLS):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        cell["id"] = f"cell-{i:02d}"  # stable ids: regenerating gives the same file
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


if __name__ == "__main__":
    from ramp_env.cache import atomic_path

    with atomic_path(NOTEBOOK) as tmp:
        nbformat.write(build(), str(tmp))
    print(f"wrote {NOTEBOOK}")

"""MaskablePPO on RAMP-Lite-v0 in a couple of CPU minutes: the learning curve a class sees.

    nice -n 10 python benchmarks/teaching_ppo.py                      # 3 seeds, writes benchmarks/results/teaching_ppo.json
    python benchmarks/teaching_ppo.py --seeds 0 --total-timesteps 4000 --out /tmp/quick.json

For each seed it trains MaskablePPO through ``CandidateActionWrapper`` on
``RAMP-Lite-v0`` (1 mask) and evaluates the deterministic policy every
``eval_every`` steps on the same ``eval_episodes`` held-out tasks (reset seeds
10,000,000+, never used in training). On those same tasks, in the same run, it
measures the references: a uniformly random valid policy and the wrapper's greedy
heuristic (search with every template, then answer the top candidate). It reports
each curve point with a 95% CI, the paired difference of the final policy against
both references, and the wall time of training (evaluation excluded) next to the
machine's load average.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sb3_contrib import MaskablePPO
from scipy import stats
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv

from ramp_env.cache import atomic_write_json
from ramp_env.envs.ramp_lite import RAMPLiteEnv
from ramp_env.evaluation.leaderboard import mean_ci95
from ramp_env.wrappers.candidate_actions import CandidateActionWrapper

EVAL_SEED = 10_000_000
DEFAULT_OUT = Path(__file__).parent / "results" / "teaching_ppo.json"


def make_env(num_masks: int, reward: str) -> CandidateActionWrapper:
    return CandidateActionWrapper(RAMPLiteEnv(num_masks=num_masks, reward=reward, progress=False), max_masks=num_masks)


def play(env: CandidateActionWrapper, choose, episodes: int) -> np.ndarray:
    """Rewards of ``choose(obs, action_mask) -> action`` on the held-out tasks."""
    rewards = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=EVAL_SEED + episode)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(choose(obs, env.action_masks()))
            done = terminated or truncated
        rewards.append(reward)
    return np.asarray(rewards, dtype=float)


def greedy(env: CandidateActionWrapper):
    """Every search template for every mask, then each mask's top candidate."""
    def choose(obs: np.ndarray, mask: np.ndarray) -> int:
        searches = np.flatnonzero(mask[: env.n_search_actions])
        if searches.size:
            return int(searches[0])
        fills = np.flatnonzero(mask[env.n_search_actions :])
        tops = [i for i in fills if i % env.candidates_per_mask == 0]
        return env.n_search_actions + int(tops[0] if tops else fills[0])
    return choose


def policy(model: MaskablePPO):
    def choose(obs: np.ndarray, mask: np.ndarray) -> int:
        return int(model.predict(obs, deterministic=True, action_masks=mask)[0])
    return choose


def paired(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean of ``a - b`` over the same tasks, its 95% CI half-width and the paired t-test p-value."""
    diff = a - b
    mean, ci = mean_ci95(diff.tolist())
    p = float(stats.ttest_rel(a, b).pvalue) if np.any(diff != diff[0]) else (0.0 if diff[0] else 1.0)
    return {"mean": round(mean, 4), "ci95": round(ci, 4), "p_value": p}


def summary(rewards: np.ndarray) -> dict[str, float]:
    mean, ci = mean_ci95(rewards.tolist())
    return {"mean": round(mean, 4), "ci95": round(ci, 4)}


class Curve(BaseCallback):
    """Evaluates every ``every`` steps; evaluation time is kept out of the training time."""

    def __init__(self, eval_env: CandidateActionWrapper, every: int, episodes: int) -> None:
        super().__init__()
        self.eval_env, self.every, self.episodes = eval_env, every, episodes
        self.points: list[dict] = []
        self.eval_seconds = 0.0
        self.started = time.perf_counter()

    def evaluate(self, timesteps: int) -> np.ndarray:
        t = time.perf_counter()
        rewards = play(self.eval_env, policy(self.model), self.episodes)
        self.eval_seconds += time.perf_counter() - t
        train_seconds = time.perf_counter() - self.started - self.eval_seconds
        self.points.append({"timesteps": timesteps, "train_seconds": round(train_seconds, 1), **summary(rewards)})
        print(f"  step {timesteps:>6d}  {rewards.mean():.3f}  (train {train_seconds:.0f} s)", flush=True)
        return rewards

    def _on_training_start(self) -> None:
        self.started = time.perf_counter()
        self.evaluate(0)

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every < self.training_env.num_envs:
            self.last = self.evaluate(self.num_timesteps)
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--total-timesteps", type=int, default=12_000)
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--eval-episodes", type=int, default=200)
    parser.add_argument("--num-masks", type=int, default=1)
    parser.add_argument("--reward", default="penalized_recall")
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(args.out.parent, os.W_OK):  # fail before minutes of training, not after
        sys.exit(f"cannot write {args.out}")
    torch.set_num_threads(1)  # a tiny MLP: one thread beats two contended ones (see examples/train_ppo.py)

    load_before = os.getloadavg()
    eval_env = make_env(args.num_masks, args.reward)
    base = eval_env.unwrapped
    rng = np.random.default_rng(0)
    random_rewards = play(eval_env, lambda obs, mask: int(rng.choice(np.flatnonzero(mask))), args.eval_episodes)
    greedy_rewards = play(eval_env, greedy(eval_env), args.eval_episodes)
    print(f"random valid {random_rewards.mean():.3f}  greedy heuristic {greedy_rewards.mean():.3f}")

    runs = []
    finals = []
    for seed in args.seeds:
        print(f"seed {seed}")
        train_env = DummyVecEnv([lambda: make_env(args.num_masks, args.reward) for _ in range(args.n_envs)])
        train_env.seed(seed)
        model = MaskablePPO(
            "MlpPolicy", train_env, n_steps=128, batch_size=128, learning_rate=1e-3, ent_coef=0.01,
            seed=seed, verbose=0, device="cpu",
        )
        curve = Curve(eval_env, args.eval_every, args.eval_episodes)
        model.learn(total_timesteps=args.total_timesteps, callback=curve)
        if curve.points[-1]["timesteps"] != model.num_timesteps:
            curve.last = curve.evaluate(model.num_timesteps)
        final = curve.last
        finals.append(final)
        runs.append({
            "seed": seed,
            "curve": curve.points,
            "train_seconds": curve.points[-1]["train_seconds"],
            "final_vs_greedy": paired(final, greedy_rewards),
            "final_vs_random": paired(final, random_rewards),
        })
        train_env.close()

    final_mean = np.mean(finals, axis=0)  # per task, averaged over seeds
    result = {
        "benchmark": "teaching_ppo",
        "command": "python benchmarks/teaching_ppo.py " + " ".join(sys.argv[1:]),
        "env": "RAMP-Lite-v0",
        "env_kwargs": {"num_masks": args.num_masks, "reward": args.reward},
        # the env's defaults that shape the tasks (require_evidence: RAMP-v0's, inherited)
        "env_config": {k: getattr(base, k, None) for k in ("require_evidence", "max_searches", "top_k", "num_masks")},
        "corpus_passages": len(base.corpus.store),
        "wrapper": "CandidateActionWrapper(max_masks=num_masks)",
        "algo": "MaskablePPO(MlpPolicy, n_steps=128 x n_envs, batch_size=128, lr=1e-3, ent_coef=0.01)",
        "n_envs": args.n_envs,
        "total_timesteps": args.total_timesteps,
        "eval_episodes": args.eval_episodes,
        "eval_policy": "deterministic",
        "references": {"random_valid": summary(random_rewards), "greedy_heuristic": summary(greedy_rewards)},
        "runs": runs,
        "final_mean_over_seeds": summary(final_mean),
        "final_mean_over_seeds_vs_greedy": paired(final_mean, greedy_rewards),
        "final_mean_over_seeds_vs_random": paired(final_mean, random_rewards),
        "train_seconds_per_run": [r["train_seconds"] for r in runs],
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch_threads": 1,
            "load_average_1m_before": round(load_before[0], 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
            "note": "shared 2-core machine, other jobs running: times are upper bounds for an idle 2-core laptop",
        },
    }
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

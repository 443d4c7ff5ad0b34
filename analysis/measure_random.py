"""One-off: measure random-policy returns for the non-Atari tasks (writes CSV rows to stdout).

Not imported by the package; it only documents how the random columns of
``data/env_references.csv`` were made:
``python -m analysis.measure_random > rows.csv``. The Hard Maze row was measured
with ``measure("bench.maze:bench/HardMaze-v0", 100)`` from a shell (that id imports bench,
which the package itself never does). Uniform random actions from
``env.action_space.sample()`` (action space seeded 0), episode i reset with seed i, default
gymnasium time limits, mean undiscounted return over the episodes.
"""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np

TASKS: dict[str, int] = {  # env_id -> episodes (MuJoCo episodes are long: fewer)
    "CartPole-v1": 100,
    "Acrobot-v1": 100,
    "MountainCar-v0": 100,
    "MountainCarContinuous-v0": 100,
    "Pendulum-v1": 100,
    "LunarLander-v3": 100,
    "BipedalWalker-v3": 30,
    "Hopper-v5": 30,
    "HalfCheetah-v5": 30,
    "Walker2d-v5": 30,
    "Ant-v5": 30,
    "Humanoid-v5": 30,
    "Swimmer-v5": 30,
    "InvertedPendulum-v5": 30,
}


def measure(env_id: str, episodes: int) -> tuple[float, float]:
    env = gym.make(env_id)
    env.action_space.seed(0)
    returns = []
    for i in range(episodes):
        env.reset(seed=i)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(env.action_space.sample())
            total += float(r)
            done = term or trunc
        returns.append(total)
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


if __name__ == "__main__":
    print("env_id,random_score,random_std,episodes,gymnasium")
    for env_id, n in TASKS.items():
        try:
            mean, std = measure(env_id, n)
        except Exception as exc:  # a missing extra (box2d, mujoco) must not stop the others
            print(f"# {env_id}: {exc}", file=sys.stderr)
            continue
        print(f"{env_id},{mean:.2f},{std:.2f},{n},{gym.__version__}", flush=True)

"""Benchmark 7: the Hard Maze's batched simulator against the per-env rollout path.

Side by side in one process (interleaved, median of ``--repeats``), the same genomes and
episodes, vector backend, one worker:

(a) ``env``: raw stepping of one gym ``bench/HardMaze-v0`` with random actions (the per-env
    path's floor: no policy at all);
(b) ``per_env``: ``Evaluator.evaluate`` with one gym env per slot (``make_robots`` hidden);
(c) ``batched``: ``Evaluator.evaluate`` on :class:`bench.maze.MazeRobots`, every slot in one
    numpy step.

Both (b) and (c) return identical returns (checked here and in tests/algos/test_evaluator.py).
Reported: agent steps (= frames) per second and ``batched_over_per_env`` = (c)/(b).

    python benchmarks/maze_batched.py          # ~1 minute
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

import bench.maze
from bench.envs import EnvFactory, EnvSpec
from bench.population.backends import make_evaluator
from bench.population.genomes import SeedChains
from bench.population.networks import NetSpec
from bench.population.rollout import RolloutOptions

MAZE = EnvFactory(EnvSpec("hardmaze", "bench.maze:bench/HardMaze-v0", "maze"))


def env_steps_per_second(steps: int) -> float:
    env = gym.make("bench.maze:bench/HardMaze-v0")
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, 2)).astype(np.float32)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def evaluate(spec: NetSpec, genomes: int, batched: bool) -> tuple[float, np.ndarray]:
    """Frames per second of one population evaluation, and its returns."""
    hidden = None if batched else bench.maze.HardMazeEnv.__dict__["make_robots"]
    if hidden is not None:
        del bench.maze.HardMazeEnv.make_robots
    try:
        batch = SeedChains([(i,) for i in range(genomes)])
        seeds = np.zeros((genomes, 1), dtype=np.int64)
        with make_evaluator("vector", MAZE, spec, RolloutOptions(behaviour="xy")) as ev:
            ev.evaluate(SeedChains([(10_000,)]), np.zeros((1, 1), dtype=np.int64))  # warm
            start = time.perf_counter()
            result = ev.evaluate(batch, seeds)
            return result.steps / (time.perf_counter() - start), result.returns
    finally:
        if hidden is not None:
            bench.maze.HardMazeEnv.make_robots = hidden


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    genomes = 8 if args.tiny else 100
    spec = NetSpec.for_env(
        "mlp", MAZE.spec.observation_space, MAZE.spec.action_space, "maze", hidden=(16, 16)
    )
    runs: dict[str, list[float]] = {"env": [], "per_env": [], "batched": []}
    for _ in range(1 if args.tiny else args.repeats):  # interleaved
        runs["env"].append(env_steps_per_second(genomes * 400))
        per_env, slow_returns = evaluate(spec, genomes, batched=False)
        batched, fast_returns = evaluate(spec, genomes, batched=True)
        if not np.array_equal(slow_returns, fast_returns):
            raise AssertionError("the batched maze gave different returns from the per-env path")
        runs["per_env"].append(per_env)
        runs["batched"].append(batched)
    rates = {name: float(np.median(values)) for name, values in runs.items()}
    row = {"case": f"HardMaze MLP 16-16, {genomes} genomes x 1 episode",
           **{f"{name}_steps_per_s": rate for name, rate in rates.items()},
           "batched_over_per_env": rates["batched"] / rates["per_env"],
           "batched_over_env": rates["batched"] / rates["env"]}  # fmt: skip
    print(table([row], list(row)))
    write("maze_batched", [row], args.out, runs=runs)


if __name__ == "__main__":
    main()

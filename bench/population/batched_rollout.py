"""Population rollouts on a batched simulator: one numpy step for every robot of a slot table.

An env whose ``unwrapped`` has ``make_robots(n)`` (the Hard Maze, :class:`bench.maze.MazeRobots`)
is stepped here instead of as ``n`` gym envs: per agent step one batched forward and ONE
simulator step for all live episodes, instead of ``n`` Python-level ``env.step`` calls. The
simulator is the same code the gym env wraps, so each episode's return, length and behaviour are
identical to the per-env path (tests/algos/test_evaluator.py checks it); only the time differs.

The simulator contract (duck-typed): ``reset()`` puts every robot at the start; ``observe()`` ->
(n, obs_dim) float32; ``step(actions (n, act_dim))`` -> (reward (n,), terminated (n,)); ``pos``
(n, 2) for the ``xy`` behaviour. The env's own time limit (its gym spec) truncates episodes,
as ``TimeLimit`` does on the per-env path; gym wrappers are otherwise not applied, so the
``make_robots`` env must need none (the factory adds none outside Atari).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bench.population.obs_norm import ObsNorm, ObsStats, net_input

if TYPE_CHECKING:
    from bench.population.genomes import GenomeBatch
    from bench.population.rollout import RolloutWorker

ROBOT_BEHAVIOURS: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
    "xy": lambda robots, obs: robots.pos,
    "final_obs": lambda robots, obs: obs,
}


def run_batched(
    worker: RolloutWorker,
    robots_for: Callable[[int], Any],
    batch: GenomeBatch,
    seeds: np.ndarray,
    time_limit: int,
    obs_norm: ObsNorm | None,
    collect_obs: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, ObsStats | None]:
    """Episodes ``(k, e)`` in chunks of ``max_envs``, each chunk in lock-step to its end.

    The maze is deterministic, so ``seeds`` only fix the job count. Returns (returns, lengths,
    descriptors or None, [count, sum, sum of squares] of observations or None).
    """
    k_count, e_count = seeds.shape
    returns = np.zeros((k_count, e_count))
    lengths = np.zeros((k_count, e_count), dtype=np.int64)
    name = worker.options.behaviour
    if name is not None and name not in ROBOT_BEHAVIOURS:
        raise ValueError(f"behaviour '{name}' is not available on a batched simulator")
    if worker.options.action_noise:
        raise ValueError("action_noise is not available on a batched simulator (the maze)")
    descriptors: np.ndarray | None = None
    stats = ObsStats.zeros(worker.spec.obs_shape) if collect_obs else None
    jobs = [(k, e) for k in range(k_count) for e in range(e_count)]
    size = min(worker.options.max_envs, len(jobs))
    params = torch.zeros(size, worker.net.num_params, device=worker.options.device)
    robots = robots_for(size)
    for first in range(0, len(jobs), size):
        chunk = jobs[first : first + size]
        m = len(chunk)
        genomes: dict[int, np.ndarray] = {}
        for row, (k, _) in enumerate(chunk):
            if k not in genomes:
                genomes[k] = batch.materialise(k, worker.store)
            params[row].copy_(torch.from_numpy(genomes[k]))
        robots.reset()
        obs = robots.observe()
        alive = np.zeros(size, dtype=bool)
        alive[:m] = True
        total, steps = np.zeros(size), np.zeros(size, dtype=np.int64)
        while alive.any():
            x = torch.from_numpy(net_input(obs, worker.spec.obs_scale, obs_norm, stats, alive))
            actions = worker.net.population_act(params, x.to(params.device)).cpu().numpy()
            reward, terminated = robots.step(actions)
            total[alive] += reward[alive]
            steps[alive] += 1
            obs = robots.observe()
            ended = alive & (terminated | (steps >= time_limit))
            if not ended.any():
                continue
            value = ROBOT_BEHAVIOURS[name](robots, obs) if name is not None else None
            if value is not None and descriptors is None:
                descriptors = np.zeros((k_count, e_count, value.shape[1]), np.float32)
            for row in np.flatnonzero(ended):
                job = chunk[row]
                returns[job], lengths[job] = total[row], steps[row]
                if descriptors is not None:
                    descriptors[job] = value[row]
            alive &= ~ended
    return returns, lengths, descriptors, stats

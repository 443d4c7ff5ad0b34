"""One rollout call's episodes on ``n`` lock-stepped env slots (:class:`RolloutWorker`'s loop).

Jobs ``(k, e)`` (genome k, episode e) go to free slots in order; a slot whose episode ends takes
the next job, and once the queue is empty finished slots drop out of the batched forward. A call
that runs long (policies that idle to the time limit) logs where it is at the worker's
``log_every_seconds``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch

from bench.population.obs_norm import ObsNorm, ObsStats, net_input

if TYPE_CHECKING:
    from bench.population.genomes import GenomeBatch
    from bench.population.rollout import RolloutWorker

log = logging.getLogger(__name__)
Behaviour = Callable[[gym.Env, np.ndarray, dict[str, Any]], np.ndarray]


class SlotTable:
    """One call's episodes on ``n`` env slots: the job queue, each slot's running episode, and
    the (K, E) results. Plain Python containers in the per-step and per-episode paths: numpy
    scalar indexing and np.ndindex cost more than a CartPole step."""

    def __init__(
        self,
        worker: RolloutWorker,
        batch: GenomeBatch,
        seeds: np.ndarray,
        params: torch.Tensor,
        behaviour: Behaviour | None = None,
    ) -> None:
        k_count, e_count = seeds.shape
        n = len(params)
        self.worker, self.batch, self.params, self.e_count = worker, batch, params, e_count
        self.envs = worker.envs
        self.returns = np.zeros((k_count, e_count))
        self.lengths = np.zeros((k_count, e_count), dtype=np.int64)
        self.behaviour = behaviour
        self._descriptors: list[list[Any]] = [[None] * e_count for _ in range(k_count)]
        self.cap = worker.options.max_episode_steps or 2**62
        # uint8 observations (Atari RAM / pixels) stay uint8: a quarter of the bytes to copy per
        # step (and to send to a GPU); the net converts them exactly to float32 before scaling.
        space = self.envs[0].observation_space
        obs_dtype = np.uint8 if getattr(space, "dtype", None) == np.uint8 else np.float32
        self.obs = np.zeros((n, *worker.spec.obs_shape), dtype=obs_dtype)
        self.jobs = ((k, e) for k in range(k_count) for e in range(e_count))
        self.slot_job: list[tuple[int, int] | None] = [None] * n
        self.acc, self.steps = [0.0] * n, [0] * n
        self.pending: dict[int, np.ndarray] = {}  # genomes with episodes still to start
        self.started = [0] * k_count
        self.seeds = seeds.tolist()
        self.noise = worker.options.action_noise if not worker.spec.discrete else 0.0
        self.noise_rngs: list[np.random.Generator | None] = [None] * n
        self.alive = [self.start(s) for s in range(n)]
        self.live = sum(self.alive)

    def start(self, s: int) -> bool:
        """Put the next job on slot ``s`` (False: the queue is empty)."""
        job = next(self.jobs, None)
        self.slot_job[s] = job
        if job is None:
            return False
        k, e = job
        if k not in self.pending:
            self.pending[k] = self.batch.materialise(k, self.worker.store)
        self.params[s].copy_(torch.from_numpy(self.pending[k]))  # host -> device on a GPU
        self.started[k] += 1
        if self.started[k] == self.e_count:
            del self.pending[k]
        obs, _ = self.envs[s].reset(seed=int(self.seeds[k][e]))
        if self.noise:  # the episode's own stream: the same noise on every backend
            self.noise_rngs[s] = np.random.default_rng([int(self.seeds[k][e]), 1])
        self.obs[s] = obs
        self.acc[s], self.steps[s] = 0.0, 0
        return True

    def play(self, obs_norm: ObsNorm | None, stats: ObsStats | None) -> None:
        """Step every live slot until every job has run."""
        n, net, params = len(self.params), self.worker.net, self.params
        scale = self.worker.spec.obs_scale
        # Rows in the batched forward: all slots while jobs remain (no copies); once the queue
        # is empty and fewer than half the rows are live, compact to the live slots (a copy
        # log2(n) times at most instead of a gather every step).
        rows, active = list(range(n)), params
        obs_all, discrete = torch.from_numpy(self.obs), self.worker.spec.discrete
        every = self.worker.options.log_every_seconds
        next_log = time.monotonic() + every if every is not None else float("inf")
        while self.live:
            if self.live <= len(rows) // 2:
                rows = [s for s in rows if self.alive[s]]
                active = params[torch.as_tensor(rows, device=params.device)]
            full = len(rows) == n
            obs_rows = self.obs if full else self.obs[rows]
            if obs_norm is None and stats is None:
                x = obs_all if full else torch.from_numpy(obs_rows)
            else:
                seen = [self.alive[s] for s in rows]
                x = torch.from_numpy(net_input(obs_rows, scale, obs_norm, stats, seen))
            # One code path for every device (CPU tests cover the GPU's): ``.to`` and ``.cpu``
            # return their input unchanged on the CPU.
            actions = net.population_act(active, x.to(params.device)).cpu().numpy()
            self.step(rows, actions.tolist() if discrete else actions)
            if time.monotonic() >= next_log:
                next_log = time.monotonic() + every
                self.log_progress()

    def log_progress(self) -> None:
        running = [self.steps[s] for s in range(len(self.alive)) if self.alive[s]]
        done = sum(self.started) - len(running)
        steps = int(self.lengths.sum()) + sum(running)
        log.info(
            "%s: rollouts, %d/%d episodes done, %s agent steps so far, longest running at step %d",
            self.worker.factory.spec.name, done, self.returns.size, f"{steps:,}",
            max(running, default=0),
        )  # fmt: skip

    def step(self, rows: list[int], actions: Any) -> None:
        """One env step on each live slot of ``rows``; ended episodes are recorded and replaced."""
        envs, alive, acc, steps, cap = self.envs, self.alive, self.acc, self.steps, self.cap
        obs_buf, noise, noise_rngs = self.obs, self.noise, self.noise_rngs
        for j, s in enumerate(rows):
            if not alive[s]:
                continue
            action = actions[j]
            if noise:
                action = action + noise * noise_rngs[s].standard_normal(action.shape)
            obs, reward, terminated, truncated, info = envs[s].step(action)
            acc[s] += float(reward)
            steps[s] += 1
            if terminated or truncated or steps[s] >= cap:
                k, e = self.slot_job[s]  # type: ignore[misc]
                self.returns[k, e], self.lengths[k, e] = acc[s], steps[s]
                if self.behaviour is not None:
                    self._descriptors[k][e] = self.behaviour(envs[s], obs, info)
                if not self.start(s):
                    alive[s] = False
                    self.live -= 1
            else:
                obs_buf[s] = obs

    def descriptors(self) -> np.ndarray | None:
        if self.behaviour is None:
            return None
        return np.stack([np.stack(row) for row in self._descriptors]).astype(np.float32)

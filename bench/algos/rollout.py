"""The rollout worker every backend runs, its options, and what it returns.

Episode ``(k, e)`` is reset with ``seeds[k, e]`` and policies are deterministic, so every
backend and worker count gives identical returns. Steps are agent steps; the budget multiplies
by frame skip.

Devices (``device=cuda``, from the run's ``device`` via ``TrainContext.device``): the worker's
net, its slot table of genomes (slots x P float32) and the batched forward live on that device;
envs step on the host. Per env step the observations go host -> device and the actions come
back (one synchronising copy each); a genome is copied host -> device once per episode start.
The code path is the same on the CPU (``.to`` / ``.cpu`` are no-ops there), so the CPU tests
run it. Each ``process`` worker opens its own CUDA context; ``ray`` actors get an even share
of the cluster's GPUs (Ray hides GPUs from actors that reserve none). Results on a GPU are
reproducible run to run but need not equal the CPU's bit for bit (different kernels).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import bench.maze  # noqa: F401  (registers bench/HardMaze-v0 in every worker)
from bench.algos.batched_rollout import run_batched
from bench.algos.genomes import GenomeBatch, GenomeStore
from bench.algos.networks import NetSpec, normalise_obs
from bench.envs import EnvFactory


# -- behaviour descriptors -----------------------------------------------------------------------
def _xy(env: gym.Env, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    if "x" in info and "y" in info:  # bench/HardMaze-v0
        return np.array([info["x"], info["y"]], np.float32)
    data = getattr(env.unwrapped, "data", None)
    if data is not None:  # MuJoCo: torso / root x-y
        return np.asarray(data.qpos[:2], np.float32)
    raise ValueError("behaviour 'xy' needs info['x'], info['y'] or a MuJoCo env")


BEHAVIOURS: dict[str, Callable[[gym.Env, np.ndarray, dict[str, Any]], np.ndarray]] = {
    "xy": _xy,  # final x-y position (Lehman & Stanley 2011; Such et al. 2017)
    "ram": lambda env, obs, info: env.unwrapped.ale.getRAM().astype(np.float32),  # Conti et al.
    "final_obs": lambda env, obs, info: np.asarray(obs, np.float32).ravel(),
}


# -- results -------------------------------------------------------------------------------------
@dataclass
class ObsStats:
    """Sufficient statistics of observations seen (for running normalisation)."""

    count: float
    total: np.ndarray
    total_sq: np.ndarray

    def merge(self, other: ObsStats | None) -> ObsStats:
        if other is None:
            return self
        return ObsStats(
            self.count + other.count, self.total + other.total, self.total_sq + other.total_sq
        )


@dataclass
class PopulationResult:
    """Per-episode outcomes, ``[k, e]`` = genome k, episode e.

    Attributes:
        returns: (K, E) float64 undiscounted returns (raw score).
        lengths: (K, E) int64 agent steps per episode (caps included).
        steps: agent steps used in total (= lengths.sum()); charge these.
        episodes: episodes finished (= K * E).
        cpu_seconds: CPU seconds of REMOTE workers (0 for ``vector``: already this process's).
        descriptors: (K, E, D) float32 behaviour descriptors, or None.
        obs_stats: observation statistics when collected, else None.
    """

    returns: np.ndarray
    lengths: np.ndarray
    steps: int
    episodes: int
    cpu_seconds: float = 0.0
    descriptors: np.ndarray | None = None
    obs_stats: ObsStats | None = None

    @property
    def fitness(self) -> np.ndarray:
        """Mean return per genome, (K,)."""
        return self.returns.mean(axis=1)

    def reorder(self, index: np.ndarray) -> PopulationResult:
        """Rows taken in ``index`` order (undoes a backend's assignment of genomes)."""
        desc = None if self.descriptors is None else self.descriptors[index]
        return replace(self, returns=self.returns[index], lengths=self.lengths[index],
                       descriptors=desc)  # fmt: skip

    @staticmethod
    def concat(parts: Sequence[PopulationResult]) -> PopulationResult:
        parts = [p for p in parts if len(p.returns)]
        stats = None
        for p in parts:
            stats = p.obs_stats.merge(stats) if p.obs_stats is not None else stats
        desc = [p.descriptors for p in parts]
        return PopulationResult(
            returns=np.concatenate([p.returns for p in parts]),
            lengths=np.concatenate([p.lengths for p in parts]),
            steps=sum(p.steps for p in parts),
            episodes=sum(p.episodes for p in parts),
            cpu_seconds=sum(p.cpu_seconds for p in parts),
            descriptors=None if any(d is None for d in desc) else np.concatenate(desc),
            obs_stats=stats,
        )


@dataclass(frozen=True)
class RolloutOptions:
    """Per-evaluator settings a worker needs (picklable).

    Attributes:
        max_envs: env slots per worker run in lock-step (memory: slots x P x 4 bytes).
        max_episode_steps: extra episode cap in agent steps (None: the env's own).
        behaviour: key of :data:`BEHAVIOURS` to record at episode end, or None.
        device: torch device for the batched forward (see the module docstring); with a
            GPU, more slots (``max_envs``) amortise the per-step transfers better.
        cache_genomes: seed-chain genomes a worker keeps between calls (>= the GA's T).
    """

    max_envs: int = 256
    max_episode_steps: int | None = None
    behaviour: str | None = None
    device: str = "cpu"
    cache_genomes: int = 32


def default_max_envs(dense: bool, num_params: int) -> int:
    """Env slots per worker when the config leaves ``max_envs`` null.

    More slots amortise the batched forward's fixed cost over more env steps, but every step
    reads all slots' weights and touches all slots' envs: once that working set spills out of
    the CPU caches, the envs step slower too. Measured on one core (CPU time, HalfCheetah-v5):
    MLP 64-64 (P = 5.7k) 26.9k steps/s with 32 slots vs 18.7k with 256; MLP 256-256 (P = 72k)
    24.5k with 16 vs 14.1k with 256; CartPole linear (P = 8) 183k with 256 vs 177k with 32. So
    dense nets get the largest power of two in [16, 256] slots whose slot table (slots x P x 4
    bytes) fits ~1 MiB (a core's L2 on the test machine); CNNs 16 (4-16 MB per genome; the
    forward dominates and batches well from 16).
    """
    if not dense:
        return 16
    fit = (1 << 20) // (4 * max(num_params, 1))
    return 1 << max(4, min(8, fit.bit_length() - 1))


# -- the worker ----------------------------------------------------------------------------------
class RolloutWorker:
    """Runs episodes for a genome batch in lock-step env slots (the code every backend runs).

    Jobs ``(k, e)`` go to free slots in order; a slot whose episode ends takes the next job, and
    once the queue is empty finished slots drop out of the batched forward.
    """

    def __init__(self, factory: EnvFactory, spec: NetSpec, options: RolloutOptions) -> None:
        torch.set_num_threads(1)  # one core per worker; small nets are fastest on one thread
        self.factory, self.spec, self.options = factory, spec, options
        self.net = spec.build().to(options.device)
        self.store = GenomeStore(self.net, options.cache_genomes)
        self.envs: list[gym.Env] = []
        self._params: torch.Tensor | None = None

    def broadcast(self, name: str, vector: np.ndarray) -> None:
        self.store.shared[name] = np.asarray(vector, dtype=np.float32)

    def _slots(self, n: int) -> torch.Tensor:
        while len(self.envs) < n:
            self.envs.append(self.factory.make(None, train=True, atari_training_wrappers=False))
        if self._params is None or self._params.shape[0] < n:
            self._params = torch.zeros(n, self.net.num_params, device=self.options.device)
        return self._params

    def run(
        self,
        batch: GenomeBatch,
        seeds: np.ndarray,
        obs_norm: tuple[np.ndarray, np.ndarray] | None = None,
        collect_obs: bool = False,
    ) -> PopulationResult:
        """Evaluate ``len(batch)`` genomes, episode ``(k, e)`` reset with ``seeds[k, e]``."""
        cpu0 = time.process_time()
        k_count, e_count = seeds.shape
        returns = np.zeros((k_count, e_count))
        lengths = np.zeros((k_count, e_count), dtype=np.int64)
        if k_count == 0:
            return PopulationResult(returns, lengths, 0, 0)
        self._slots(1)  # one env at least, to ask whether it has a batched simulator
        make_robots = getattr(self.envs[0].unwrapped, "make_robots", None)
        if make_robots is not None:  # a batched simulator: all slots in one step
            return self._run_batched(make_robots, batch, seeds, obs_norm, collect_obs, cpu0)
        behaviour = BEHAVIOURS[self.options.behaviour] if self.options.behaviour else None
        descriptors: list[list[Any]] = [[None] * e_count for _ in range(k_count)]
        cap = self.options.max_episode_steps or 2**62
        n = min(self.options.max_envs, k_count * e_count)
        params = self._slots(n)[:n]
        # uint8 observations (Atari RAM / pixels) stay uint8: a quarter of the bytes to copy per
        # step (and to send to a GPU); the net converts them exactly to float32 before scaling.
        space = self.envs[0].observation_space
        obs_dtype = np.uint8 if getattr(space, "dtype", None) == np.uint8 else np.float32
        obs_buf = np.zeros((n, *self.spec.obs_shape), dtype=obs_dtype)
        # Plain Python containers in the per-step and per-episode paths: numpy scalar indexing
        # and np.ndindex cost more than a CartPole step.
        jobs = ((k, e) for k in range(k_count) for e in range(e_count))
        slot_job: list[tuple[int, int] | None] = [None] * n
        acc = [0.0] * n
        steps = [0] * n
        pending: dict[int, np.ndarray] = {}  # genomes with episodes still to start
        started = [0] * k_count
        seed_list = seeds.tolist()
        stats = [0.0, np.zeros(obs_buf.shape[1:]), np.zeros(obs_buf.shape[1:])]
        envs, net, discrete = self.envs, self.net, self.spec.discrete

        def start(s: int) -> bool:
            job = next(jobs, None)
            slot_job[s] = job
            if job is None:
                return False
            k, e = job
            if k not in pending:
                pending[k] = batch.materialise(k, self.store)
            params[s].copy_(torch.from_numpy(pending[k]))  # host -> device when on a GPU
            started[k] += 1
            if started[k] == e_count:
                del pending[k]
            obs, _ = envs[s].reset(seed=int(seed_list[k][e]))
            obs_buf[s] = obs
            acc[s], steps[s] = 0.0, 0
            return True

        alive = [start(s) for s in range(n)]
        n_live = sum(alive)
        # Rows in the batched forward: all slots while jobs remain (no copies); once the queue
        # is empty and fewer than half the rows are live, compact to the live slots (a copy
        # log2(n) times at most instead of a gather every step).
        rows, active = list(range(n)), params
        obs_all = torch.from_numpy(obs_buf)
        grad = torch.is_grad_enabled()
        torch.set_grad_enabled(False)  # once per call, not a no_grad context per step
        try:
            while n_live:
                if n_live <= len(rows) // 2:
                    rows = [s for s in rows if alive[s]]
                    active = params[torch.as_tensor(rows, device=params.device)]
                full = len(rows) == n
                obs_rows = obs_buf if full else obs_buf[rows]
                if collect_obs:
                    seen = obs_rows[[alive[s] for s in rows]].astype(np.float64)
                    stats[0] += len(seen)
                    stats[1] += seen.sum(0)
                    stats[2] += (seen * seen).sum(0)
                if obs_norm is not None:
                    x = torch.from_numpy(normalise_obs(obs_rows, *obs_norm))
                else:
                    x = obs_all if full else torch.from_numpy(obs_rows)
                # One code path for every device (CPU tests cover the GPU's): ``.to`` and
                # ``.cpu`` return their input unchanged on the CPU.
                actions = net.population_act(active, x.to(params.device)).cpu().numpy()
                acts = actions.tolist() if discrete else actions  # Python ints step faster
                for j, s in enumerate(rows):
                    if not alive[s]:
                        continue
                    obs, reward, terminated, truncated, info = envs[s].step(acts[j])
                    acc[s] += float(reward)
                    steps[s] += 1
                    if terminated or truncated or steps[s] >= cap:
                        k, e = slot_job[s]  # type: ignore[misc]
                        returns[k, e], lengths[k, e] = acc[s], steps[s]
                        if behaviour is not None:
                            descriptors[k][e] = behaviour(envs[s], obs, info)
                        if not start(s):
                            alive[s] = False
                            n_live -= 1
                    else:
                        obs_buf[s] = obs
        finally:
            torch.set_grad_enabled(grad)
        desc = None
        if behaviour is not None:
            desc = np.stack([np.stack(row) for row in descriptors]).astype(np.float32)
        obs_stats = ObsStats(stats[0], stats[1], stats[2]) if collect_obs else None
        batch.end(self.store, returns.mean(axis=1))
        remote = time.process_time() - cpu0
        return PopulationResult(
            returns, lengths, int(lengths.sum()), k_count * e_count, remote, desc, obs_stats
        )

    def _run_batched(
        self,
        make_robots: Callable[[int], Any],
        batch: GenomeBatch,
        seeds: np.ndarray,
        obs_norm: tuple[np.ndarray, np.ndarray] | None,
        collect_obs: bool,
        cpu0: float,
    ) -> PopulationResult:
        env_limit = self.envs[0].spec.max_episode_steps if self.envs[0].spec else None
        limit = min(self.options.max_episode_steps or 2**62, env_limit or 2**62)
        with torch.no_grad():
            returns, lengths, desc, stats = run_batched(
                self, make_robots, batch, seeds, limit, obs_norm, collect_obs
            )
        batch.end(self.store, returns.mean(axis=1))
        obs_stats = ObsStats(*stats) if stats is not None else None
        remote = time.process_time() - cpu0
        return PopulationResult(
            returns, lengths, int(lengths.sum()), returns.size, remote, desc, obs_stats
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs = []

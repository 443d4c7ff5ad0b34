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
from bench.envs import EnvFactory
from bench.population.batched_rollout import run_batched
from bench.population.genomes import GenomeBatch, GenomeStore
from bench.population.networks import NetSpec
from bench.population.obs_norm import ObsNorm, ObsStats, net_input


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
        torch_threads: threads a worker process sets for itself (the process and Ray
            backends: 1, a core each); None leaves the calling process's setting alone, so
            the in-process backend runs with the run's configured ``torch_threads``.
        action_noise: std of Gaussian noise added to continuous actions (OpenAI-ES's
            ``ac_noise_std``); each episode's noise comes from its own reset seed.
    """

    max_envs: int = 256
    max_episode_steps: int | None = None
    behaviour: str | None = None
    device: str = "cpu"
    cache_genomes: int = 32
    torch_threads: int | None = None
    action_noise: float = 0.0


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
        if options.torch_threads is not None:
            torch.set_num_threads(options.torch_threads)
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
        obs_norm: ObsNorm | None = None,
        collect_obs: bool = False,
    ) -> PopulationResult:
        """Evaluate ``len(batch)`` genomes, episode ``(k, e)`` reset with ``seeds[k, e]``;
        ``collect_obs``: return the statistics of the observations seen, scaled."""
        cpu0 = time.process_time()
        if len(seeds) == 0:
            return PopulationResult(np.zeros(seeds.shape), np.zeros(seeds.shape, np.int64), 0, 0)
        self._slots(1)  # one env at least, to ask whether it has a batched simulator
        make_robots = getattr(self.envs[0].unwrapped, "make_robots", None)
        if make_robots is not None:  # a batched simulator: all slots in one step
            env_limit = self.envs[0].spec.max_episode_steps if self.envs[0].spec else None
            limit = min(self.options.max_episode_steps or 2**62, env_limit or 2**62)
            with torch.no_grad():
                out = run_batched(self, make_robots, batch, seeds, limit, obs_norm, collect_obs)
        else:
            n = min(self.options.max_envs, seeds.size)
            table = _SlotTable(self, batch, seeds, self._slots(n)[:n])
            stats = ObsStats.zeros(self.spec.obs_shape) if collect_obs else None
            grad = torch.is_grad_enabled()
            torch.set_grad_enabled(False)  # once per call, not a no_grad context per step
            try:
                table.play(obs_norm, stats)
            finally:
                torch.set_grad_enabled(grad)
            out = table.returns, table.lengths, table.descriptors(), stats
        returns, lengths, descriptors, stats = out
        batch.end(self.store, returns.mean(axis=1))
        return PopulationResult(
            returns, lengths, int(lengths.sum()), returns.size, time.process_time() - cpu0,
            descriptors, stats,
        )  # fmt: skip

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs = []


class _SlotTable:
    """One call's episodes on ``n`` env slots: the job queue, each slot's running episode, and
    the (K, E) results. Plain Python containers in the per-step and per-episode paths: numpy
    scalar indexing and np.ndindex cost more than a CartPole step."""

    def __init__(
        self, worker: RolloutWorker, batch: GenomeBatch, seeds: np.ndarray, params: torch.Tensor
    ) -> None:
        k_count, e_count = seeds.shape
        n = len(params)
        self.worker, self.batch, self.params, self.e_count = worker, batch, params, e_count
        self.envs = worker.envs
        self.returns = np.zeros((k_count, e_count))
        self.lengths = np.zeros((k_count, e_count), dtype=np.int64)
        name = worker.options.behaviour
        self.behaviour = BEHAVIOURS[name] if name else None
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

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
from collections.abc import Sequence
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
from bench.population.obs_norm import ObsNorm, ObsStats
from bench.population.slot_table import Behaviour, SlotTable


# -- behaviour descriptors -----------------------------------------------------------------------
def _xy(env: gym.Env, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
    if "x" in info and "y" in info:  # bench/HardMaze-v0
        return np.array([info["x"], info["y"]], np.float32)
    data = getattr(env.unwrapped, "data", None)
    if data is not None:  # MuJoCo: torso / root x-y
        return np.asarray(data.qpos[:2], np.float32)
    raise ValueError("behaviour 'xy' needs info['x'], info['y'] or a MuJoCo env")


BEHAVIOURS: dict[str, Behaviour] = {
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
        log_every_seconds: a call's rollouts log where they are at this cadence (None: never).
            A generation of policies that idle to the time limit (Seaquest RAM: 128 x 27,000
            steps) takes 20 minutes on a core and must not look hung. Logged by the process
            that steps the envs: the in-process backend's lines reach the run's log.
    """

    max_envs: int = 256
    max_episode_steps: int | None = None
    behaviour: str | None = None
    device: str = "cpu"
    cache_genomes: int = 32
    torch_threads: int | None = None
    action_noise: float = 0.0
    log_every_seconds: float | None = None


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
    """Runs episodes for a genome batch in lock-step env slots (the code every backend runs):
    a :class:`~bench.population.slot_table.SlotTable` per call, or a batched simulator's."""

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
            behaviour = BEHAVIOURS[self.options.behaviour] if self.options.behaviour else None
            table = SlotTable(self, batch, seeds, self._slots(n)[:n], behaviour)
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

"""Population evaluation: K genomes x E episodes, one batched forward pass per env step.

Only compact genome descriptions cross a process boundary, as in the Deep GA and OpenAI-ES
(Such et al. 2017, arXiv 1712.06567; Salimans et al. 2017, arXiv 1703.03864): a worker turns a
:class:`GenomeBatch` into weights itself, one genome at a time, straight into the row of the
env slot that runs it. Three encodings:

- :class:`SeedChains`: Deep GA ``(init_seed, (seed, power), ...)``; parents are cached.
- :class:`DenseGenomes`: full vectors; they DO cross as-is (for CMA-ES on small linear nets).
- :class:`Perturbations`: ``mean + sign * sigma * noise[idx : idx + P]``; the mean is sent once
  per generation with :meth:`Evaluator.broadcast`, the noise table is rebuilt from its seed.

Backends (``vector``, ``process``, ``ray``) run the same :class:`RolloutWorker`; episode
``(k, e)`` is reset with ``seeds[k, e]`` and policies are deterministic, so every backend and
worker count gives identical returns. Steps are agent steps; the budget multiplies by frame skip.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import bench.maze  # noqa: F401  (registers bench/HardMaze-v0 in every worker)
from bench.algos.networks import NetSpec, PolicyNet, normalise_obs
from bench.envs import EnvFactory

Chain = tuple  # (init_seed, (seed, power), (seed, power), ...)


# -- genome encodings ----------------------------------------------------------------------------
@dataclass(frozen=True)
class NoiseTable:
    """A shared block of N(0, 1) float32 noise, rebuilt in each process from (size, seed)."""

    size: int = 25_000_000
    seed: int = 123

    def array(self) -> np.ndarray:
        key = (self.size, self.seed)
        if key not in _NOISE:
            _NOISE[key] = np.random.default_rng(self.seed).standard_normal(self.size, np.float32)
        return _NOISE[key]

    def get(self, index: int, dim: int) -> np.ndarray:
        return self.array()[index : index + dim]

    def sample_index(self, rng: np.random.Generator, dim: int, n: int) -> np.ndarray:
        return rng.integers(0, self.size - dim + 1, size=n, dtype=np.int64)


_NOISE: dict[tuple[int, int], np.ndarray] = {}


class GenomeStore:
    """Worker-local state used to materialise genomes: the net, broadcast vectors, caches.

    ``keep``: seed chains whose weights survive a call (the best by return; see SeedChains).
    What the last two calls kept is cached, so an elite-validation call in between does not
    evict the parents of the next generation.
    """

    def __init__(self, net: PolicyNet, keep: int = 32) -> None:
        self.net, self.keep = net, keep
        self.shared: dict[str, np.ndarray] = {}
        self.chains: dict[Chain, np.ndarray] = {}
        self.recent: dict[Chain, np.ndarray] = {}  # what the last call kept


class GenomeBatch(ABC):
    """K genomes in a compact form; ``materialise(i, store)`` -> (P,) float32 weights."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def select(self, index: np.ndarray) -> GenomeBatch:
        """The genomes at integer positions ``index``, in that order."""

    @abstractmethod
    def materialise(self, i: int, store: GenomeStore) -> np.ndarray: ...

    def end(self, store: GenomeStore, fitness: np.ndarray) -> None:  # noqa: B027  (optional)
        """Called after a call's episodes with the mean returns (e.g. to choose what to cache)."""

    @abstractmethod
    def nbytes(self) -> int:
        """Bytes that cross a process boundary for this batch (for the records)."""

    def assign(self, workers: int, owners: dict[Any, int]) -> list[np.ndarray]:
        """Positions for each worker: ``workers`` contiguous, balanced chunks by default."""
        bounds = np.linspace(0, len(self), workers + 1).round().astype(int)
        return [np.arange(a, b) for a, b in itertools.pairwise(bounds)]


@dataclass
class SeedChains(GenomeBatch):
    """Deep GA genomes: ``theta = init(seed0) + sum_i power_i * N(0, I; seed_i)`` in order.

    Rebuilding repeats the same float32 operations, so weights are bit-identical however much
    came from a cache. A worker caches the ancestors it builds during a call and, after it,
    keeps the ``store.keep`` best genomes by return (the GA's parents-to-be, when keep >= T);
    the process and Ray backends send children to the worker that holds their parent, so a
    child usually costs one noise draw.
    """

    chains: list[Chain]

    def __len__(self) -> int:
        return len(self.chains)

    def select(self, index: np.ndarray) -> SeedChains:
        return SeedChains([self.chains[i] for i in index])

    def nbytes(self) -> int:
        return sum(chain_nbytes(c) for c in self.chains)

    def materialise(self, i: int, store: GenomeStore) -> np.ndarray:
        return chain_params(self.chains[i], store)

    def end(self, store: GenomeStore, fitness: np.ndarray) -> None:
        best = [self.chains[i] for i in np.argsort(-fitness, kind="stable")[: store.keep]]
        kept = {c: chain_params(c, store) for c in dict.fromkeys(best)}
        store.chains = {**store.recent, **kept}  # ancestors built during the call are dropped
        store.recent = kept

    def assign(self, workers: int, owners: dict[Any, int]) -> list[np.ndarray]:
        """Each chain to the worker holding its parent (or itself), within balanced capacity."""
        capacity = -(-len(self) // workers)
        slots: list[list[int]] = [[] for _ in range(workers)]
        rest = []
        for i, chain in enumerate(self.chains):
            owner = owners.get(chain, owners.get(chain[:-1]))
            if owner is not None and owner < workers and len(slots[owner]) < capacity:
                slots[owner].append(i)
            else:
                rest.append(i)
        for i in rest:  # to the least loaded worker (first on ties): deterministic
            min(slots, key=len).append(i)
        return [np.asarray(s, dtype=np.int64) for s in slots]


def chain_nbytes(chain: Chain) -> int:
    return 8 + 12 * (len(chain) - 1)  # int64 init seed + (int64 seed, float32 power) each


def chain_params(chain: Chain, store: GenomeStore) -> np.ndarray:
    """Weights of one seed chain from its longest cached prefix; its parent is cached too
    (siblings share it; caching every ancestor of a long chain would cost L x P floats)."""
    start = len(chain)
    while start > 0 and chain[:start] not in store.chains:
        start -= 1
    if start == len(chain):
        return store.chains[chain].copy()
    if start == 0:
        theta, start = store.net.init_params(int(chain[0])), 1
    else:
        theta = store.chains[chain[:start]].copy()
    for j in range(start, len(chain)):
        if j == len(chain) - 1:
            store.chains.setdefault(chain[:j], theta.copy())
        seed, power = chain[j]
        noise = np.random.default_rng(int(seed)).standard_normal(theta.size, np.float32)
        theta += np.float32(power) * noise
    return theta


@dataclass
class DenseGenomes(GenomeBatch):
    """Full (K, P) float32 vectors; they cross process boundaries as they are."""

    params: np.ndarray

    def __len__(self) -> int:
        return len(self.params)

    def select(self, index: np.ndarray) -> DenseGenomes:
        return DenseGenomes(self.params[index])

    def nbytes(self) -> int:
        return int(self.params.nbytes)

    def materialise(self, i: int, store: GenomeStore) -> np.ndarray:
        return np.asarray(self.params[i], dtype=np.float32)


@dataclass
class Perturbations(GenomeBatch):
    """``shared[mean] + signs[i] * sigma * noise.get(indices[i], P)`` (sign 0: the mean)."""

    indices: np.ndarray
    signs: np.ndarray
    sigma: float
    noise: NoiseTable = field(default_factory=NoiseTable)
    mean: str = "mean"

    def __len__(self) -> int:
        return len(self.indices)

    def select(self, index: np.ndarray) -> Perturbations:
        return replace(self, indices=self.indices[index], signs=self.signs[index])

    def nbytes(self) -> int:
        return int(self.indices.nbytes + self.signs.nbytes) + 8

    def materialise(self, i: int, store: GenomeStore) -> np.ndarray:
        mean = store.shared[self.mean]
        scale = np.float32(self.signs[i] * self.sigma)
        return mean + scale * self.noise.get(int(self.indices[i]), mean.size)


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
        device: torch device for the batched forward.
        cache_genomes: seed-chain genomes a worker keeps between calls (>= the GA's T).
    """

    max_envs: int = 256
    max_episode_steps: int | None = None
    behaviour: str | None = None
    device: str = "cpu"
    cache_genomes: int = 32


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
        behaviour = BEHAVIOURS[self.options.behaviour] if self.options.behaviour else None
        descriptors: list[list[Any]] = [[None] * e_count for _ in range(k_count)]
        cap = self.options.max_episode_steps or 2**62
        n = min(self.options.max_envs, k_count * e_count)
        params = self._slots(n)[:n]
        obs_buf = np.zeros((n, *self.spec.obs_shape), dtype=np.float32)
        jobs = iter(np.ndindex(k_count, e_count))
        slot_job: list[tuple[int, int] | None] = [None] * n
        acc = [0.0] * n  # Python lists: numpy scalar indexing costs more than a CartPole step
        steps = [0] * n
        pending: dict[int, np.ndarray] = {}  # genomes with episodes still to start
        started = np.zeros(k_count, dtype=np.int64)
        stats = [0.0, np.zeros(obs_buf.shape[1:]), np.zeros(obs_buf.shape[1:])]

        def start(s: int) -> bool:
            job = next(jobs, None)
            slot_job[s] = job
            if job is None:
                return False
            k, e = job
            if k not in pending:
                pending[k] = batch.materialise(k, self.store)
            params[s].copy_(torch.from_numpy(pending[k]))
            started[k] += 1
            if started[k] == e_count:
                del pending[k]
            obs, _ = self.envs[s].reset(seed=int(seeds[k, e]))
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
        while n_live:
            if n_live <= len(rows) // 2:
                rows = [s for s in rows if alive[s]]
                active = params[torch.as_tensor(rows, device=params.device)]
            obs_rows = obs_buf if len(rows) == n else obs_buf[rows]
            if collect_obs:
                seen = obs_rows[[alive[s] for s in rows]].astype(np.float64)
                stats[0] += len(seen)
                stats[1] += seen.sum(0)
                stats[2] += (seen * seen).sum(0)
            if obs_norm is not None:
                x = torch.from_numpy(normalise_obs(obs_rows, *obs_norm))
            else:
                x = obs_all if len(rows) == n else torch.from_numpy(obs_rows)
            with torch.no_grad():
                actions = self.net.population_act(active, x.to(params.device)).cpu().numpy()
            acts = actions.tolist() if self.spec.discrete else actions  # ints step faster
            envs = self.envs
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
        desc = None
        if behaviour is not None:
            desc = np.stack([np.stack(row) for row in descriptors]).astype(np.float32)
        obs_stats = ObsStats(stats[0], stats[1], stats[2]) if collect_obs else None
        batch.end(self.store, returns.mean(axis=1))
        remote = time.process_time() - cpu0
        return PopulationResult(
            returns, lengths, int(lengths.sum()), k_count * e_count, remote, desc, obs_stats
        )

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs = []


# -- backends ------------------------------------------------------------------------------------
class Evaluator:
    """``vector`` backend: one in-process :class:`RolloutWorker`. Subclasses distribute it."""

    def __init__(self, factory: EnvFactory, spec: NetSpec, options: RolloutOptions) -> None:
        self.factory, self.spec, self.options = factory, spec, options
        self.worker = RolloutWorker(factory, spec, options)

    @property
    def workers(self) -> int:
        return 1

    def broadcast(self, name: str, vector: np.ndarray) -> None:
        """Send a shared vector (e.g. the ES mean) to every worker, once per generation."""
        self.worker.broadcast(name, vector)

    def evaluate(
        self,
        batch: GenomeBatch,
        seeds: np.ndarray,
        obs_norm: tuple[np.ndarray, np.ndarray] | None = None,
        collect_obs: bool = False,
    ) -> PopulationResult:
        """Returns etc. for ``len(batch)`` genomes x ``seeds.shape[1]`` episodes.

        Args:
            batch: the genomes.
            seeds: (K, E) int reset seeds; episode (k, e) starts with ``reset(seed=seeds[k, e])``.
            obs_norm: (mean, std) to normalise observations with, or None.
            collect_obs: also return observation statistics (running normalisation).
        """
        if len(batch) != len(seeds):
            raise ValueError(f"{len(batch)} genomes but {len(seeds)} rows of seeds")
        result = self.worker.run(batch, np.asarray(seeds), obs_norm, collect_obs)
        result.cpu_seconds = 0.0  # this process's CPU is already on the budget's clock
        return result

    def close(self) -> None:
        self.worker.close()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Any, factory: EnvFactory, spec: NetSpec, options: RolloutOptions) -> None:
    """Process-backend worker loop: (method, args) in, result (or exception) out."""
    worker = RolloutWorker(factory, spec, options)
    while True:
        method, args = conn.recv()
        if method == "close":
            worker.close()
            conn.close()
            return
        try:
            conn.send((True, getattr(worker, method)(*args)))
        except Exception as error:  # sent back and re-raised in the parent
            conn.send((False, error))


class ProcessEvaluator(Evaluator):
    """``process`` backend: local worker processes (spawn); ``GenomeBatch.assign`` splits."""

    def __init__(
        self, factory: EnvFactory, spec: NetSpec, options: RolloutOptions, workers: int
    ) -> None:
        import multiprocessing as mp

        self.factory, self.spec, self.options = factory, spec, options
        context = mp.get_context("spawn")  # fork after torch/ALE init is unsafe
        self._owners: dict[Any, int] = {}
        self._recent_owners: dict[Any, int] = {}
        self.conns, self.procs = [], []
        for _ in range(workers):
            parent, child = context.Pipe()
            proc = context.Process(target=_serve, args=(child, factory, spec, options), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    @property
    def workers(self) -> int:
        return len(self.conns)

    def _call_all(self, calls: Sequence[tuple[str, tuple]]) -> list[Any]:
        for conn, call in zip(self.conns, calls, strict=False):  # calls may be fewer
            conn.send(call)
        out = [conn.recv() for conn in self.conns[: len(calls)]]
        for ok, value in out:
            if not ok:
                raise value
        return [value for _, value in out]

    def broadcast(self, name: str, vector: np.ndarray) -> None:
        self._call_all([("broadcast", (name, vector))] * self.workers)

    def evaluate(self, batch, seeds, obs_norm=None, collect_obs=False):
        seeds = np.asarray(seeds)
        if len(batch) != len(seeds):
            raise ValueError(f"{len(batch)} genomes but {len(seeds)} rows of seeds")
        parts = batch.assign(self.workers, self._owners)
        calls = [("run", (batch.select(p), seeds[p], obs_norm, collect_obs)) for p in parts]
        result = PopulationResult.concat(self._call_all(calls))
        order = np.concatenate(parts)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        if isinstance(batch, SeedChains):  # where genomes' weights are cached: last two calls
            owners = {batch.chains[i]: w for w, p in enumerate(parts) for i in p}
            self._owners, self._recent_owners = {**self._recent_owners, **owners}, owners
        return result.reorder(inverse)

    def close(self) -> None:
        for conn, proc in zip(self.conns, self.procs, strict=True):
            with contextlib.suppress(OSError):  # a dead worker: join / terminate below
                conn.send(("close", ()))
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
        self.conns, self.procs = [], []


class RayEvaluator(ProcessEvaluator):
    """``ray`` backend: the same worker as Ray actors (``address``: an existing cluster)."""

    def __init__(
        self,
        factory: EnvFactory,
        spec: NetSpec,
        options: RolloutOptions,
        workers: int,
        address: str | None = None,
        temp_dir: str | None = None,
    ) -> None:
        import tempfile

        import ray

        self.factory, self.spec, self.options = factory, spec, options
        self._owners: dict[Any, int] = {}
        self._recent_owners: dict[Any, int] = {}
        self._owns_ray = not ray.is_initialized()
        self._made_temp: str | None = None
        if self._owns_ray:
            # Short path: Ray's unix sockets live under it (108-byte limit); never the cwd.
            if temp_dir is None:
                temp_dir = self._made_temp = tempfile.mkdtemp(prefix="neb_ray_")
            kwargs: dict[str, Any] = {"address": address, "_temp_dir": temp_dir}
            if address is None:
                kwargs.update(num_cpus=workers, include_dashboard=False)
            ray.init(log_to_driver=False, configure_logging=False, **kwargs)
        actor = ray.remote(num_cpus=1)(RolloutWorker)
        self.actors = [actor.remote(factory, spec, options) for _ in range(workers)]

    @property
    def workers(self) -> int:
        return len(self.actors)

    def _call_all(self, calls: Sequence[tuple[str, tuple]]) -> list[Any]:
        import ray

        pairs = zip(self.actors, calls, strict=False)  # calls may be fewer than actors
        refs = [getattr(actor, m).remote(*args) for actor, (m, args) in pairs]
        return ray.get(refs)

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        if self._made_temp is not None:
            import shutil

            shutil.rmtree(self._made_temp, ignore_errors=True)


BACKENDS = ("vector", "process", "ray")


def make_evaluator(
    backend: str,
    factory: EnvFactory,
    spec: NetSpec,
    options: RolloutOptions | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    ray_temp_dir: str | None = None,
) -> Evaluator:
    """Build an evaluator; ``workers`` defaults to one per core (process/ray)."""
    import os

    options = options or RolloutOptions()
    n = workers or len(os.sched_getaffinity(0))
    if backend == "vector":
        return Evaluator(factory, spec, options)
    if backend == "process":
        return ProcessEvaluator(factory, spec, options, n)
    if backend == "ray":
        return RayEvaluator(factory, spec, options, n, ray_address, ray_temp_dir)
    raise ValueError(f"backend '{backend}' not in {BACKENDS}")

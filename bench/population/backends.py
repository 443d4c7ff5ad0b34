"""Population evaluation backends: K genomes x E episodes, one batched forward per env step.

``vector`` runs one :class:`~bench.population.rollout.RolloutWorker` in this process;
``process`` and ``ray`` run the same worker in local processes or Ray actors and split a
:class:`~bench.population.genomes.GenomeBatch` between them (``GenomeBatch.assign``). Episode
``(k, e)`` is reset with ``seeds[k, e]`` and policies are deterministic, so every backend and
worker count gives identical returns. Steps are agent steps; the budget multiplies by frame skip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bench.envs import EnvFactory
from bench.population.genomes import GenomeBatch, SeedChains
from bench.population.networks import NetSpec
from bench.population.obs_norm import ObsNorm
from bench.population.rollout import PopulationResult, RolloutOptions, RolloutWorker


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
        obs_norm: ObsNorm | None = None,
        collect_obs: bool = False,
    ) -> PopulationResult:
        """Returns etc. for ``len(batch)`` genomes x ``seeds.shape[1]`` episodes.

        Args:
            batch: the genomes.
            seeds: (K, E) int reset seeds; episode (k, e) starts with ``reset(seed=seeds[k, e])``.
            obs_norm: the normalisation to apply (after scaling), or None.
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

        self.factory, self.spec = factory, spec
        self.options = options = replace(options, torch_threads=1)  # a core per worker
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

        self.factory, self.spec = factory, spec
        self.options = options = replace(options, torch_threads=1)  # a core per actor
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
        # Ray hides GPUs (CUDA_VISIBLE_DEVICES="") from actors that reserve none, so a cuda
        # device needs a GPU share: the cluster's GPUs split evenly over the actors (at most 1).
        gpus = 0.0
        if options.device.startswith("cuda"):
            total = float(ray.cluster_resources().get("GPU", 0.0))
            if total <= 0:
                raise RuntimeError(f"device={options.device} but the Ray cluster has no GPU")
            gpus = min(1.0, int(total / workers * 1e4) / 1e4)  # Ray takes 4 decimals
        actor = ray.remote(num_cpus=1, num_gpus=gpus)(RolloutWorker)
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

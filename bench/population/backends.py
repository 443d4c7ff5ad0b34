"""Population evaluation backends: K genomes x E episodes, one batched forward per env step.

``vector`` runs one :class:`~bench.population.rollout.RolloutWorker` in this process;
``process`` and ``ray`` run the same worker in local processes or Ray actors and split a
:class:`~bench.population.genomes.GenomeBatch` between them (``GenomeBatch.assign``). Episode
``(k, e)`` is reset with ``seeds[k, e]`` and policies are deterministic, so every backend and
worker count gives identical returns. Steps are agent steps; the budget multiplies by frame skip.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bench.envs import EnvFactory
from bench.population.genomes import GenomeBatch, SeedChains
from bench.population.networks import NetSpec
from bench.population.obs_norm import ObsNorm
from bench.population.rollout import PopulationResult, RolloutOptions, RolloutWorker

log = logging.getLogger(__name__)

#: A worker that dies this many times in a row on one call fails the run (never a hang).
MAX_RESTARTS = 3


class WorkerDied(RuntimeError):
    """A worker process or Ray actor died on every retry of one call."""


# -- backends ------------------------------------------------------------------------------------
class Evaluator:
    """``vector`` backend: one in-process :class:`RolloutWorker`. Subclasses distribute it."""

    def __init__(self, factory: EnvFactory, spec: NetSpec, options: RolloutOptions) -> None:
        self.factory, self.spec, self.options = factory, spec, options
        self.worker = RolloutWorker(factory, spec, options)
        self.restarts = 0  # workers replaced after dying (process / ray backends)

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
        self._context = mp.get_context("spawn")  # fork after torch/ALE init is unsafe
        self._owners: dict[Any, int] = {}
        self._recent_owners: dict[Any, int] = {}
        self._broadcasts: dict[str, np.ndarray] = {}  # replayed to a replacement worker
        self.restarts = 0
        self.conns: list[Any] = [None] * workers
        self.procs: list[Any] = [None] * workers
        for i in range(workers):
            self._start(i)

    def _start(self, i: int) -> None:
        parent, child = self._context.Pipe()
        args = (child, self.factory, self.spec, self.options)
        proc = self._context.Process(target=_serve, args=args, daemon=True)
        proc.start()
        self.conns[i], self.procs[i] = parent, proc

    @property
    def workers(self) -> int:
        return len(self.conns)

    def _call_all(self, calls: Sequence[tuple[str, tuple]]) -> list[Any]:
        """Each call on its worker (calls may be fewer than workers); a worker that died is
        replaced and its call re-run: returns are a function of the call, not the worker."""
        for i, call in enumerate(calls):
            with contextlib.suppress(OSError):  # a dead worker: found out when receiving
                self.conns[i].send(call)
        out = [self._receive(i, call) for i, call in enumerate(calls)]
        for ok, value in out:
            if not ok:
                raise value  # the worker's own error (an env that crashes): the run's error
        return [value for _, value in out]

    def _receive(self, i: int, call: tuple[str, tuple]) -> tuple[bool, Any]:
        for attempt in range(MAX_RESTARTS + 1):
            try:
                return self.conns[i].recv()
            except (EOFError, OSError) as error:
                if attempt == MAX_RESTARTS:
                    raise WorkerDied(
                        f"worker {i} died {attempt + 1} times on '{call[0]}'"
                    ) from error
                self._replace(i)
                with contextlib.suppress(OSError):
                    self.conns[i].send(call)
        raise AssertionError("unreachable")

    def _replace(self, i: int) -> None:
        """A new worker in slot ``i``, given the broadcasts the others hold."""
        self.restarts += 1
        log.warning("population worker %d died (exit code %s): replaced, its share re-run",
                    i, self.procs[i].exitcode)  # fmt: skip
        self.procs[i].kill()
        self.procs[i].join(timeout=10)
        self._start(i)
        for name, vector in self._broadcasts.items():
            self.conns[i].send(("broadcast", (name, vector)))
            ok, value = self.conns[i].recv()
            if not ok:
                raise value
        self._forget_owner(i)

    def _forget_owner(self, i: int) -> None:
        """Worker ``i`` lost its genome cache: route nothing to it for its cache's sake."""
        self._owners = {k: w for k, w in self._owners.items() if w != i}
        self._recent_owners = {k: w for k, w in self._recent_owners.items() if w != i}

    def broadcast(self, name: str, vector: np.ndarray) -> None:
        self._broadcasts[name] = vector
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
        from bench.population.ray_backend import RayEvaluator

        return RayEvaluator(factory, spec, options, n, ray_address, ray_temp_dir)
    raise ValueError(f"backend '{backend}' not in {BACKENDS}")

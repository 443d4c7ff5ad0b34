"""The ``ray`` population backend: the rollout worker as Ray actors, on a local Ray it starts
or on an existing cluster (``ray_address``); an actor that dies is replaced and its share of the
generation re-run, as the process backend does (:mod:`bench.population.backends`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bench.envs import EnvFactory
from bench.population.backends import MAX_RESTARTS, ProcessEvaluator, WorkerDied, log
from bench.population.networks import NetSpec
from bench.population.rollout import RolloutOptions, RolloutWorker


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
        self._broadcasts: dict[str, np.ndarray] = {}
        self.restarts = 0
        self._owns_ray = not ray.is_initialized()
        self._made_temp: str | None = None
        if self._owns_ray:
            if address is None and temp_dir is None:
                # Short path: Ray's unix sockets live under it (108-byte limit); never the cwd.
                temp_dir = self._made_temp = tempfile.mkdtemp(prefix="neb_ray_")
            _connect(address, temp_dir, workers)
        # Ray hides GPUs (CUDA_VISIBLE_DEVICES="") from actors that reserve none, so a cuda
        # device needs a GPU share: the cluster's GPUs split evenly over the actors (at most 1).
        gpus = 0.0
        if options.device.startswith("cuda"):
            total = float(ray.cluster_resources().get("GPU", 0.0))
            if total <= 0:
                raise RuntimeError(f"device={options.device} but the Ray cluster has no GPU")
            gpus = min(1.0, int(total / workers * 1e4) / 1e4)  # Ray takes 4 decimals
        self._actor = ray.remote(num_cpus=1, num_gpus=gpus)(RolloutWorker)
        self.actors = [self._actor.remote(factory, spec, options) for _ in range(workers)]
        if address is not None:
            nodes = len(set(self.actor_nodes()))
            log.info("population: %d Ray actors on %d node(s) of %s", workers, nodes, address)

    def actor_nodes(self) -> list[str]:
        """The Ray node id each actor runs on (a cluster spreads them over its nodes)."""
        import ray

        return ray.get([a.__ray_call__.remote(_node_id) for a in self.actors])

    @property
    def workers(self) -> int:
        return len(self.actors)

    def _call_all(self, calls: Sequence[tuple[str, tuple]]) -> list[Any]:
        """As the process backend: an actor that died (killed, its node gone) is replaced and
        its call re-run; an exception raised inside the call is the run's error."""
        import ray

        pairs = zip(self.actors, calls, strict=False)  # calls may be fewer than actors
        refs = [getattr(actor, m).remote(*args) for actor, (m, args) in pairs]
        out = []
        for i, ((method, args), ref) in enumerate(zip(calls, refs, strict=True)):
            for attempt in range(MAX_RESTARTS + 1):
                try:
                    out.append(ray.get(ref))
                    break
                except ray.exceptions.RayActorError as error:
                    if attempt == MAX_RESTARTS:
                        raise WorkerDied(
                            f"actor {i} died {attempt + 1} times on '{method}'"
                        ) from error
                    self._replace(i)
                    ref = getattr(self.actors[i], method).remote(*args)
        return out

    def _replace(self, i: int) -> None:
        import ray

        self.restarts += 1
        log.warning("population actor %d died: replaced, its share re-run", i)
        with contextlib.suppress(Exception):  # already dead
            ray.kill(self.actors[i])
        self.actors[i] = self._actor.remote(self.factory, self.spec, self.options)
        for name, vector in self._broadcasts.items():
            ray.get(self.actors[i].broadcast.remote(name, vector))
        self._forget_owner(i)

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


def _node_id(_actor: Any) -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


# Ray rewrites a loopback address (127.0.0.1, localhost) to this machine's external one unless
# this is "0": a cluster started on 127.0.0.1 alone is joined with it set (README, Ray).
LOOPBACK_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _connect(address: str | None, temp_dir: str | None, workers: int) -> None:
    """Start a local Ray (``address`` None) or join a cluster: ``auto`` (the one ``ray start``
    left in RAY_TMPDIR, default /tmp/ray), ``host:port`` or the client's ``ray://host:port``.
    Joining passes no temp folder: the cluster owns its own, and ``auto`` is read from it."""
    import ray

    if address is None:
        ray.init(
            log_to_driver=False, configure_logging=False, _temp_dir=temp_dir,
            num_cpus=workers, include_dashboard=False,
        )  # fmt: skip
        return
    quiet = {} if address.startswith("ray://") else {"configure_logging": False}
    try:
        ray.init(address=address, log_to_driver=False, **quiet)
    except ConnectionError as error:
        cause = f" ({error.__cause__})" if error.__cause__ else ""  # e.g. the auth token's
        hint = ""
        if os.environ.get(LOOPBACK_VARIABLE) != "0":
            hint = (
                f"; a cluster bound to 127.0.0.1 only (ray start --node-ip-address=127.0.0.1)"
                f" is joined with {LOOPBACK_VARIABLE}=0 set, as it was started"
            )
        raise ConnectionError(
            f"cannot join the Ray cluster at '{address}': {error}{cause}{hint}"
        ) from error

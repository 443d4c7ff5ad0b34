"""Benchmark 2: parallel scaling of population evaluation, process and Ray backends.

One population (ES-style :class:`Perturbations`: the mean is broadcast once, then only noise
indices and signs cross to the workers) is evaluated by the ``vector`` backend (in-process, the
reference), the ``process`` backend with 1 and 2 workers, and the ``ray`` backend with 1 and 2
actors on a local Ray cluster of 2 CPUs started here (each actor reserves one CPU, so the
evaluators run one at a time). Each is warmed up first (process start, env construction, noise
table); the median of ``--repeats`` timed calls is reported. ``speedup`` is relative to the same
backend with one worker and ``efficiency`` = speedup / workers (target: process, 2 workers
>= 1.7x one worker).

What to expect on N cores: the work is embarrassingly parallel (no communication during a
call; a call sends K indices and returns K x E returns), so the speed-up is bounded by
(i) the slowest worker: genomes are split into N contiguous equal-count chunks and episode
lengths vary, so the call waits for the chunk with the most steps (the gap shrinks as K / N
grows); (ii) the per-call fixed cost (pickling, pipe / object-store round trip: ~1 ms process,
a few ms Ray), which matters only when a call is short; (iii) shared memory bandwidth and cache
for large networks. With K >> N and episodes of similar length, efficiency stays near 1 up to
the physical core count (not hyper-threads); below K / N ~ 16 it drops with the imbalance.
``step_imbalance`` (busiest worker's agent steps / the mean under that split) is deterministic,
and is also projected to 4-32 workers (``step_imbalance_by_workers`` in the JSON): the speed-up
on N cores is at most N / imbalance, e.g. CartPole, 512 genomes: 1.01 (2), 1.06 (4), 1.28 (8).

    python benchmarks/scaling.py                 # ~2 minutes on 2 quiet cores
    python benchmarks/scaling.py --tiny          # seconds
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

from bench.envs import EnvFactory, EnvSpec
from bench.population.backends import make_evaluator
from bench.population.genomes import NoiseTable, Perturbations
from bench.population.networks import NetSpec
from bench.population.rollout import RolloutOptions, default_max_envs

NOISE = NoiseTable(size=2_000_000, seed=7)  # small: every worker rebuilds it once


def cases(tiny: bool) -> list[tuple[str, EnvSpec, str, int, int | None]]:
    """(name, env, network, population K, episode cap)."""
    cartpole = EnvSpec("cartpole", "CartPole-v1", "classic")
    cheetah = EnvSpec("halfcheetah", "HalfCheetah-v5", "mujoco")
    if tiny:  # one case: the cost is starting 6 workers, not the episodes
        return [("cartpole/linear", cartpole, "linear", 32, 100)]
    return [("cartpole/linear", cartpole, "linear", 512, None),
            ("halfcheetah/mlp64-64", cheetah, "mlp", 64, 1000)]  # fmt: skip


def imbalance(batch: Perturbations, lengths: np.ndarray, workers: int) -> float:
    """Busiest worker's agent steps / the mean, for ``batch.assign``'s split (1.0: balanced)."""
    per_worker = [int(lengths[part].sum()) for part in batch.assign(workers, {})]
    return max(per_worker) / (sum(per_worker) / workers)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    repeats = 1 if args.tiny else args.repeats
    import ray

    temp = tempfile.mkdtemp(prefix="neb_ray_")  # short path: Ray's sockets live under it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False, _temp_dir=temp)  # fmt: skip
    rows: list[dict] = []
    projection: dict[str, dict[int, float]] = {}
    try:
        for name, env, kind, k, cap in cases(args.tiny):
            factory = EnvFactory(env)
            s = factory.spec
            spec = NetSpec.for_env(kind, s.observation_space, s.action_space, s.family,
                                   zero_init=False)  # fmt: skip
            net = spec.build()
            mean = net.init_params(0)
            rng = np.random.default_rng(0)
            batch = Perturbations(NOISE.sample_index(rng, net.num_params, k),
                                  np.where(np.arange(k) % 2, -1.0, 1.0), 0.05, NOISE)  # fmt: skip
            seeds = rng.integers(0, 2**31 - 1, size=(k, 1))
            slots = default_max_envs(net.dense, net.num_params)  # as a run would use
            options = RolloutOptions(max_envs=slots, max_episode_steps=cap)
            setups = [("vector", 1), ("process", 1), ("process", 2), ("ray", 1), ("ray", 2)]
            seconds: dict[tuple[str, int], list[float]] = {}
            steps = 0
            for backend, workers in setups:  # one at a time: Ray actors hold their CPUs
                with make_evaluator(backend, factory, spec, options, workers) as ev:
                    ev.broadcast("mean", mean)
                    ev.evaluate(batch, seeds)  # warm-up: env construction, noise table
                    seconds[backend, workers] = []
                    for _ in range(repeats):
                        start = time.perf_counter()
                        result = ev.evaluate(batch, seeds)
                        seconds[backend, workers].append(time.perf_counter() - start)
                        steps = result.steps  # the same for every backend (tests check it)
            median = {key: float(np.median(v)) for key, v in seconds.items()}
            lengths = result.lengths.sum(axis=1)
            for backend, workers in setups:
                one = median[backend, 1]
                t = median[backend, workers]
                rows.append({
                    "case": name, "backend": backend, "workers": workers, "genomes": k,
                    "steps": steps, "seconds": t, "steps_per_s": steps / t,
                    "speedup": one / t, "efficiency": one / t / workers,
                    "over_vector": median["vector", 1] / t,
                    "step_imbalance": imbalance(batch, lengths, workers),
                })  # fmt: skip
            # Noise-free projection to N cores: the busiest worker's share of the agent steps
            # under the backends' split (speed-up <= N / imbalance, before per-call costs).
            projection[name] = {n: imbalance(batch, lengths, n) for n in (2, 4, 8, 16, 32)}
            print(f"{name}: step imbalance by workers {projection[name]}", flush=True)
    finally:
        ray.shutdown()
    print(table(rows, ["case", "backend", "workers", "genomes", "steps", "seconds", "steps_per_s",
                       "speedup", "efficiency", "over_vector", "step_imbalance"]))  # fmt: skip
    write("scaling", rows, args.out, cores=len(os.sched_getaffinity(0)),
          target="process 2 workers: speedup >= 1.7",
          step_imbalance_by_workers=projection)  # fmt: skip


if __name__ == "__main__":
    main()

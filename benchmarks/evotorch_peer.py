"""Benchmark 3: population evaluation throughput, this harness vs EvoTorch's ``GymNE``.

Equal workloads, side by side in one process:

- the same K genomes (flat float32 vectors, identical on both sides: EvoTorch's
  ``parameterize_net`` uses the same weight-then-bias ``parameters_to_vector`` layout),
- the same policy function: ``linear`` (no bias, argmax) on CartPole-v1 and a 64-64 tanh MLP
  with a tanh output on HalfCheetah-v5 (ours scales tanh into the bounds [-1, 1], EvoTorch clips
  to them: the same actions),
- the same env built by ``gym.make`` with its default wrappers, 1 episode per genome, the same
  episode cap, observation normalisation OFF on both sides, no action noise, no reward shaping,
- the same number of cores: 1 (EvoTorch in-process, ``num_actors=None``; ours ``vector``) and,
  without ``--tiny``, 2 (EvoTorch ``num_actors=2`` Ray actors; ours ``process``, 2 workers).

Two measurements: ``evaluate`` (the fixed population evaluated once per repeat: the cleanest
comparison) and ``generations`` (G generations of a comparable ES loop: EvoTorch ``PGPE`` with
``popsize=K`` vs our OpenAI-ES ask/tell, mirrored, population K, shared noise table). Episode
resets are seeded on our side and not on EvoTorch's, so episode lengths differ slightly: the
figure is environment interactions per second (EvoTorch's own ``interaction_count``; ours
``PopulationResult.steps``), ours / theirs (target >= 1.5).

    python benchmarks/evotorch_peer.py           # ~3 minutes on 2 quiet cores
    python benchmarks/evotorch_peer.py --tiny    # seconds
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

from bench.envs import EnvFactory, EnvSpec
from bench.population.backends import Evaluator, make_evaluator
from bench.population.genomes import DenseGenomes, NoiseTable, Perturbations
from bench.population.networks import NetSpec
from bench.population.rollout import RolloutOptions, default_max_envs
from bench.strategies.openai_es import OpenAIESStrategy

NOISE = NoiseTable(size=2_000_000, seed=7)


@dataclass(frozen=True)
class Case:
    name: str
    env: EnvSpec
    kind: str
    theirs: str  # the same network in EvoTorch's string syntax
    genomes: int
    cap: int


def cases(tiny: bool) -> list[Case]:
    cartpole = EnvSpec("cartpole", "CartPole-v1", "classic")
    cheetah = EnvSpec("halfcheetah", "HalfCheetah-v5", "mujoco")
    linear = "Linear(obs_length, act_length, bias=False)"
    mlp = ("Linear(obs_length, 64) >> Tanh() >> Linear(64, 64) >> Tanh()"
           " >> Linear(64, act_length) >> Tanh()")  # fmt: skip
    k = 16 if tiny else 100
    cap = 50 if tiny else 1000
    return [Case("cartpole/linear", cartpole, "linear", linear, k, 500),
            Case("halfcheetah/mlp64-64", cheetah, "mlp", mlp, k // 2, cap)]  # fmt: skip


def gymne(case: Case, actors: int | None) -> Any:
    from evotorch.neuroevolution import GymNE

    return GymNE(env=case.env.id, network=case.theirs, observation_normalization=False,
                 num_episodes=1, episode_length=case.cap, num_actors=actors)  # fmt: skip


def theirs_evaluate(problem: Any, params: np.ndarray) -> tuple[int, float]:
    batch = problem.generate_batch(len(params))
    batch.set_values(torch.from_numpy(params))
    before = problem.interaction_count
    start = time.perf_counter()
    problem.evaluate(batch)
    elapsed = time.perf_counter() - start
    return problem.interaction_count - before, elapsed


def ours_evaluate(ev: Evaluator, params: np.ndarray, seed: int) -> tuple[int, float]:
    seeds = np.arange(len(params))[:, None] + seed
    start = time.perf_counter()
    result = ev.evaluate(DenseGenomes(params), seeds)
    return result.steps, time.perf_counter() - start


def theirs_generations(problem: Any, k: int, generations: int) -> tuple[int, float]:
    from evotorch.algorithms import PGPE

    searcher = PGPE(problem, popsize=k, center_learning_rate=0.05, stdev_learning_rate=0.1,
                    stdev_init=0.02)  # fmt: skip
    before = problem.interaction_count
    start = time.perf_counter()
    for _ in range(generations):
        searcher.step()
    return problem.interaction_count - before, time.perf_counter() - start


def ours_generations(
    ev: Evaluator, theta: np.ndarray, k: int, generations: int
) -> tuple[int, float]:
    strategy = OpenAIESStrategy(theta, 0.02, 0.05, 0.005, k // 2, NOISE)
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    for _ in range(generations):
        indices = strategy.ask(rng)
        ev.broadcast("mean", strategy.theta.astype(np.float32))
        batch = Perturbations(np.repeat(indices, 2), np.tile(np.array([1, -1], np.int8), k // 2),
                              strategy.sigma, NOISE)  # fmt: skip
        result = ev.evaluate(batch, rng.integers(0, 2**31 - 1, size=(k, 1)))
        strategy.tell(indices, result.fitness)
        steps += result.steps
    return steps, time.perf_counter() - start


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--cores", default="1,2", help="core counts to compare (--tiny: 1)")
    args = p.parse_args()
    torch.set_num_threads(1)
    repeats = 1 if args.tiny else args.repeats
    generations = 2 if args.tiny else 10
    core_counts = [1] if args.tiny else [int(c) for c in args.cores.split(",")]
    rows = []
    ray_started = False
    try:
        for cores in core_counts:
            if cores > 1 and not ray_started:
                import ray

                ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False,
                         configure_logging=False,
                         _temp_dir=tempfile.mkdtemp(prefix="neb_ray_"))  # fmt: skip
                ray_started = True
            for case in cases(args.tiny):
                factory = EnvFactory(case.env)
                s = factory.spec
                spec = NetSpec.for_env(case.kind, s.observation_space, s.action_space, s.family,
                                       zero_init=False)  # fmt: skip
                net = spec.build()
                rng = np.random.default_rng(0)
                params = np.stack([net.init_params(i) for i in range(case.genomes)])
                params += 0.1 * rng.standard_normal(params.shape, np.float32)
                problem = gymne(case, None if cores == 1 else cores)
                assert problem.solution_length == net.num_params, "different networks"
                slots = default_max_envs(net.dense, net.num_params)  # as a run would use
                options = RolloutOptions(max_envs=slots, max_episode_steps=case.cap)
                backend = "vector" if cores == 1 else "process"
                with make_evaluator(backend, factory, spec, options, cores) as ev:
                    ours_evaluate(ev, params[:4], 0)  # warm-up both sides
                    theirs_evaluate(problem, params[:4])
                    for what in ("evaluate", "generations"):
                        o_rate, t_rate, o_steps, t_steps = [], [], 0, 0
                        for r in range(repeats):  # interleaved
                            if what == "evaluate":
                                o_steps, o_s = ours_evaluate(ev, params, 1000 * r)
                                t_steps, t_s = theirs_evaluate(problem, params)
                            else:
                                o_steps, o_s = ours_generations(ev, params[0], case.genomes,
                                                                generations)  # fmt: skip
                                t_steps, t_s = theirs_generations(problem, case.genomes,
                                                                  generations)  # fmt: skip
                            o_rate.append(o_steps / o_s)
                            t_rate.append(t_steps / t_s)
                        ours, theirs = float(np.median(o_rate)), float(np.median(t_rate))
                        rows.append({
                            "case": case.name, "cores": cores, "measure": what,
                            "genomes": case.genomes, "cap": case.cap,
                            "ours_steps": o_steps, "theirs_steps": t_steps,
                            "ours_steps_per_s": ours, "theirs_steps_per_s": theirs,
                            "ours_over_theirs": ours / theirs,
                        })  # fmt: skip
                        print(f"{case.name} cores={cores} {what}: ours/theirs {ours / theirs:.2f}",
                              flush=True)  # fmt: skip
                if cores > 1:
                    problem.kill_actors()
    finally:
        if ray_started:
            import ray

            ray.shutdown()
    print(table(rows, ["case", "cores", "measure", "genomes", "ours_steps", "theirs_steps",
                       "ours_steps_per_s", "theirs_steps_per_s", "ours_over_theirs"]))  # fmt: skip
    workload = "same genomes, network, env and cap; 1 episode each; obs norm off on both"
    write("evotorch_peer", rows, args.out, target="ours_over_theirs >= 1.5", workload=workload)


if __name__ == "__main__":
    main()

"""Benchmark 9: what folding the observation normaliser in per step costs a population call.

Wong et al.'s normaliser takes in each time step's observations child by child
(``obs_norm.WONG_2024``, ``obs_norm_fold: step``): every lock-step normalises each row with the
statistics before it. Folding once per generation (``generation``) normalises a whole batch
with one mean and std. Per case, in one process, interleaved, median of ``--repeats``:
``Evaluator.evaluate`` (vector backend) of the paper's lambda of linear genomes x 1 episode,
with no normalisation, with ``generation`` and with ``step``, from the same statistics (those
of one earlier call). The genomes are zero, the ES family's initial mean: a linear policy's
actions then do not depend on its inputs, so every side plays the same episodes and only the
normalisation's cost differs. Reported: agent steps per second of each side (process CPU
time) and ``step_over_generation``, the throughput ratio (1.0 = free).

    python benchmarks/obs_norm_fold.py          # ~2 minutes on a quiet core
    python benchmarks/obs_norm_fold.py --tiny   # seconds
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

from bench.envs import EnvFactory, EnvSpec
from bench.population.backends import make_evaluator
from bench.population.genomes import DenseGenomes
from bench.population.networks import NetSpec
from bench.population.obs_norm import WONG_2024, RunningObsNorm
from bench.population.rollout import RolloutOptions

#: (name, env id, family, lambda: Wong et al.'s, bench/conf/algo_base/dense_es.yaml)
CASES = [
    ("cartpole", "CartPole-v1", "classic", 4),
    ("lunarlander", "LunarLander-v3", "classic", 32),
    ("halfcheetah", "HalfCheetah-v5", "mujoco", 18),
    ("walker2d", "Walker2d-v5", "mujoco", 52),
]


def steps_per_second(ev, batch: DenseGenomes, seeds: np.ndarray, norm) -> float:
    start = time.process_time()
    result = ev.evaluate(batch, seeds, norm, collect_obs=norm is not None)
    return result.steps / (time.process_time() - start)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    cases = CASES[:1] + CASES[2:3] if args.tiny else CASES
    calls = 1 if args.tiny else 4  # population calls per side and repeat
    options = RolloutOptions(max_episode_steps=50 if args.tiny else None)
    rows = []
    for name, env_id, family, lam in cases:
        factory = EnvFactory(EnvSpec(name, env_id, family))
        s = factory.spec
        spec = NetSpec.for_env("linear", s.observation_space, s.action_space, family)
        rng = np.random.default_rng(0)
        batch = DenseGenomes(np.zeros((lam, spec.build().num_params), np.float32))
        seeds = rng.integers(0, 2**31, (calls, lam, 1))
        norm = RunningObsNorm(spec.obs_shape, WONG_2024)
        with make_evaluator("vector", factory, spec, options) as ev:
            norm.update(ev.evaluate(batch, seeds[0], norm.current(), collect_obs=True).obs_stats)
            sides = {"none": None, "generation": norm.current(), "step": norm.for_rollouts()}
            rates = {k: [] for k in sides}
            for _ in range(args.repeats):
                for key, side in sides.items():
                    rates[key] += [steps_per_second(ev, batch, sd, side) for sd in seeds]
        row = {"case": f"{name}/linear x{lam}"}
        row.update({f"{k}_steps_per_s": float(np.median(v)) for k, v in rates.items()})
        row["step_over_generation"] = row["step_steps_per_s"] / row["generation_steps_per_s"]
        rows.append(row)
    columns = ["case", "none_steps_per_s", "generation_steps_per_s", "step_steps_per_s",
               "step_over_generation"]  # fmt: skip
    print(table(rows, columns))
    write("obs_norm_fold", rows, args.out, clock="process CPU time")


if __name__ == "__main__":
    main()

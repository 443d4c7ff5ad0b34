"""Benchmark 1: rollout throughput, the harness's population evaluation vs its two ingredients.

For each case, in one process and side by side (interleaved, median of ``--repeats``):

(a) ``env``: raw stepping of the same ``slots`` envs, built by ``bench.envs.EnvFactory`` exactly
    as the rollout worker builds them (training form, no Atari clipping / life loss), with
    pre-drawn random actions and a reset whenever an episode ends (or hits the same cap);
(b) ``forward``: the policy's batched population forward alone, ``slots`` genomes on ``slots``
    observations, per call;
(c) ``harness``: ``Evaluator.evaluate`` (vector backend) of K dense genomes x 1 episode.

(a') ``replay``: the same envs replaying, in the same order, exactly the env calls the harness
    made in an (untimed) recording run of (c): the same actions and the same resets.

Random actions and the policy's actions give different episode lengths and, in MuJoCo, different
physics costs per step (contacts), so (a) is not the same env work as (c); (a') is. Per agent
step: ``ideal = replay + forward / slots`` (the same env work plus an amortised batched forward).
Throughput ratios (1.0 = no overhead): ``harness_over_env`` = (a)/(c), ``harness_over_replay``
= (a')/(c) and ``harness_over_ideal`` = ideal/(c). Targets: >= 0.8 of ideal for every case,
>= 0.7 of raw stepping for linear / MLP policies. Genomes are :class:`DenseGenomes`, so (c)
measures the rollout machinery, not genome decoding (that is benchmark 5).

    python benchmarks/rollout_throughput.py            # ~3 minutes on a quiet core
    python benchmarks/rollout_throughput.py --tiny     # seconds
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

from bench.envs import EnvFactory, EnvSpec
from bench.population.backends import make_evaluator
from bench.population.genomes import DenseGenomes
from bench.population.networks import NetSpec
from bench.population.rollout import RolloutOptions, default_max_envs

# Wall clock by default; ``--clock cpu`` (this process's CPU time) is steadier on a shared machine,
# and equal to wall time on a quiet one, as every side of this benchmark runs on one thread.
CLOCK = time.perf_counter


@dataclass(frozen=True)
class Case:
    name: str
    env: EnvSpec
    net: str
    hidden: tuple[int, ...] = (64, 64)
    genomes: int = 256  # K (one episode each)
    slots: int = 0  # env slots in lock-step (0: the population default)
    cap: int | None = None  # agent-step cap per episode (on both sides)


def cases(tiny: bool) -> list[Case]:
    cartpole = EnvSpec("cartpole", "CartPole-v1", "classic")
    cheetah = EnvSpec("halfcheetah", "HalfCheetah-v5", "mujoco")
    pong_ram = EnvSpec("pong_ram", "ALE/Pong-v5", "atari_ram")
    pong = EnvSpec("pong", "ALE/Pong-v5", "atari")
    if tiny:
        return [
            Case("cartpole/linear", cartpole, "linear", genomes=64, slots=32),
            Case("halfcheetah/mlp64-64", cheetah, "mlp", genomes=16, slots=8, cap=50),
            Case("pong_ram/linear", pong_ram, "linear", genomes=8, slots=4, cap=50),
            Case("pong/nature_cnn", pong, "nature_cnn", genomes=2, slots=2, cap=10),
            Case("pong/large_cnn", pong, "large_cnn", genomes=2, slots=2, cap=5),
        ]
    # Slots as a run would use them (``default_max_envs``, sized to the cache: here 256 for
    # CartPole linear, 64 for Pong RAM linear, 32 for the 64-64 MLP, 16 for CNNs); ``--slots``
    # overrides them for a sweep.
    return [
        Case("cartpole/linear", cartpole, "linear", genomes=2048, slots=0),
        Case("halfcheetah/mlp64-64", cheetah, "mlp", genomes=256, slots=0, cap=200),
        Case("pong_ram/linear", pong_ram, "linear", genomes=64, slots=0, cap=400),
        Case("pong/nature_cnn", pong, "nature_cnn", genomes=32, slots=0, cap=100),
        Case("pong/large_cnn", pong, "large_cnn", genomes=32, slots=0, cap=50),
    ]


def make_spec(case: Case, factory: EnvFactory) -> NetSpec:
    s = factory.spec
    return NetSpec.for_env(case.net, s.observation_space, s.action_space, s.family,
                           hidden=case.hidden, zero_init=False)  # fmt: skip


def env_seconds_per_step(case: Case, factory: EnvFactory, steps: int, seed: int) -> float:
    """(a): ``steps`` random-action steps over ``case.slots`` envs, round-robin."""
    envs = [factory.make(None, train=True, atari_training_wrappers=False)
            for _ in range(case.slots)]  # fmt: skip
    space = envs[0].action_space
    space.seed(seed)
    actions = [space.sample() for _ in range(1024)]
    if hasattr(space, "n"):
        actions = [int(a) for a in actions]  # the worker steps with Python ints too
    for i, env in enumerate(envs):
        env.reset(seed=seed + i)
    lengths = [0] * case.slots
    cap = case.cap or 2**62
    start = CLOCK()
    done = 0
    while done < steps:
        for s, env in enumerate(envs):
            _, _, terminated, truncated, _ = env.step(actions[done % 1024])
            lengths[s] += 1
            if terminated or truncated or lengths[s] >= cap:
                env.reset(seed=seed + done)
                lengths[s] = 0
            done += 1
    elapsed = CLOCK() - start
    for env in envs:
        env.close()
    return elapsed / done


def record_env_calls(ev: Any, batch: DenseGenomes, seeds: np.ndarray) -> list[tuple]:
    """The worker's env calls, in order, for one (untimed) evaluation: (slot, action|None, seed)."""
    log: list[tuple] = []
    envs = ev.worker.envs
    for s, env in enumerate(envs):
        step, reset = env.step, env.reset

        def rec_step(action: Any, s: int = s, step: Any = step) -> Any:
            log.append((s, np.copy(action) if isinstance(action, np.ndarray) else action, None))
            return step(action)

        def rec_reset(*, seed: int | None = None, s: int = s, reset: Any = reset, **kw: Any) -> Any:
            log.append((s, None, seed))
            return reset(seed=seed, **kw)

        env.step, env.reset = rec_step, rec_reset  # instance attributes shadow the methods
    try:
        ev.evaluate(batch, seeds)
    finally:
        for env in envs:
            del env.step, env.reset
    return log


def replay_seconds_per_step(factory: EnvFactory, slots: int, log: list[tuple]) -> float:
    """(a'): the same env calls as the harness made (same actions, same resets), nothing else."""
    envs = [factory.make(None, train=True, atari_training_wrappers=False) for _ in range(slots)]
    for env in envs:  # untimed, as in (a): an env's first seeded reset loads the Atari ROM
        env.reset(seed=0)
    steps = sum(1 for _, action, _ in log if action is not None)
    start = CLOCK()
    for s, action, seed in log:
        if action is None:
            envs[s].reset(seed=seed)
        else:
            envs[s].step(action)
    elapsed = CLOCK() - start
    for env in envs:
        env.close()
    return elapsed / steps


def forward_seconds_per_call(case: Case, spec: NetSpec, params: np.ndarray) -> float:
    """(b): one batched forward of ``slots`` genomes on ``slots`` observations."""
    net = spec.build()
    p = torch.from_numpy(params[: case.slots].copy())
    obs = np.random.default_rng(0).integers(0, 255, (case.slots, *spec.obs_shape))
    x = torch.from_numpy(obs.astype(np.uint8 if spec.obs_scale != "vector" else np.float32))
    with torch.no_grad():
        net.population_act(p, x)  # warm-up
        calls, start = 0, CLOCK()
        while calls < 5 or CLOCK() - start < 0.2:
            net.population_act(p, x).numpy()
            calls += 1
    return (CLOCK() - start) / calls


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--cases", default="", help="comma-separated substrings of case names")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--slots", type=int, default=0, help="env slots for every case (0: default)")
    args = p.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)  # as each worker does
    repeats = 1 if args.tiny else args.repeats
    rows = []
    wanted = [w for w in args.cases.split(",") if w]
    for case in cases(args.tiny):
        if wanted and not any(w in case.name for w in wanted):
            continue
        factory = EnvFactory(case.env)
        spec = make_spec(case, factory)
        net = spec.build()
        slots = args.slots or case.slots or default_max_envs(net.dense, net.num_params)
        case = replace(case, slots=min(slots, case.genomes))  # as the worker: min(slots, K x E)
        params = np.stack([net.init_params(i) for i in range(case.genomes)])
        params += 0.05 * np.random.default_rng(0).standard_normal(params.shape, np.float32)
        seeds = np.arange(case.genomes)[:, None]
        options = RolloutOptions(max_envs=case.slots, max_episode_steps=case.cap)
        env_s, replay_s, fwd_s, harness_s, steps = [], [], [], [], 0
        with make_evaluator("vector", factory, spec, options) as ev:
            ev.evaluate(DenseGenomes(params[: case.slots]), seeds[: case.slots])  # warm-up
            for r in range(repeats):  # interleaved (c), (a), (a'), (b)
                start = CLOCK()
                result = ev.evaluate(DenseGenomes(params), seeds + 1000 * r)
                harness_s.append((CLOCK() - start) / result.steps)
                steps = result.steps
                env_s.append(env_seconds_per_step(case, factory, steps, seed=r))
                log = record_env_calls(ev, DenseGenomes(params), seeds + 1000 * r)
                replay_s.append(replay_seconds_per_step(factory, case.slots, log))
                fwd_s.append(forward_seconds_per_call(case, spec, params))
        env, replay, fwd, harness = (
            float(np.median(v)) for v in (env_s, replay_s, fwd_s, harness_s)
        )
        ideal = replay + fwd / case.slots
        rows.append({
            "case": case.name, "params": net.num_params, "slots": case.slots,
            "genomes": case.genomes, "steps": steps,
            "env_steps_per_s": 1 / env, "replay_steps_per_s": 1 / replay,
            "forward_ms": 1e3 * fwd, "ideal_steps_per_s": 1 / ideal,
            "harness_steps_per_s": 1 / harness, "harness_over_env": env / harness,
            "harness_over_replay": replay / harness, "harness_over_ideal": ideal / harness,
        })  # fmt: skip
        print(f"{case.name}: harness/env {env / harness:.2f}, harness/replay {replay / harness:.2f}"
              f", harness/ideal {ideal / harness:.2f}", flush=True)  # fmt: skip
    columns = ["case", "params", "slots", "steps", "env_steps_per_s", "replay_steps_per_s",
               "forward_ms", "ideal_steps_per_s", "harness_steps_per_s", "harness_over_env",
               "harness_over_replay", "harness_over_ideal"]  # fmt: skip
    print(table(rows, columns))
    write("rollout_throughput", rows, args.out, clock=args.clock,
          targets="harness_over_ideal >= 0.8 (all); harness_over_env >= 0.7 (linear, mlp)",
          ideal="replay + forward / slots")  # fmt: skip


if __name__ == "__main__":
    main()

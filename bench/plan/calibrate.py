"""Short bursts of real training on this machine: what the planner's predictions rest on.

Population methods: the run's own network, strategy, observation normalisation and rollout
worker (``vector`` backend, one core) evaluate the first generation's genomes for a second or
so. SB3 algorithms: a real ``learn()`` of the run's model, timed over whole collect-and-update
cycles from the first rollout at or past ``learning_starts`` (their updates are their cost).
Both then score their initial policy through the harness's own ``evaluate`` for the
evaluation rate. Times are CPU seconds of this process (see ``rates.py``).

Once per machine, the same population evaluation runs on one and on two worker processes:
the scaling efficiency (``Scaling``).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from bench.envs import EnvFactory, EnvSpec, EvalProtocol
from bench.evaluation import evaluate
from bench.interface import Policy, TrainContext
from bench.loggers import sb3_logger
from bench.plan.rates import Rates, Scaling
from bench.population.backends import make_evaluator
from bench.population.genomes import DenseGenomes, GenomeBatch
from bench.population.method import SEED_HIGH, PopulationMethod
from bench.population.networks import NetSpec
from bench.population.rollout import RolloutOptions
from bench.registry import algo_class, build, config_params
from bench.sb3.adapter import NormalizedPolicy, SB3Algorithm

TRAIN_SHARE = 0.7  # of the calibration seconds: the training burst; the rest times evaluation
FIRST_CAP = 4  # agent steps per episode in the first, untimed call (it makes the envs)
TIMED_CAP = 64  # agent steps per episode in timed calls, at least (see _rollout_rate)
EVAL_PROBE_STEPS = 200  # an Atari probe episode's cap (real ones run thousands of steps)
WARMUP_STEPS = 1_000  # the calibration's learning_starts at most (a run's may be 100k)
BUFFER_CAP = 50_000  # the calibration's replay buffer at most (sampling costs the same)


def calibrate(cfg: DictConfig, seconds: float) -> Rates:
    """Rates of the job ``cfg`` on this machine, from about ``seconds`` of real training."""
    spec = EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))
    protocol = EvalProtocol(**OmegaConf.to_container(cfg.eval, resolve=True))
    factory = EnvFactory(spec, protocol)
    params = config_params(cfg.algo, spec.family, spec.id)
    started = time.perf_counter()
    with _torch_threads(int(cfg.torch_threads or 0)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3's advice on its settings: the run itself says it
        if issubclass(algo_class(cfg.algo.name), PopulationMethod):
            rates = _population(cfg.algo.name, params, factory, str(cfg.device), seconds)
        else:
            rates = _sb3(cfg.algo.name, params, factory, seconds)
    took = time.perf_counter() - started
    return replace(rates, seconds=round(took, 2), measured_on=f"{cfg.algo.name}/{spec.name}")


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """The job's ``torch_threads`` while calibrating (the bench process has torch's default)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _bare_context(factory: EnvFactory, device: str) -> TrainContext:
    """A context for building a run's parts: they read only the env, the seed and the device."""
    none = cast(Any, None)
    return TrainContext(factory, none, 0, none, none, device)


# -- population methods --------------------------------------------------------------------------
def _population(
    name: str, params: dict[str, Any], factory: EnvFactory, device: str, seconds: float
) -> Rates:
    began = time.process_time()
    algo = cast(PopulationMethod, build(name, {**params, "backend": "vector", "workers": None}))
    algo._build(_bare_context(factory, device))  # the run's own net, options and worker
    assert algo.net is not None and algo.evaluator is not None
    rng = np.random.default_rng(0)
    strategy = algo.make_strategy(algo.net, rng)
    batch = strategy.ask(rng)
    setup = time.process_time() - began
    for key, vector in strategy.shared().items():
        algo.evaluator.broadcast(key, vector.astype(np.float32))
    try:
        steps_per_second = _rollout_rate(algo, batch, rng, seconds * TRAIN_SHARE)
    finally:
        algo.evaluator.close()
    policy = algo.make_policy(strategy.best())
    eval_fps, cap = _eval_rate(policy, factory, seconds * (1 - TRAIN_SHARE))
    return Rates(
        train_fps=steps_per_second * factory.spec.frame_skip,
        eval_fps=eval_fps,
        population=len(batch),
        episodes=algo.episodes_per_eval,
        # the Deep GA's elite re-evaluation (its validation() exists only after a tell)
        validation_genomes=int(getattr(strategy, "elite_candidates", 0) or 0),
        validation_episodes=int(getattr(strategy, "elite_eval_episodes", 0) or 0),
        episode_cap_frames=cap,
        setup_seconds=setup,
    )


def _rollout_rate(
    algo: PopulationMethod, batch: GenomeBatch, rng: np.random.Generator, seconds: float
) -> float:
    """Agent steps per CPU-second of the worker's own path on one slot table of genomes.

    The first call is not timed (it makes the envs and decodes the genomes). Timed episodes
    run to at least ``TIMED_CAP`` steps, so resets and per-episode costs (no-op starts, a
    genome copied into its slot) weigh little more than in a run's long episodes: at a cap of
    16 the Deep GA's Atari net measured ~20% slower per step than at 64. (Timing the extra
    steps of a longer call over a shorter one cancels them exactly but was too noisy here.)
    """
    evaluator = algo.evaluator
    assert evaluator is not None
    worker, norm = evaluator.worker, algo.norm.current() if algo.norm is not None else None
    options = worker.options
    genomes = batch.select(np.arange(min(len(batch), options.max_envs)))
    own_cap = options.max_episode_steps or 2**62

    def timed(cap: int) -> tuple[int, float]:
        worker.options = replace(options, max_episode_steps=min(cap, own_cap))
        seeds = rng.integers(0, SEED_HIGH, size=(len(genomes), 1))
        began = time.process_time()
        result = evaluator.evaluate(genomes, seeds, norm, collect_obs=norm is not None)
        return result.steps, time.process_time() - began

    timed(FIRST_CAP)
    cap, steps, cpu = TIMED_CAP, 0, 0.0
    deadline = time.perf_counter() + 20 * seconds + 30  # a stalled burst ends, not the plan
    while not steps or (cpu < seconds and time.perf_counter() < deadline):
        more, took = timed(cap)
        steps, cpu = steps + more, cpu + took
        if took < seconds / 4:
            cap *= 2
    worker.options = options
    return steps / max(cpu, 1e-9)


# -- evaluation ------------------------------------------------------------------------------------
def _eval_rate(policy: Policy, factory: EnvFactory, seconds: float) -> tuple[float, int]:
    """Evaluation frames per CPU-second through ``evaluate`` (env making subtracted: a real
    evaluation makes one env for all its episodes), and the env's episode cap in frames."""
    spec = factory.spec
    probe = replace(factory.protocol, episodes=1)
    if spec.is_atari:
        probe = replace(probe, max_episode_frames=EVAL_PROBE_STEPS * spec.frame_skip)
    make_seconds, cap = _make_cost(factory)
    frames, cpu, episode = 0, 0.0, 0
    deadline = time.perf_counter() + 20 * seconds + 30
    while frames == 0 or (cpu < seconds and time.perf_counter() < deadline):
        one = EnvFactory(spec, replace(probe, seed=probe.seed + episode))
        began = time.process_time()
        result = evaluate(policy, one)
        cpu += max(time.process_time() - began - make_seconds, 1e-6)
        frames, episode = frames + result.frames, episode + 1
    return frames / cpu, cap


def _make_cost(factory: EnvFactory) -> tuple[float, int]:
    """CPU seconds to make one evaluation env, and its time limit in frames (0: none)."""
    began = time.process_time()
    env = factory.make(seed=0, train=False)
    took = time.process_time() - began
    limit = env.spec.max_episode_steps if env.spec is not None else None
    env.close()
    return took, int(limit or 0) * factory.spec.frame_skip


# -- stable-baselines3 -----------------------------------------------------------------------------
class _Enough(Exception):
    """Raised by :class:`_Stopwatch` to end ``learn()`` (ARS ignores a callback's False)."""


class _Stopwatch(BaseCallback):
    """Marks (timesteps, CPU seconds) at rollout starts: the first, the first at or past
    ``learning_starts``, and the last; ends ``learn()`` once ``seconds`` of learning passed.
    Rollout starts bound whole collect-and-update cycles, so an update is never cut in half."""

    def __init__(self, learning_starts: int, seconds: float) -> None:
        super().__init__()
        self.learning_starts, self.seconds = learning_starts, seconds
        self.first: tuple[int, float] | None = None
        self.learning: tuple[int, float] | None = None
        self.last: tuple[int, float] | None = None
        self.deadline = time.perf_counter() + 20 * seconds + 60

    def _on_rollout_start(self) -> None:
        mark = (self.model.num_timesteps, time.process_time())
        self.first = self.first or mark
        if self.learning is None:
            if mark[0] >= self.learning_starts:
                self.learning = mark
            return
        self.last = mark
        if mark[1] - self.learning[1] >= self.seconds:
            raise _Enough

    def _on_step(self) -> bool:
        if time.perf_counter() > self.deadline:
            raise _Enough
        return True

    def rates(self) -> tuple[float, float]:
        """(steps per CPU-second before learning starts, and after)."""
        first, learning = self.first, self.learning
        if first is None or learning is None:
            raise RuntimeError("calibration: learn() stopped before learning started")
        last = self.last or (self.model.num_timesteps, time.process_time())
        warmup = (learning[0] - first[0]) / max(learning[1] - first[1], 1e-9)
        return warmup, (last[0] - learning[0]) / max(last[1] - learning[1], 1e-9)


def _sb3(name: str, params: dict[str, Any], factory: EnvFactory, seconds: float) -> Rates:
    hyper = build(name, params).hyperparameters()  # SB3's defaults filled in
    starts = int(hyper.get("learning_starts") or 0)
    short = {"learning_starts": min(starts, WARMUP_STEPS)} if starts else {}
    if hyper.get("buffer_size"):
        short["buffer_size"] = min(int(hyper["buffer_size"]), BUFFER_CAP)
    algo = cast(SB3Algorithm, build(name, {**params, **short}))
    ctx = _bare_context(factory, "cpu")
    began = time.process_time()
    venv = algo._make_venv(ctx)
    model = algo.new_model(ctx, venv)
    setup = time.process_time() - began
    model.set_logger(sb3_logger(None))  # else SB3 makes an empty folder in the temp folder
    watch = _Stopwatch(short.get("learning_starts", 0), seconds * TRAIN_SHARE)
    with contextlib.suppress(_Enough):
        model.learn(total_timesteps=10**9, callback=watch, progress_bar=False)
    warmup, learning = watch.rates()
    policy = NormalizedPolicy(model, venv) if isinstance(venv, VecNormalize) else model
    eval_fps, cap = _eval_rate(policy, factory, seconds * (1 - TRAIN_SHARE))
    venv.close()
    skip = factory.spec.frame_skip
    return Rates(
        train_fps=learning * skip,
        eval_fps=eval_fps,
        warmup_fps=warmup * skip if starts else 0.0,
        warmup_frames=starts * skip,
        episode_cap_frames=cap,
        setup_seconds=setup,
    )


# -- scaling ---------------------------------------------------------------------------------------
def measure_scaling(seconds: float) -> Scaling:
    """CartPole, MLP 64-64, 256 genomes, on one process worker and on two, interleaved call
    by call (a busy machine slows both alike); the ratio of the totals."""
    factory = EnvFactory(EnvSpec("cartpole", "CartPole-v1", "classic"))
    spec = factory.spec
    net = NetSpec.for_env("mlp", spec.observation_space, spec.action_space, spec.family,
                          hidden=(64, 64), zero_init=False)  # fmt: skip
    rng = np.random.default_rng(0)
    genomes = DenseGenomes(
        rng.normal(0.0, 0.5, size=(256, net.build().num_params)).astype(np.float32)
    )
    options = RolloutOptions(max_envs=64, max_episode_steps=200)
    started = time.perf_counter()
    sides = [make_evaluator("process", factory, net, options, n) for n in (1, 2)]
    totals = np.zeros((2, 3))  # per side: agent steps, worker CPU seconds, wall seconds
    try:
        seeds = np.arange(len(genomes))[:, None]
        for evaluator in sides:
            evaluator.evaluate(genomes, seeds)  # untimed: the workers start and make their envs
        while totals[:, 2].sum() < seconds:
            seeds = seeds + len(genomes)
            for side, evaluator in enumerate(sides):
                began = time.perf_counter()
                result = evaluator.evaluate(genomes, seeds)
                totals[side] += (result.steps, result.cpu_seconds, time.perf_counter() - began)
    finally:
        for evaluator in sides:
            evaluator.close()
    per_cpu, per_wall = totals[:, 0] / totals[:, 1], totals[:, 0] / totals[:, 2]
    return Scaling(
        cpu_efficiency=round(float(per_cpu[1] / per_cpu[0]), 3),
        wall_speedup=round(float(per_wall[1] / per_wall[0]), 3),
        seconds=round(time.perf_counter() - started, 2),
    )

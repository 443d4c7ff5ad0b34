"""What each job will cost, and a sweep's wall-clock over N cores.

A job's training takes its set-up (building the net, strategy or SB3 model, measured) plus
``frames / rate`` core-seconds (off-policy SB3: its ``learning_starts`` at the faster
collection rate), cut by its ``wall_seconds`` / ``cpu_seconds`` limits. A core beside other
busy cores (jobs side by side, a generation's workers) does e of a lone core's work per
CPU-second: e is the measured two-worker efficiency, used for any number of cores
(extrapolated beyond this machine). A population job on k > 1 cores splits each generation
over k workers and runs ``k x balance`` times as fast as on one busy core, balance being an
even share of the generation's episodes over the busiest worker's (:func:`balance`). SB3 jobs
use one core. Evaluation runs in the job's own process, on one core: evaluations x episodes x
episode frames at the measured evaluation rate. Jobs start in the sweep's order, each on the
first free slot (how Hydra's launchers hand them out); the sweep's wall-clock is when the last
one ends."""

from __future__ import annotations

import heapq
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from bench.envs import EnvSpec
from bench.interface import IncompatibleError
from bench.plan.rates import Rates, Scaling
from bench.population.method import PopulationMethod
from bench.records import RunFolder
from bench.registry import algo_class, build, config_params
from bench.run import outside_paper_seeds, run_dir_of, scaled_limits

JOB_OVERHEAD_SECONDS = 0.6  # harness seconds a job besides training (BENCHMARKS.md 6: 0.54-0.60)
UNKNOWN_EPISODE_FRAMES = 1_000  # evaluation episode length for an env without a time limit


@dataclass(frozen=True)
class Job:
    """One job of the sweep as the planner sees it.

    Attributes:
        cfg: its composed config.
        population: a population method (its generations can split over worker cores).
        own_cores: cores it uses as configured (``process`` / ``ray`` workers, else 1).
        frames: its frame budget, ``scale`` applied.
        eval_cap_frames: the protocol's episode cap (Atari), else 0 (the env's time limit).
        skipped: why it will not train (cannot act, seeds_per_algo, already completed).
    """

    cfg: DictConfig
    population: bool
    own_cores: int
    frames: int
    wall_limit: float | None
    cpu_limit: float | None
    eval_every: int
    eval_episodes: int
    eval_cap_frames: int
    skipped: str | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return str(self.cfg.algo.name), str(self.cfg.env.name)


@dataclass(frozen=True)
class Cost:
    """A job's predicted frames and seconds on ``cores`` cores."""

    job: Job
    cores: int
    frames: float
    eval_frames: float
    train_core_seconds: float
    eval_seconds: float
    train_wall_seconds: float
    balance: float = 1.0  # an even share of a generation's episodes / the busiest worker's

    @property
    def wall_seconds(self) -> float:
        return self.train_wall_seconds + self.eval_seconds + JOB_OVERHEAD_SECONDS

    @property
    def core_seconds(self) -> float:
        return self.train_core_seconds + self.eval_seconds


def describe(cfg: DictConfig) -> Job:
    """The job's budget, evaluation schedule and resources, and whether it will train."""
    spec = EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))
    limits = scaled_limits(cfg)
    population = issubclass(algo_class(cfg.algo.name), PopulationMethod)
    params = config_params(cfg.algo, spec.family, spec.id)
    spread = params.get("backend", "vector") != "vector"
    workers = int(params.get("workers") or len(os.sched_getaffinity(0))) if spread else 1
    return Job(
        cfg=cfg,
        population=population,
        own_cores=workers if population else 1,
        frames=limits.frames,
        wall_limit=limits.wall_seconds,
        cpu_limit=limits.cpu_seconds,
        eval_every=limits.eval_every_frames,
        eval_episodes=int(cfg.eval.episodes),
        eval_cap_frames=int(cfg.eval.max_episode_frames) if spec.is_atari else 0,
        skipped=_skip_reason(cfg, spec, params),
    )


def _skip_reason(cfg: DictConfig, spec: EnvSpec, params: dict) -> str | None:
    if RunFolder(run_dir_of(cfg)).is_complete() and not cfg.overwrite:
        return "already completed (overwrite=true reruns it)"
    try:
        build(cfg.algo.name, params).check_compatible(spec)
    except IncompatibleError as error:
        return str(error)
    return outside_paper_seeds(cfg)


def balance(rounds: Sequence[tuple[int, int]], cores: int) -> float:
    """Even share of a generation's episodes / the busiest worker's: workers get whole genomes
    (``GenomeBatch.assign``), each with all its episodes, and every round waits for them all."""
    if cores <= 1 or not rounds:
        return 1.0
    even = sum(genomes * episodes for genomes, episodes in rounds) / cores
    busiest = sum(math.ceil(genomes / cores) * episodes for genomes, episodes in rounds)
    return even / busiest


def sharing(cores: int, side_by_side: bool, scaling: Scaling | None) -> float:
    """A core's work per CPU-second beside other busy cores, over a lone core's (the measured
    two-worker efficiency; 1 for a job alone on one core)."""
    busy = cores > 1 or side_by_side
    return scaling.efficiency if busy and scaling is not None else 1.0


def evaluations(frames: float, every: int) -> int:
    """The initial evaluation, one per crossed ``every`` point, and the final one."""
    if every <= 0:
        return 2
    return 1 + math.ceil(frames / every)


def cost(
    job: Job,
    rates: Rates,
    cores: int,
    scaling: Scaling | None,
    episode_frames: int | None,
    side_by_side: bool = False,
) -> Cost:
    """The job's frames and seconds on ``cores`` cores, with other jobs ``side_by_side`` on
    the machine or not (see the module docstring)."""
    setup, e = rates.setup_seconds, sharing(cores, side_by_side, scaling)
    spread = balance(rates.rounds(), cores)
    cpu = rates.train_core_seconds(job.frames) / e  # CPU seconds, sharing the machine
    if job.cpu_limit is not None:
        cpu = max(0.0, min(cpu, job.cpu_limit - setup))
    wall = cpu / (cores * spread)
    if job.wall_limit is not None and setup + wall > job.wall_limit:
        wall = max(0.0, job.wall_limit - setup)
        cpu = wall * cores * spread
    frames = min(float(job.frames), rates.frames_in(cpu * e))
    episode = episode_frames or job.eval_cap_frames or rates.episode_cap_frames
    eval_frames = evaluations(frames, job.eval_every) * job.eval_episodes
    eval_frames *= episode or UNKNOWN_EPISODE_FRAMES
    # a generation's workers idle while the job evaluates: only other jobs share its core
    eval_seconds = eval_frames / rates.eval_fps / sharing(1, side_by_side, scaling)
    return Cost(job, cores, frames, eval_frames, setup + cpu, eval_seconds, setup + wall, spread)


def job_cores(job: Job, cores: int | None, running: int) -> int:
    """Cores a job gets: as configured, or, planning for ``cores`` given, a population job
    also takes its share of them (its generation split over that many workers)."""
    if not job.population:
        return 1
    share = cores // max(running, 1) if cores else 1
    return max(job.own_cores, share)


def makespan(walls: Sequence[float], slots: int) -> float:
    """Jobs start in the given order, each on the first free slot; when the last one ends."""
    ends = [0.0] * max(1, min(slots, len(walls)))
    for wall in walls:
        heapq.heappush(ends, heapq.heappop(ends) + wall)
    return max(ends)

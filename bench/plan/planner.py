"""The plan of a run or sweep: its jobs, the rates they need (cached or calibrated now), their
costs and the sweep's wall-clock on the cores planned for."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from bench.envs import EnvSpec
from bench.plan import calibrate as calibration
from bench.plan.model import Cost, Job, cost, describe, job_cores, makespan
from bench.plan.rates import RateCache, Rates, Scaling, job_key
from bench.registry import config_params

SCALING_SECONDS = 2.0  # timed seconds of the one-vs-two-workers measurement (plus start-up)
PER_FAMILY = ("atari", "atari_ram")  # one game's rates stand for all (see rate_key)


@dataclass
class Plan:
    """Everything the report prints."""

    costs: list[Cost]
    skipped: list[Job]
    cores: int
    cores_source: str
    slots: int
    wall_seconds: float
    longest_first_seconds: float
    rates: dict[str, tuple[str, Rates]] = field(default_factory=dict)  # key: (label, rates)
    fresh: list[str] = field(default_factory=list)  # keys calibrated now
    scaling: Scaling | None = None
    scaling_fresh: bool = False
    cache_path: str = ""
    episode_frames: int | None = None


def make_plan(config: DictConfig, jobs: Sequence[DictConfig]) -> Plan:
    """Plan ``jobs`` (each a composed job config) under ``config.plan``'s settings."""
    settings = config.plan
    described = [describe(cfg) for cfg in jobs]
    running = [job for job in described if job.skipped is None]
    given = int(settings.cores) if settings.cores else None
    cores, source = (given, "plan.cores") if given else launcher_cores(config)
    cache = RateCache()
    plan = Plan([], [job for job in described if job.skipped], cores, source, 1, 0.0, 0.0)
    plan.cache_path, plan.episode_frames = str(cache.path), settings.eval_episode_frames
    by_job = [_rates(job, cache, settings, plan) for job in running]
    cores_of = [job_cores(job, given, len(running)) for job in running]
    side_by_side = _place(plan, cores_of)
    if side_by_side or max(cores_of, default=1) > 1:
        plan.scaling, plan.scaling_fresh = _scaling(cache, bool(settings.recalibrate))
    plan.costs = [
        cost(job, rates, c, plan.scaling, settings.eval_episode_frames, side_by_side)
        for job, rates, c in zip(running, by_job, cores_of, strict=True)
    ]
    walls = [c.wall_seconds for c in plan.costs] or [0.0]
    plan.wall_seconds = makespan(walls, plan.slots)
    plan.longest_first_seconds = makespan(sorted(walls, reverse=True), plan.slots)
    return plan


def _place(plan: Plan, cores_of: list[int]) -> bool:
    """Slots for the jobs on the planned cores (a job wider than one core takes that many);
    returns whether jobs run side by side."""
    widest = max(cores_of, default=1)
    plan.slots = max(1, plan.cores // widest)
    plan.cores = max(plan.cores, plan.slots * widest)
    return min(plan.slots, len(cores_of)) > 1


def launcher_cores(config: DictConfig) -> tuple[int, str]:
    """Jobs the configured launcher runs at once on this machine."""
    launcher = OmegaConf.select(config, "hydra.launcher") or {}
    target = str(launcher.get("_target_", ""))
    here = len(os.sched_getaffinity(0))
    if "joblib" in target:
        n = int(launcher.get("n_jobs") or -1)
        n = n if n > 0 else max(1, here + 1 + n)  # joblib: -1 is every core, -2 all but one
        return n, "the joblib launcher's n_jobs"
    if "submitit" in target and "Local" in target:
        return here, "submitit_local runs every job at once: this machine's cores"
    return 1, "the launcher runs one job at a time"


def rate_key(cfg: DictConfig) -> tuple[str, str]:
    """(label, cache key) of the rates a job needs. Atari games share their family's: with a
    CNN the forward pass dominates, and calibrating 13 games x 3 methods would take minutes."""
    spec = EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))
    env: dict[str, Any] = OmegaConf.to_container(cfg.env, resolve=True)  # type: ignore[assignment]
    label = spec.name
    if spec.family in PER_FAMILY:
        label = f"{spec.family} games"
        env = {k: v for k, v in env.items() if k not in ("name", "id")}
    settings = {
        "params": config_params(cfg.algo, spec.family, spec.id),
        "env": env,
        "device": cfg.device,
        "torch_threads": cfg.torch_threads,
    }
    return f"{cfg.algo.name}/{label}", job_key(str(cfg.algo.name), label, settings)


def _rates(job: Job, cache: RateCache, settings: DictConfig, plan: Plan) -> Rates:
    label, key = rate_key(job.cfg)
    if key in plan.rates:
        return plan.rates[key][1]
    rates = None if settings.recalibrate else cache.rates(key)
    if rates is None:
        print(f"plan: calibrating {label} on this machine ...", file=sys.stderr, flush=True)
        rates = calibration.calibrate(job.cfg, float(settings.calibration_seconds))
        cache.put_rates(key, rates)
        plan.fresh.append(key)
    plan.rates[key] = (label, rates)
    return rates


def _scaling(cache: RateCache, recalibrate: bool) -> tuple[Scaling, bool]:
    cached = None if recalibrate else cache.scaling()
    if cached is not None:
        return cached, False
    print("plan: measuring 1 vs 2 worker processes ...", file=sys.stderr, flush=True)
    scaling = calibration.measure_scaling(SCALING_SECONDS)
    cache.put_scaling(scaling)
    return scaling, True

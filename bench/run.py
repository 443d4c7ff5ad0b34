"""The Hydra app: one job trains one (algorithm, environment, seed, budget) and writes its record.

``bench algo=ppo env=cartpole seed=0 budget=smoke`` runs one job; ``bench -m ...`` sweeps.
A job whose record says ``completed`` is skipped (``overwrite=true`` reruns it); an interrupted
or failed job resumes from its last checkpoint.
"""

from __future__ import annotations

import logging
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from bench import records
from bench.budget import Budget, BudgetLimits
from bench.envs import EnvFactory, EnvSpec, EvalProtocol
from bench.interface import Algorithm, ConfigError, IncompatibleError, TrainContext
from bench.recorder import Progress, Recorder
from bench.records import Checkpoints, RunFolder
from bench.registry import algo_class, build, resolve_params

log = logging.getLogger("bench")
CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "configs")


class Interrupted(Exception):
    """SIGTERM / SIGINT reached the job: record ``interrupted`` and keep the checkpoint."""


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(f"signal {signal.Signals(signum).name}")


def run_dir_of(cfg: DictConfig) -> Path:
    return (
        Path(cfg.results_dir) / cfg.experiment / cfg.env.name / cfg.algo.name / f"seed={cfg.seed}"
    )


def _limits(cfg: DictConfig) -> BudgetLimits:
    budget = cfg.budget
    return BudgetLimits(
        frames=int(budget.frames),
        wall_seconds=budget.wall_seconds,
        cpu_seconds=budget.cpu_seconds,
        eval_every_frames=int(budget.eval_every_frames),
    )


def _identity(cfg: DictConfig, spec: EnvSpec, kind: str) -> dict[str, Any]:
    return {
        "experiment": cfg.experiment,
        "env": spec.name,
        "env_id": spec.id,
        "env_family": spec.family,
        "env_observation": spec.facts.observation,
        "algo": cfg.algo.name,
        "algo_kind": kind,
        "seed": int(cfg.seed),
        "budget": cfg.budget.name,
    }


def run(cfg: DictConfig, run_dir: Path | None = None, in_sweep: bool = False) -> dict[str, Any]:
    """Run one job and return its meta record. Raises on bad config unless ``in_sweep``."""
    folder = RunFolder(run_dir or run_dir_of(cfg))
    if folder.is_complete() and not cfg.overwrite:
        log.info("skipping %s: already %s (overwrite=true reruns)", folder.path, folder.status())
        return records.read_json(folder.meta)
    if cfg.overwrite:
        folder.clear()
    spec = EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))
    factory = EnvFactory(spec, EvalProtocol(**OmegaConf.to_container(cfg.eval, resolve=True)))
    meta = _meta(cfg, spec, factory)
    try:
        algo = _build_algorithm(cfg, spec)
        limits = _limits(cfg)
    except IncompatibleError as error:
        if not in_sweep:
            raise
        meta.update(status=records.STATUS_SKIPPED, reason=str(error), ended_at=records.now_iso())
        records.write_json(folder.meta, meta)
        log.warning("skipped: %s", error)
        return meta
    previous = records.read_json(folder.meta) if folder.meta.exists() else {}
    meta["hyperparameters"] = dict(algo.hyperparameters())
    meta["attempts"] = int(previous.get("attempts", 0)) + 1
    meta["status"] = records.STATUS_RUNNING
    folder.path.mkdir(parents=True, exist_ok=True)
    records.atomic_write_text(folder.config, OmegaConf.to_yaml(cfg, resolve=True))
    records.write_json(folder.meta, meta)
    return _train(cfg, folder, meta, algo, factory, limits, in_sweep)


def _meta(cfg: DictConfig, spec: EnvSpec, factory: EnvFactory) -> dict[str, Any]:
    """What a record says before training: identity, protocol, budget, provenance."""
    return {
        "schema_version": records.SCHEMA_VERSION,
        **_identity(cfg, spec, algo_class(cfg.algo.name).kind),
        "eval_protocol": factory.protocol.id,
        "frame_skip": spec.frame_skip,
        "budget_limits": {
            key: cfg.budget[key]
            for key in ("frames", "wall_seconds", "cpu_seconds", "eval_every_frames")
        },
        "versions": records.package_versions(),
        "git": records.git_state(),
        "machine": records.machine_info(),
        "started_at": records.now_iso(),
        "argv": sys.argv,
    }


def algorithm_params(cfg: DictConfig, spec: EnvSpec) -> dict[str, Any]:
    """The effective hyperparameters of ``cfg.algo`` on ``spec`` (see ``resolve_params``)."""
    tuned = cfg.algo.get("tuned")  # an algorithm may ship no tuned values
    return resolve_params(
        OmegaConf.to_container(tuned, resolve=True) if tuned is not None else None,
        OmegaConf.to_container(cfg.algo.params, resolve=True),
        spec.family,
        spec.id,
    )


def _build_algorithm(cfg: DictConfig, spec: EnvSpec) -> Algorithm:
    """The configured algorithm with its effective hyperparameters, checked against the env."""
    algo = build(cfg.algo.name, algorithm_params(cfg, spec))
    algo.check_compatible(spec)
    return algo


def _train(
    cfg: DictConfig,
    folder: RunFolder,
    meta: dict[str, Any],
    algo: Algorithm,
    factory: EnvFactory,
    limits: BudgetLimits,
    in_sweep: bool,
) -> dict[str, Any]:
    """Train under the budget, evaluate, and write the record whatever happens."""
    label = f"{factory.spec.name}/{cfg.algo.name}/seed={cfg.seed}"
    ctx = _context(cfg, folder, factory, limits, label)
    budget, recorder, checkpoints = ctx.budget, ctx.recorder, ctx.checkpoints
    torch.manual_seed(int(cfg.seed))
    old_handlers = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGTERM,)}
    try:
        policy = algo.train(ctx)
        stop_reason = budget.exhausted() or "algorithm"
        recorder.finish(policy)
    except (Interrupted, KeyboardInterrupt) as error:
        meta.update(status=records.STATUS_INTERRUPTED, error=repr(error))
        raise
    except Exception as error:
        meta.update(
            status=records.STATUS_FAILED, error=repr(error), traceback=traceback.format_exc()
        )
        if not in_sweep or cfg.fail_fast:
            raise
        log.error("run %s failed (recorded; the sweep goes on): %r", label, error)
        return meta
    else:
        summary = {
            **_identity(cfg, factory.spec, algo.kind),
            **recorder.summary(),
            **budget.used(),
            "stop_reason": stop_reason,
            "policy_parameters": algo.policy_size(),
            "eval_protocol": factory.protocol.id,
        }
        records.write_json(folder.summary, summary)
        meta.update(status=records.STATUS_COMPLETED, stop_reason=stop_reason)
        if not cfg.checkpoint.keep:
            checkpoints.clear()
        log.info(
            "%s: %s after %d frames (stopped by %s), final eval %.2f -> %s",
            label, meta["status"], budget.frames, stop_reason, summary["final_eval_return"],
            folder.path,
        )  # fmt: skip
        return meta
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        meta["ended_at"] = records.now_iso()
        meta["frames"] = budget.frames
        if checkpoints.loaded_frames is not None:
            meta["resumed_from_frames"] = checkpoints.loaded_frames
        records.write_json(folder.meta, meta)


def _context(
    cfg: DictConfig, folder: RunFolder, factory: EnvFactory, limits: BudgetLimits, label: str
) -> TrainContext:
    """The budget, recorder and checkpoints of one run, wired so one checkpoint holds all."""
    budget = Budget(limits, frame_skip=factory.spec.frame_skip)
    progress = Progress(limits.frames, label, cfg.progress.log_every_seconds)
    recorder = Recorder(folder, factory, budget, progress)
    checkpoints = Checkpoints(
        folder.checkpoints,
        _checkpoint_every(cfg, limits),
        cfg.checkpoint.every_seconds,
        cfg.checkpoint.max_replay_buffer_mb,
    )
    checkpoints.register("budget", budget)
    checkpoints.register("recorder", recorder)
    checkpoints.track_frames(lambda: budget.frames)
    return TrainContext(factory, budget, int(cfg.seed), recorder, checkpoints, cfg.device)


def _checkpoint_every(cfg: DictConfig, limits: BudgetLimits) -> int:
    every = cfg.checkpoint.every_frames
    if every is None:  # ten checkpoints per run by default
        return max(1, limits.frames // 10)
    return int(every)


def _in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="bench")
def main(cfg: DictConfig) -> None:
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        run(cfg, run_dir, in_sweep=_in_sweep())
    except (ConfigError, IncompatibleError) as error:
        log.error("%s", error)
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()

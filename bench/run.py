"""The Hydra app: one job trains one (algorithm, environment, seed, budget) and writes its record.

``bench algo=ppo env=cartpole seed=0 budget=smoke`` runs one job; ``bench -m ...`` sweeps.
A job whose record says ``completed`` is skipped (``overwrite=true`` reruns it); an interrupted
or failed job resumes from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra._internal.utils import get_args_parser  # the parser hydra.main uses
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from bench import CONFIG_DIR, records
from bench.budget import Budget, BudgetLimits
from bench.envs import EnvFactory, EnvSpec, EvalProtocol
from bench.interface import Algorithm, ConfigError, IncompatibleError, TrainContext
from bench.loggers import Loggers, open_loggers
from bench.paper_scores import RULES, PaperScores
from bench.paper_scores import rule as paper_rule
from bench.recorder import Progress, Recorder
from bench.records import Checkpoints, RunFolder
from bench.registry import algo_class, build, config_params
from bench.validate import USER_ERRORS, reject

log = logging.getLogger("bench")


class Interrupted(Exception):
    """SIGTERM / SIGINT reached the job: record ``interrupted`` and keep the checkpoint."""


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(f"signal {signal.Signals(signum).name}")


def _signals_to_catch() -> tuple[signal.Signals, ...]:
    """SIGTERM records the run interrupted, except in a submitit job: SLURM sends SIGTERM to
    a job it requeues, which submitit ignores on purpose; its preemption signal (USR2) requeues
    the job and exits by SystemExit, recorded as interrupted in ``_train``."""
    return () if os.environ.get("SUBMITIT_EXECUTOR") else (signal.SIGTERM,)


def run_dir_of(cfg: DictConfig) -> Path:
    experiment = Path(cfg.results_dir) / cfg.experiment_name
    return experiment / cfg.env.name / cfg.algo.name / f"seed={cfg.seed}"


def scaled_limits(cfg: DictConfig) -> BudgetLimits:
    """The budget times ``scale`` (a paper's budget shrunk for a small machine, recorded)."""
    budget, scale = cfg.budget, float(cfg.scale)
    if scale <= 0:
        raise ConfigError(f"scale must be > 0, got {scale}")

    def scaled(value: float | None) -> float | None:
        return None if value is None else float(value) * scale

    frames = round(budget.frames * scale)  # BudgetLimits refuses < 1
    return BudgetLimits(
        frames=frames,
        wall_seconds=scaled(budget.wall_seconds),
        cpu_seconds=scaled(budget.cpu_seconds),
        eval_every_frames=_scaled_eval_every(budget.frames, budget.eval_every_frames, frames),
    )


MIN_SCALED_EVAL_POINTS = 10


def _scaled_eval_every(frames: int, every: int, scaled_frames: int) -> int:
    """The evaluation interval of a scaled budget: the number of points shrinks with it.

    An evaluation costs the same episodes at any scale, so keeping the paper's 50 points on a
    budget x 0.02 makes evaluation cost 50 times more than training, relative to the paper's
    run. The points scale with the budget instead (evaluation keeps its share of the cost),
    down to ``MIN_SCALED_EVAL_POINTS`` a run (or the paper's count, if lower).
    """
    if not every or scaled_frames == frames:
        return int(every or 0)
    paper_points = frames / every
    points = max(min(paper_points, MIN_SCALED_EVAL_POINTS), paper_points * scaled_frames / frames)
    return max(1, round(scaled_frames / points))


def outside_paper_seeds(cfg: DictConfig) -> str | None:
    """Why this seed is not run (``seeds_per_algo``: the paper ran fewer), or None."""
    counts = cfg.get("seeds_per_algo")
    if not counts:
        return None
    n = counts.get(cfg.algo.name, counts.get("default"))
    if n is None or int(cfg.seed) < int(n):
        return None
    return f"seed {cfg.seed}: the experiment runs {n} seeds of {cfg.algo.name} (seeds_per_algo)"


def _identity(cfg: DictConfig, spec: EnvSpec, kind: str) -> dict[str, Any]:
    return {
        "experiment": cfg.experiment_name,
        "env": spec.name,
        "env_id": spec.id,
        "env_family": spec.family,
        "env_observation": spec.facts.observation,
        "algo": cfg.algo.name,
        "algo_kind": kind,
        "seed": int(cfg.seed),
        "budget": cfg.budget.name,
        "scale": float(cfg.scale),
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
        limits = scaled_limits(cfg)
    except IncompatibleError as error:
        if not in_sweep:
            raise
        return _skip(folder, meta, str(error))
    outside = outside_paper_seeds(cfg)
    if outside is not None:
        return _skip(folder, meta, outside)
    previous = records.read_json(folder.meta) if folder.meta.exists() else {}
    meta["paper_score"] = _paper_rule(cfg, algo)
    meta["hyperparameters"] = dict(algo.hyperparameters())
    meta["attempts"] = int(previous.get("attempts", 0)) + 1
    meta["status"] = records.STATUS_RUNNING
    folder.path.mkdir(parents=True, exist_ok=True)
    records.atomic_write_text(folder.config, OmegaConf.to_yaml(cfg, resolve=True))
    records.write_json(folder.meta, meta)
    return _train(cfg, folder, meta, algo, factory, limits, in_sweep)


def _skip(folder: RunFolder, meta: dict[str, Any], reason: str) -> dict[str, Any]:
    meta.update(status=records.STATUS_SKIPPED, reason=reason, ended_at=records.now_iso())
    records.write_json(folder.meta, meta)
    log.warning("skipped: %s", reason)
    return meta


def _meta(cfg: DictConfig, spec: EnvSpec, factory: EnvFactory) -> dict[str, Any]:
    """What a record says before training: identity, protocol, budget, provenance."""
    return {
        "schema_version": records.SCHEMA_VERSION,
        **_identity(cfg, spec, algo_class(cfg.algo.name).kind),
        "eval_protocol": factory.protocol.id,
        "frame_skip": spec.frame_skip,
        "budget_limits": dataclasses.asdict(scaled_limits(cfg)),  # scaled by ``scale``
        "versions": records.package_versions(),
        "git": records.git_state(),
        "machine": records.machine_info(),
        "started_at": records.now_iso(),
        "argv": sys.argv,
    }


def algorithm_params(cfg: DictConfig, spec: EnvSpec) -> dict[str, Any]:
    """The effective hyperparameters of ``cfg.algo`` on ``spec`` (see ``resolve_params``)."""
    return config_params(cfg.algo, spec.family, spec.id)


def _paper_rule(cfg: DictConfig, algo: Algorithm) -> str | None:
    """The paper rule this run records (``paper_score=``), or why it records none."""
    if not cfg.paper_score:
        return None
    paper_rule(cfg.paper_score)  # an unknown name is a ConfigError
    if cfg.paper_score not in algo.paper_score_rules:
        return f"not applicable: {cfg.algo.name} is scored by the harness's protocol only"
    return cfg.paper_score


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
    loggers = open_loggers(cfg, folder.path, resumed=int(meta.get("attempts", 1)) > 1)
    meta["loggers"] = loggers.record()  # the W&B run id, reused when this record resumes
    records.write_json(folder.meta, meta)
    ctx = _context(cfg, folder, factory, limits, label, meta["paper_score"] in RULES, loggers)
    budget, recorder, checkpoints = ctx.budget, ctx.recorder, ctx.checkpoints
    torch.manual_seed(int(cfg.seed))
    old_handlers = {s: signal.signal(s, _raise_interrupted) for s in _signals_to_catch()}
    try:
        policy = algo.train(ctx)
        stop_reason = budget.exhausted() or "algorithm"
        recorder.finish(policy)
    except (Interrupted, KeyboardInterrupt, SystemExit) as error:
        # SystemExit: submitit's preemption handler requeues the SLURM job, then exits
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
            **(ctx.paper.summary() if ctx.paper is not None else {}),
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
        loggers.close()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        meta["ended_at"] = records.now_iso()
        meta["frames"] = budget.frames
        if checkpoints.loaded_frames is not None:
            meta["resumed_from_frames"] = checkpoints.loaded_frames
        records.write_json(folder.meta, meta)


def _context(
    cfg: DictConfig,
    folder: RunFolder,
    factory: EnvFactory,
    limits: BudgetLimits,
    label: str,
    paper: bool,
    loggers: Loggers | None = None,
) -> TrainContext:
    """The budget, recorder, paper scores and checkpoints of one run, wired so one checkpoint
    holds all."""
    budget = Budget(limits, frame_skip=factory.spec.frame_skip)
    progress = Progress(limits.frames, label, cfg.progress.log_every_seconds)
    recorder = Recorder(folder, factory, budget, progress, loggers)
    checkpoints = Checkpoints(
        folder.checkpoints,
        _checkpoint_every(cfg, limits),
        cfg.checkpoint.every_seconds,
        cfg.checkpoint.max_replay_buffer_mb,
    )
    checkpoints.register("budget", budget)
    checkpoints.register("recorder", recorder)
    every = cfg.progress.log_every_seconds
    scores = PaperScores(cfg.paper_score, folder, factory, budget, every) if paper else None
    if scores is not None:
        checkpoints.register("paper_scores", scores)
    checkpoints.track_frames(lambda: budget.frames)
    return TrainContext(
        factory, budget, int(cfg.seed), recorder, checkpoints, cfg.device, scores, loggers
    )


def _checkpoint_every(cfg: DictConfig, limits: BudgetLimits) -> int:
    every = cfg.checkpoint.every_frames
    if every is None:  # ten checkpoints per run by default
        return max(1, limits.frames // 10)
    return int(every)


def _in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="bench")
def _hydra_main(cfg: DictConfig) -> None:
    if cfg.torch_threads:
        torch.set_num_threads(int(cfg.torch_threads))
    run(cfg, Path(HydraConfig.get().runtime.output_dir), in_sweep=_in_sweep())


PLAN_SHORT_FORMS = {"plan=true": "plan.run=true", "plan=false": "plan.run=false"}


def main() -> None:
    """``bench``: Hydra's app; a bad setting is one line on stderr and exit status 2."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # errors reach this frame, not Hydra's report
    # `plan=true` (the spelling) cannot be a Hydra value for the node `plan`, whose
    # keys `plan.cores=...` set: it is read as `plan.run=true`.
    sys.argv = [PLAN_SHORT_FORMS.get(arg.lower(), arg) for arg in sys.argv]
    parser = get_args_parser()  # Hydra's own command line, parsed first for a one-line error
    parser.error = lambda message: reject(ConfigError(message))  # type: ignore[method-assign]
    parser.parse_args()
    try:
        _hydra_main()
    except USER_ERRORS as error:
        reject(error)


if __name__ == "__main__":
    main()

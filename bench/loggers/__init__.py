"""Logging where researchers look: TensorBoard and Weights & Biases beside the CSV record.

``logger=`` picks the backends (``bench/conf/logger/``): ``csv`` (the default), ``tensorboard``,
``wandb``, or several at once (``logger=[tensorboard,wandb]``). ``metrics.csv`` and
``generations.csv`` are the record and are always written (by :class:`bench.recorder.Recorder`);
a backend mirrors the same rows, as the recorder writes them, to a tool's own files inside the
run folder:

- ``tensorboard/frames/``  ``eval/<metrics.csv column>``, ``generation/<generations.csv column>``
  against frames (the step);
- ``tensorboard/wall_ms/`` the same rows as ``eval_by_wall_ms/...``, ``generation_by_wall_ms/...``
  against training wall-clock milliseconds (evaluation time excluded, resumes included);
- ``tensorboard/sb3/``     stable-baselines3's own scalars (``train/loss``, ...) against SB3's
  ``num_timesteps`` (agent steps);
- ``wandb/``               an offline W&B run (unless ``logger.wandb.mode=online``) whose id is
  recorded in ``meta.json`` and reused when the run resumes.

A resumed run continues from its checkpoint; rows the interrupted attempt logged after that
checkpoint are redone. TensorBoard hides the stale ones (``purge_step``); W&B cannot, so they
stay beside the redone ones there (the CSV record has only the redone ones).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from stable_baselines3.common.logger import KVWriter
from stable_baselines3.common.logger import Logger as SB3Logger

from bench.interface import ConfigError
from bench.loggers.base import Backend, Logger, scalars
from bench.loggers.tensorboard import TensorBoardLogger
from bench.loggers.wandb_run import WandbLogger

__all__ = ["BACKENDS", "Logger", "Loggers", "TensorBoardLogger", "WandbLogger", "open_loggers",
           "sb3_logger", "scalars"]  # fmt: skip
log = logging.getLogger(__name__)


class Loggers:
    """The configured backends, fed together (the recorder's one logger)."""

    def __init__(self, backends: Mapping[str, Backend] | None = None) -> None:
        self.backends = dict(backends or {})

    def log_eval(self, row: Mapping[str, Any]) -> None:
        for backend in self.backends.values():
            backend.log_eval(row)

    def log_generation(self, row: Mapping[str, Any]) -> None:
        for backend in self.backends.values():
            backend.log_generation(row)

    def resume(self, frames: int, wall_seconds: float) -> None:
        for backend in self.backends.values():
            backend.resume(frames, wall_seconds)

    def close(self) -> None:
        """Close every backend; one that fails to close is logged, not raised."""
        for name, backend in self.backends.items():
            try:
                backend.close()
            except Exception:
                log.exception("closing the %s logger failed", name)

    def record(self) -> dict[str, Any]:
        """``meta.json``'s ``loggers`` entry: csv always, then each backend's own record."""
        return {"csv": {}, **{name: b.record for name, b in self.backends.items()}}

    def sb3_formats(self, resumed_at_step: int | None) -> list[KVWriter]:
        tensorboard = self.backends.get("tensorboard")
        if not isinstance(tensorboard, TensorBoardLogger):
            return []
        output = tensorboard.sb3_format(resumed_at_step)
        return [] if output is None else [output]


Opener = Callable[[Path, bool, Mapping[str, Any], DictConfig], Backend]
BACKENDS: dict[str, Opener] = {"tensorboard": TensorBoardLogger.open, "wandb": WandbLogger.open}


def open_loggers(cfg: DictConfig, run_dir: Path, resumed: bool) -> Loggers:
    """The backends ``cfg.logger`` names, writing into ``run_dir``.

    Args:
        cfg: the run's config; ``cfg.logger`` maps backend names to their options.
        run_dir: the run folder.
        resumed: an earlier attempt of this record ran (``meta.json``'s ``attempts`` > 1).
    """
    chosen = OmegaConf.to_container(cfg.get("logger") or {}, resolve=True)
    assert isinstance(chosen, dict)
    unknown = sorted(set(chosen) - {"csv", *BACKENDS})
    if unknown:
        raise ConfigError(f"unknown logger(s) {unknown}: choose from {['csv', *BACKENDS]}")
    opened: dict[str, Backend] = {}
    try:
        for name, opener in BACKENDS.items():
            if name in chosen:
                opened[name] = opener(Path(run_dir), resumed, chosen[name] or {}, cfg)
    except BaseException:
        Loggers(opened).close()
        raise
    return Loggers(opened)


def sb3_logger(loggers: Loggers | None, resumed_at_step: int | None = None) -> SB3Logger:
    """The logger an SB3 model writes its own scalars with (none unless TensorBoard is on).

    Args:
        loggers: the run's loggers (``ctx.loggers``).
        resumed_at_step: SB3's ``num_timesteps`` restored from a checkpoint, if any.
    """
    formats = loggers.sb3_formats(resumed_at_step) if loggers is not None else []
    return SB3Logger(folder=None, output_formats=formats)

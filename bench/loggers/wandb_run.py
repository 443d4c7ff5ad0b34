"""Weights & Biases: an offline run in the run folder whose id survives resumes."""

from __future__ import annotations

import contextlib
import os
import secrets
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from bench.loggers.base import require, scalars

WANDB_DIR = "wandb"
WANDB_ID_FILE = "run_id"  # in <run>/wandb/: the id a resumed run reuses


class WandbLogger:
    """A W&B run in ``<run>/wandb/``, offline unless ``mode: online``; one id across resumes.

    Rows are logged with ``frames`` as their step metric (W&B's own ``_step`` just counts
    ``log`` calls), so W&B's charts read against frames; ``eval/wall_seconds`` is there to
    plot against instead.
    """

    def __init__(self, run_dir: Path, run_id: str, config: Mapping[str, Any], **init: Any) -> None:
        import wandb

        self.dir = Path(run_dir) / WANDB_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / WANDB_ID_FILE).write_text(run_id + "\n")
        # Offline, W&B warns that ``resume`` is ignored: each attempt is its own offline folder
        # under the same id, and `wandb sync` uploads them into one run, in order.
        resume = "allow" if init.get("mode") == "online" else None
        with _wandb_env(self.dir):
            self.run = wandb.init(
                dir=str(run_dir), id=run_id, resume=resume, config=dict(config),
                settings=wandb.Settings(silent=True, console="off"), **init,
            )  # fmt: skip
        self.run.define_metric("frames")
        for prefix in ("eval", "generation"):
            self.run.define_metric(f"{prefix}/*", step_metric="frames")
        self.record = {"id": run_id, "mode": init.get("mode"), "project": init.get("project")}

    @classmethod
    def open(
        cls, run_dir: Path, resumed: bool, options: Mapping[str, Any], cfg: DictConfig
    ) -> WandbLogger:
        require("wandb")
        id_file = Path(run_dir) / WANDB_DIR / WANDB_ID_FILE
        run_id = id_file.read_text().strip() if resumed and id_file.exists() else _new_id()
        init = dict(options)
        init["name"] = init.get("name") or f"{cfg.env.name}__{cfg.algo.name}__{cfg.seed}"
        init["tags"] = list(init.get("tags") or [])
        config = OmegaConf.to_container(cfg, resolve=True)
        return cls(run_dir, run_id, config, **init)  # type: ignore[arg-type]

    def _log(self, prefix: str, row: Mapping[str, Any]) -> None:
        values = scalars(row)
        self.run.log(
            {"frames": int(row["frames"]), **{f"{prefix}/{k}": v for k, v in values.items()}}
        )

    def log_eval(self, row: Mapping[str, Any]) -> None:
        self._log("eval", row)

    def log_generation(self, row: Mapping[str, Any]) -> None:
        self._log("generation", row)

    def resume(self, frames: int, wall_seconds: float) -> None:
        """Nothing to do: W&B cannot hide what the interrupted attempt logged."""

    def close(self) -> None:
        import wandb

        with _wandb_env(self.dir):
            self.run.finish()
            wandb.teardown()  # its service process, so the next run starts one in its own folder


@contextlib.contextmanager
def _wandb_env(folder: Path) -> Iterator[None]:
    """W&B's cache and data folders inside the run's, no chatter, no error reports sent home
    (each unless the user set it). Its service process starts inside, so it keeps them."""
    wanted = {
        "WANDB_CACHE_DIR": str(folder / "cache"),
        "WANDB_DATA_DIR": str(folder / "data"),
        "WANDB_SILENT": "true",
        "WANDB_ERROR_REPORTING": "false",
    }
    added = {k: v for k, v in wanted.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _new_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))

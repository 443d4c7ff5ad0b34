"""TensorBoard: the recorder's rows against frames and wall-clock, plus SB3's own scalars."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from stable_baselines3.common.logger import KVWriter, TensorBoardOutputFormat

from bench.loggers.base import require, scalars

TENSORBOARD_DIR = "tensorboard"


def wall_ms(wall_seconds: float) -> int:
    """The wall-clock axis's step: training seconds in whole milliseconds."""
    return round(float(wall_seconds) * 1000)


class TensorBoardLogger:
    """Event files under ``<run>/tensorboard/``: one TensorBoard run per step axis.

    Frames and wall-clock are separate runs (``frames/``, ``wall_ms/``) because TensorBoard
    purges a restarted run by step, and the two axes restart at different steps. Writers open
    on the first row, after any checkpoint was loaded, so a resumed run knows where to purge.
    """

    def __init__(self, root: Path, resumed: bool, sb3: bool = True, flush_secs: float = 30) -> None:
        self.root, self.sb3, self.flush_secs = Path(root), bool(sb3), float(flush_secs)
        # Steps from which the previous attempts' events are hidden (0: all; None: a new run).
        self._resumed = resumed
        start = 0 if resumed else None
        self._purge: dict[str, int | None] = {"frames": start, "wall_ms": start}
        self._writers: dict[str, Any] = {}
        self._sb3_formats: list[KVWriter] = []
        self.record = {"dir": self.root.name}

    @classmethod
    def open(
        cls, run_dir: Path, resumed: bool, options: Mapping[str, Any], cfg: DictConfig
    ) -> TensorBoardLogger:
        require("tensorboard")
        return cls(Path(run_dir) / TENSORBOARD_DIR, resumed, **options)

    def _writer(self, axis: str) -> Any:
        if axis not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            self._writers[axis] = SummaryWriter(
                str(self.root / axis), purge_step=self._purge[axis], flush_secs=self.flush_secs
            )
        return self._writers[axis]

    def _log(self, prefix: str, row: Mapping[str, Any]) -> None:
        values = scalars(row)
        frames, ms = int(row["frames"]), wall_ms(row["wall_seconds"])
        by_frames, by_wall = self._writer("frames"), self._writer("wall_ms")
        for key, value in values.items():
            if key != "frames":
                by_frames.add_scalar(f"{prefix}/{key}", value, frames)
            if key != "wall_seconds":
                by_wall.add_scalar(f"{prefix}_by_wall_ms/{key}", value, ms)

    def log_eval(self, row: Mapping[str, Any]) -> None:
        self._log("eval", row)

    def log_generation(self, row: Mapping[str, Any]) -> None:
        self._log("generation", row)

    def resume(self, frames: int, wall_seconds: float) -> None:
        # Rows at the checkpoint itself are restored, not redone: keep them (+1).
        self._purge = {"frames": int(frames) + 1, "wall_ms": wall_ms(wall_seconds) + 1}

    def sb3_format(self, resumed_at_step: int | None) -> KVWriter | None:
        """SB3's own TensorBoard output in ``sb3/`` (None when ``sb3: false``).

        Args:
            resumed_at_step: SB3's ``num_timesteps`` restored from the checkpoint, if any.
        """
        if not self.sb3:
            return None
        if resumed_at_step is not None:
            purge: int | None = resumed_at_step + 1
        else:
            purge = 0 if self._resumed else None
        output = _SB3TensorBoard(str(self.root / "sb3"), purge)
        self._sb3_formats.append(output)
        return output

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        for output in self._sb3_formats:
            output.close()
        self._writers, self._sb3_formats = {}, []


class _SB3TensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard output format, its writer opened with ``purge_step``."""

    def __init__(self, folder: str, purge_step: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=folder, purge_step=purge_step)
        self._is_closed = False

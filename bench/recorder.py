"""The recorder: evaluates on schedule, keeps the metrics tables and shows progress.

Algorithms call :meth:`Recorder.maybe_evaluate` after charging frames; it is cheap when no
evaluation point has been crossed, so calling it every step is fine. Training clocks are
paused while evaluating: evaluation frames and seconds are reported in their own columns and
never charged to the training budget.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.budget import Budget
from bench.envs import EnvFactory
from bench.evaluation import LOG_EVERY_SECONDS, EvalResult, evaluate_off_budget
from bench.interface import Policy
from bench.records import METRICS_COLUMNS, RunFolder, write_csv

if TYPE_CHECKING:
    from bench.loggers import Logger

log = logging.getLogger(__name__)


class Progress:
    """A tqdm bar on a terminal; plain log lines every ``log_every_seconds`` otherwise."""

    def __init__(
        self, total_frames: int, label: str, log_every_seconds: float = LOG_EVERY_SECONDS
    ) -> None:
        self.total, self.label, self.every = total_frames, label, log_every_seconds
        self._bar = None
        self._last_log = time.monotonic()
        self._last_frames = 0
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total_frames, desc=label, unit="frame", unit_scale=True)

    def update(self, frames: int, eval_mean: float | None, wall: float) -> None:
        if self._bar is not None:
            self._bar.update(frames - self._last_frames)
            if eval_mean is not None:
                self._bar.set_postfix(eval=f"{eval_mean:.1f}", refresh=False)
            self._last_frames = frames
            return
        now = time.monotonic()
        if now - self._last_log >= self.every:
            self._last_log = now
            rate = frames / wall if wall > 0 else 0.0
            # No rate before the first charge: "ETA unknown", not "ETA nans".
            eta = f"{(self.total - frames) / rate:.0f}s" if rate > 0 else "unknown"
            ev = "n/a" if eval_mean is None else f"{eval_mean:.2f}"
            log.info(
                "%s: %d/%d frames (%.0f%%), eval %s, %.0f frames/s, ETA %s",
                self.label, frames, self.total, 100 * frames / self.total, ev, rate, eta,
            )  # fmt: skip

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Recorder:
    """Evaluation schedule plus the run's metrics and per-generation tables.

    Every row written to the tables is also handed to ``loggers`` (TensorBoard, W&B: see
    :mod:`bench.loggers`), which the runner opens and closes.
    """

    def __init__(
        self,
        folder: RunFolder,
        factory: EnvFactory,
        budget: Budget,
        progress: Progress | None = None,
        loggers: Logger | None = None,
    ) -> None:
        self.folder, self.factory, self.budget = folder, factory, budget
        self.progress, self.loggers = progress, loggers
        self.every = budget.limits.eval_every_frames
        self.next_eval_at = 0  # evaluate the initial policy too: every curve starts at 0
        self.rows: list[dict[str, Any]] = []
        self.generation_rows: list[dict[str, Any]] = []
        self.eval_frames = 0
        self.eval_wall_seconds = 0.0
        self._train_returns: list[float] = []
        self._next_progress = 0.0

    # -- called by algorithms -------------------------------------------------------------
    def log_train_episodes(self, returns: Sequence[float]) -> None:
        """Training-episode returns (as the algorithm sees them, e.g. clipped on Atari)."""
        self._train_returns.extend(float(r) for r in returns)

    def log_generation(self, row: Mapping[str, Any]) -> None:
        """One row per generation (gradient-free methods); frames and clocks are added here."""
        full = {
            "generation": len(self.generation_rows),
            **row,
            "frames": self.budget.frames,
            "env_steps": self.budget.steps,
            "wall_seconds": round(self.budget.wall_seconds(), 4),
            "cpu_seconds": round(self.budget.cpu_seconds(), 4),
        }
        self.generation_rows.append(full)
        columns = list(dict.fromkeys(k for r in self.generation_rows for k in r))
        write_csv(self.folder.generations, self.generation_rows, columns)
        if self.loggers is not None:
            self.loggers.log_generation(full)

    def due(self) -> bool:
        return self.budget.frames >= self.next_eval_at

    def maybe_evaluate(self, policy: Policy) -> EvalResult | None:
        """Evaluate if an evaluation point was crossed; update progress either way."""
        result = self.evaluate(policy) if self.due() else None
        # Called every env step by SB3 runs: refresh progress a few times a second, not per step.
        if self.progress is not None and (
            result is not None or time.monotonic() >= self._next_progress
        ):
            self._next_progress = time.monotonic() + 0.25
            last = self.rows[-1]["eval_return_mean"] if self.rows else None
            self.progress.update(self.budget.frames, last, self.budget.wall_seconds())
        return result

    @property
    def log_every_seconds(self) -> float:
        """The run's progress cadence (``progress.log_every_seconds``), for any long inner loop
        that must not look hung: an evaluation, a generation's rollouts."""
        return self.progress.every if self.progress is not None else LOG_EVERY_SECONDS

    # -- called by the runner -------------------------------------------------------------
    def evaluate(self, policy: Policy) -> EvalResult:
        """Evaluate now, append a metrics row, and move the next evaluation point on."""
        result, seconds = evaluate_off_budget(
            policy, self.factory, self.budget, self.log_every_seconds
        )
        self.eval_wall_seconds += seconds
        self.eval_frames += result.frames
        frames = self.budget.frames
        if self.every > 0:
            self.next_eval_at = (frames // self.every + 1) * self.every
        else:
            self.next_eval_at = 2**62  # only the initial and final evaluations
        train = self._train_returns
        self.rows.append({
            "frames": frames,
            "env_steps": self.budget.steps,
            "episodes": self.budget.episodes,
            "wall_seconds": round(self.budget.wall_seconds(), 4),
            "cpu_seconds": round(self.budget.cpu_seconds(), 4),
            "eval_return_mean": float(np.mean(result.returns)),
            "eval_return_std": float(np.std(result.returns)),
            "eval_return_min": float(np.min(result.returns)),
            "eval_return_max": float(np.max(result.returns)),
            "eval_episodes": len(result.returns),
            "eval_frames": self.eval_frames,
            "eval_wall_seconds": round(self.eval_wall_seconds, 4),
            "train_return_mean": float(np.mean(train)) if train else float("nan"),
            "train_episodes_since_last": len(train),
            "eval_protocol": self.factory.protocol.id,
        })  # fmt: skip
        self._train_returns = []
        write_csv(self.folder.metrics, self.rows, METRICS_COLUMNS)
        if self.loggers is not None:
            self.loggers.log_eval(self.rows[-1])
        return result

    def finish(self, policy: Policy) -> None:
        """Final evaluation at the frames where training stopped (unless just evaluated)."""
        if not self.rows or self.rows[-1]["frames"] != self.budget.frames:
            self.evaluate(policy)
        if self.progress is not None:
            self.progress.update(
                self.budget.frames, self.rows[-1]["eval_return_mean"], self.budget.wall_seconds()
            )
            self.progress.close()

    def summary(self) -> dict[str, Any]:
        means = [row["eval_return_mean"] for row in self.rows]
        return {
            "final_eval_return": means[-1] if means else None,
            "final_eval_return_std": self.rows[-1]["eval_return_std"] if self.rows else None,
            # The best evaluation, chosen on the test episodes themselves: optimistic, so never
            # a score to rank by (analysis ranks final_eval_return; papers' rules: paper_score).
            "max_eval_return_optimistic": max(means) if means else None,
            "evaluations": len(self.rows),
            "eval_frames": self.eval_frames,
            "eval_wall_seconds": round(self.eval_wall_seconds, 4),
            "generations": len(self.generation_rows),
            # population workers that died and were replaced (their share re-run)
            "worker_restarts": sum(int(r.get("worker_restarts", 0)) for r in self.generation_rows),
        }

    # -- checkpointing --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "next_eval_at": self.next_eval_at,
            "rows": list(self.rows),
            "generation_rows": list(self.generation_rows),
            "eval_frames": self.eval_frames,
            "eval_wall_seconds": self.eval_wall_seconds,
            "train_returns": list(self._train_returns),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Back to the checkpoint: rows written after it are dropped and will be redone."""
        self.next_eval_at = int(state["next_eval_at"])
        self.rows = list(state["rows"])
        self.generation_rows = list(state["generation_rows"])
        self.eval_frames = int(state["eval_frames"])
        self.eval_wall_seconds = float(state["eval_wall_seconds"])
        self._train_returns = list(state["train_returns"])
        write_csv(self.folder.metrics, self.rows, METRICS_COLUMNS)
        if self.generation_rows:
            columns = list(dict.fromkeys(k for r in self.generation_rows for k in r))
            write_csv(self.folder.generations, self.generation_rows, columns)
        if self.loggers is not None:  # the budget (registered first) is back at the checkpoint
            self.loggers.resume(self.budget.frames, self.budget.wall_seconds())

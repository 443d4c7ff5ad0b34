"""Training budget in environment frames, plus optional wall-clock and CPU-seconds limits.

Frames are what the papers count: for Atari, emulator frames = agent steps x frame skip; for
every other env one step is one frame. Time spent evaluating is not charged: the runner pauses
the training clocks around evaluation, so how often a run is evaluated never changes what it
can do within a wall-clock or CPU budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

STOP_FRAMES = "frames"
STOP_WALL = "wall_seconds"
STOP_CPU = "cpu_seconds"


@dataclass
class BudgetLimits:
    """Resolved limits for one run (``None`` means no limit)."""

    frames: int
    wall_seconds: float | None = None
    cpu_seconds: float | None = None
    eval_every_frames: int = 0

    def __post_init__(self) -> None:
        if self.frames <= 0:
            raise ValueError(f"budget.frames must be > 0, got {self.frames}")
        for name in ("wall_seconds", "cpu_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"budget.{name} must be > 0 or null, got {value}")
        if self.eval_every_frames < 0:
            raise ValueError(f"budget.eval_every_frames must be >= 0, got {self.eval_every_frames}")


@dataclass
class Budget:
    """Counts what training has used and says when to stop.

    ``cpu_seconds`` is this process's CPU time plus what remote workers report through
    :meth:`charge` (their CPU is otherwise invisible to the parent).
    """

    limits: BudgetLimits
    frame_skip: int = 1
    steps: int = 0
    episodes: int = 0
    remote_cpu_seconds: float = 0.0
    # Time used by earlier segments of a resumed run, and paused (evaluation) time.
    _prior_wall: float = 0.0
    _prior_cpu: float = 0.0
    _wall_start: float = field(default_factory=time.perf_counter)
    _cpu_start: float = field(default_factory=time.process_time)
    _paused_at: tuple[float, float] | None = None

    @property
    def frames(self) -> int:
        return self.steps * self.frame_skip

    def charge(self, steps: int, episodes: int = 0, cpu_seconds: float = 0.0) -> None:
        """Charge agent steps (and finished episodes, remote CPU) to the budget."""
        self.steps += steps
        self.episodes += episodes
        self.remote_cpu_seconds += cpu_seconds

    def wall_seconds(self) -> float:
        now = self._paused_at[0] if self._paused_at else time.perf_counter()
        return self._prior_wall + now - self._wall_start

    def cpu_seconds(self) -> float:
        now = self._paused_at[1] if self._paused_at else time.process_time()
        return self._prior_cpu + now - self._cpu_start + self.remote_cpu_seconds

    def pause(self) -> None:
        """Stop the training clocks (evaluation and checkpoint writing are not charged)."""
        if self._paused_at is None:
            self._paused_at = (time.perf_counter(), time.process_time())

    def resume(self) -> None:
        if self._paused_at is not None:
            wall, cpu = self._paused_at
            self._wall_start += time.perf_counter() - wall
            self._cpu_start += time.process_time() - cpu
            self._paused_at = None

    def used(self) -> dict[str, Any]:
        """What training used, as the summary records it."""
        return {
            "frames": self.frames,
            "env_steps": self.steps,
            "episodes": self.episodes,
            "wall_seconds": round(self.wall_seconds(), 4),
            "cpu_seconds": round(self.cpu_seconds(), 4),
        }

    @property
    def remaining_frames(self) -> int:
        return max(0, self.limits.frames - self.frames)

    def exhausted(self) -> str | None:
        """The name of the limit that is spent, or ``None`` while training may go on."""
        if self.frames >= self.limits.frames:
            return STOP_FRAMES
        if self.limits.wall_seconds is not None and self.wall_seconds() >= self.limits.wall_seconds:
            return STOP_WALL
        if self.limits.cpu_seconds is not None and self.cpu_seconds() >= self.limits.cpu_seconds:
            return STOP_CPU
        return None

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "episodes": self.episodes,
            "wall_seconds": self.wall_seconds(),
            "cpu_seconds": self.cpu_seconds() - self.remote_cpu_seconds,
            "remote_cpu_seconds": self.remote_cpu_seconds,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])
        self.episodes = int(state["episodes"])
        self.remote_cpu_seconds = float(state["remote_cpu_seconds"])
        self._prior_wall = float(state["wall_seconds"])
        self._prior_cpu = float(state["cpu_seconds"])
        self._wall_start = time.perf_counter()
        self._cpu_start = time.process_time()
        self._paused_at = None

"""Run records: one folder per run, every file written atomically (temp file + rename).

Layout of ``results/<experiment>/<env>/<algo>/seed=<s>/`` (schema in RESULTS.md):

- ``config.yaml``       resolved config of the run
- ``meta.json``         identity, status, stop reason, versions, git commit, machine, times
- ``metrics.csv``       one row per evaluation point (frames, steps, wall/CPU s, eval stats)
- ``generations.csv``   gradient-free methods: one row per generation
- ``summary.json``      final and best evaluation, frames, wall and CPU seconds (completed runs)
- ``checkpoints/``      latest resumable state (removed when the run completes, unless kept)
- ``tensorboard/``      ``logger=tensorboard``: event files (bench/loggers/)
- ``wandb/``            ``logger=wandb``: the W&B run, offline by default (bench/loggers/)
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2  # 2: env_observation added (RESULTS.md); analysis/load.py reads <= 2
STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_FAILED = "failed"
STATUS_SKIPPED = "skipped"
STATUS_INTERRUPTED = "interrupted"

METRICS_COLUMNS = [
    "frames", "env_steps", "episodes", "wall_seconds", "cpu_seconds",
    "eval_return_mean", "eval_return_std", "eval_return_min", "eval_return_max",
    "eval_episodes", "eval_frames", "eval_wall_seconds", "train_return_mean",
    "train_episodes_since_last", "eval_protocol",
]  # fmt: skip

TRACKED_PACKAGES = [
    "neuroevo-bench", "torch", "numpy", "gymnasium", "ale-py", "mujoco", "stable-baselines3",
    "sb3-contrib", "hydra-core", "cma", "ray", "pandas", "tensorboard", "wandb",
]  # fmt: skip


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: Path, obj: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_state(repo: Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the checkout the code runs from.

    Only a checkout whose root holds this package counts: an installed copy (a wheel in
    ``site-packages``) has no commit of its own, even when that environment sits inside some
    other git repository. Then ``commit`` and ``dirty`` are ``None`` and ``reason`` says why
    (the package version in ``versions`` identifies the code).
    """
    repo = (repo or Path(__file__).resolve().parent.parent).resolve()

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo:
            return {"commit": None, "dirty": None, "reason": "not a git checkout"}
        head = git("rev-parse", "--verify", "--quiet", "HEAD")
        commit = head.stdout.strip() if head.returncode == 0 else ""
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return {"commit": None, "dirty": None, "reason": f"git unavailable: {error}"}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def machine_info() -> dict[str, Any]:
    import torch

    cpu_model = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
    }


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunFolder:
    """Paths and status of one run's folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    config = property(lambda self: self.path / "config.yaml")
    meta = property(lambda self: self.path / "meta.json")
    metrics = property(lambda self: self.path / "metrics.csv")
    generations = property(lambda self: self.path / "generations.csv")
    summary = property(lambda self: self.path / "summary.json")
    paper_scores = property(lambda self: self.path / "paper_scores.csv")
    checkpoints = property(lambda self: self.path / "checkpoints")
    tensorboard = property(lambda self: self.path / "tensorboard")  # logger=tensorboard
    wandb = property(lambda self: self.path / "wandb")  # logger=wandb

    def clear(self) -> None:
        """Remove every record, checkpoint and logger folder (``overwrite=true``); other files
        stay."""
        records = (self.meta, self.summary, self.metrics, self.generations, self.paper_scores)
        for path in (*records, self.config):
            path.unlink(missing_ok=True)
        for folder in (self.checkpoints, self.tensorboard, self.wandb):
            shutil.rmtree(folder, ignore_errors=True)

    def status(self) -> str | None:
        """Recorded status; a run left ``running`` by a killed process reads as interrupted."""
        try:
            status = read_json(self.meta).get("status")
        except (OSError, ValueError):
            return None
        return STATUS_INTERRUPTED if status == STATUS_RUNNING else status

    def is_complete(self) -> bool:
        """Completed (or skipped) and every file a completed run needs is present and parses."""
        status = self.status()
        if status == STATUS_SKIPPED:
            return True
        if status != STATUS_COMPLETED:
            return False
        try:
            read_json(self.summary)
            return self.metrics.stat().st_size > 0
        except (OSError, ValueError):
            return False


class Checkpoints:
    """Versioned checkpoints: ``ckpt-<frames>/`` written in full, then ``latest.json`` points at it.

    A crash mid-save leaves the previous checkpoint intact. The runner registers the budget
    and recorder so one :meth:`save` captures the whole run, not just the algorithm.
    """

    def __init__(
        self,
        root: Path,
        every_frames: int,
        every_seconds: float | None = None,
        max_replay_buffer_mb: float = 512.0,
    ) -> None:
        self.root = Path(root)
        self.every_frames = every_frames
        self.every_seconds = every_seconds
        #: off-policy replay buffers larger than this are not checkpointed (resume refills them)
        self.max_replay_buffer_mb = max_replay_buffer_mb
        self._last_saved_at = time.monotonic()
        self._parts: dict[str, Any] = {}
        self._last_saved_frames = 0
        self.loaded_frames: int | None = None  # set when a run resumed from a checkpoint
        self._frames: Callable[[], int] = lambda: 0

    def register(self, name: str, part: Any) -> None:
        """Save ``part`` (``state_dict`` / ``load_state_dict``) with every checkpoint."""
        self._parts[name] = part

    def track_frames(self, frames: Callable[[], int]) -> None:
        self._frames = frames

    def due(self) -> bool:
        """True when ``every_frames`` frames or ``every_seconds`` passed since the last save."""
        if self.every_frames > 0 and self._frames() - self._last_saved_frames >= self.every_frames:
            return True
        return (
            self.every_seconds is not None
            and time.monotonic() - self._last_saved_at >= self.every_seconds
        )

    def save(
        self, algo_state: Any, files: Mapping[str, Callable[[Path], None]] | None = None
    ) -> Path:
        """Write the algorithm state (picklable), extra files (via writer callbacks) and parts."""
        frames = self._frames()
        final = self.root / f"ckpt-{frames:012d}"
        tmp = self.root / f".tmp-ckpt-{frames:012d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, writer in (files or {}).items():
            writer(tmp / name)
        state = {
            "algo": algo_state,
            "parts": {name: part.state_dict() for name, part in self._parts.items()},
            "frames": frames,
        }
        atomic_write_bytes(tmp / "state.pkl", pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        write_json(self.root / "latest.json", {"dir": final.name, "frames": frames})
        for old in self.root.glob("ckpt-*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
        self._last_saved_frames = frames
        self._last_saved_at = time.monotonic()
        return final

    def latest_dir(self) -> Path | None:
        try:
            return self.root / read_json(self.root / "latest.json")["dir"]
        except (OSError, ValueError, KeyError):
            return None

    def load(self) -> tuple[Any, Path] | None:
        """Restore registered parts from the latest checkpoint; return (algo state, its folder)."""
        folder = self.latest_dir()
        if folder is None or not (folder / "state.pkl").exists():
            return None
        state = pickle.loads((folder / "state.pkl").read_bytes())
        for name, part in self._parts.items():
            part.load_state_dict(state["parts"][name])
        self._last_saved_frames = self.loaded_frames = int(state["frames"])
        return state["algo"], folder

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

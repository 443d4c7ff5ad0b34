"""Calibrated rates and the JSON cache that keeps them for the next plan.

Rates are frames per CPU-second of the calibrating process (``time.process_time``), so they
say what one core does when the job has it to itself, whatever else the machine was running
while it was measured. The cache is one JSON file, ``$XDG_CACHE_HOME/neuroevo-bench/
rates.json`` (``~/.cache/...`` without it), keyed first by the machine (CPU model, core count)
and the tracked package versions, then by the job's algorithm, env (Atari: the family) and a
hash of everything that changes its cost; ``plan.recalibrate=true`` measures again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.records import atomic_write_text, machine_info, package_versions

CACHE_FILE = "rates.json"
SCHEMA = 2  # part of the machine key: entries of another layout are measured again


@dataclass(frozen=True)
class Rates:
    """What one job's calibration measured.

    Attributes:
        train_fps: training frames per core-second (off-policy SB3: once learning has started).
        eval_fps: evaluation frames per core-second (one env, the policy's ``predict``).
        warmup_fps: frames per core-second before ``learning_starts`` (off-policy SB3).
        warmup_frames: frames collected before learning starts (0: learning from the start).
        population: genomes a generation evaluates (population methods), else 0.
        episodes: training episodes of each genome a generation.
        validation_genomes, validation_episodes: a second round of a generation, after
            ``tell`` (the Deep GA's elite candidates, each re-evaluated on that many episodes).
        episode_cap_frames: the env's episode time limit in frames, 0 when it has none.
        setup_seconds: CPU seconds to build the run's parts before its first step (OpenAI-ES's
            noise table, an SB3 model): charged to training, not split over workers.
        seconds: wall seconds the calibration took.
        measured_on: ``algo/env`` the burst ran (Atari: one game stands for its family).
    """

    train_fps: float
    eval_fps: float
    warmup_fps: float = 0.0
    warmup_frames: int = 0
    population: int = 0
    episodes: int = 1
    validation_genomes: int = 0
    validation_episodes: int = 0
    episode_cap_frames: int = 0
    setup_seconds: float = 0.0
    seconds: float = 0.0
    measured_on: str = ""

    def train_core_seconds(self, frames: float) -> float:
        """Core-seconds to train ``frames`` frames."""
        warm = min(frames, self.warmup_frames)
        before = warm / self.warmup_fps if warm else 0.0
        return before + (frames - warm) / self.train_fps

    def rounds(self) -> list[tuple[int, int]]:
        """A generation's evaluation rounds: (genomes, episodes of each)."""
        rounds = [
            (self.population, self.episodes),
            (self.validation_genomes, self.validation_episodes),
        ]
        return [(g, e) for g, e in rounds if g > 0 and e > 0]

    def frames_in(self, core_seconds: float) -> float:
        """Frames trained in ``core_seconds`` (the inverse of :meth:`train_core_seconds`)."""
        warm = self.train_core_seconds(self.warmup_frames)
        if core_seconds <= warm:
            return core_seconds * self.warmup_fps
        return self.warmup_frames + (core_seconds - warm) * self.train_fps


@dataclass(frozen=True)
class Scaling:
    """Two workers side by side against one, on the same population evaluation.

    Attributes:
        cpu_efficiency: frames per CPU-second with two workers / with one (what sharing the
            machine's caches and memory costs a core; used for every core count >= 2).
        wall_speedup: wall-clock speed-up of two workers over one, as measured (on a busy
            machine this is less than the cores could give).
        seconds: wall seconds the measurement took.
    """

    cpu_efficiency: float
    wall_speedup: float
    seconds: float = 0.0

    @property
    def efficiency(self) -> float:
        return min(1.0, self.cpu_efficiency)  # above 1 is measurement noise


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neuroevo-bench" / CACHE_FILE


def machine_key() -> str:
    """This machine and software: rates measured elsewhere or with other versions differ."""
    info = machine_info()
    versions = json.dumps(package_versions(), sort_keys=True)
    digest = hashlib.sha1(versions.encode()).hexdigest()[:10]
    return f"{info['cpu_model']} x{info['cpu_count']} | versions {digest} | rates v{SCHEMA}"


def job_key(algo: str, env: str, cost_settings: dict[str, Any]) -> str:
    """``algo|env|hash``: the hash covers the hyperparameters, env node, device and threads."""
    text = json.dumps(cost_settings, sort_keys=True, default=str)
    return f"{algo}|{env}|{hashlib.sha1(text.encode()).hexdigest()[:10]}"


class RateCache:
    """This machine's entry of the cache file: read once, written after each calibration."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.key = machine_key()
        self._all = self._read()
        entry = self._all.setdefault(self.key, {})
        entry.setdefault("versions", package_versions())
        self.jobs: dict[str, Any] = entry.setdefault("jobs", {})
        self.entry = entry

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):  # none yet, or unreadable: start a new one
            return {}
        return data if isinstance(data, dict) else {}

    def rates(self, key: str) -> Rates | None:
        raw = self.jobs.get(key)
        return Rates(**raw) if isinstance(raw, dict) and _finite(raw) else None

    def scaling(self) -> Scaling | None:
        raw = self.entry.get("scaling")
        return Scaling(**raw) if isinstance(raw, dict) else None

    def put_rates(self, key: str, rates: Rates) -> None:
        self.jobs[key] = asdict(rates)
        self._write()

    def put_scaling(self, scaling: Scaling) -> None:
        self.entry["scaling"] = asdict(scaling)
        self._write()

    def _write(self) -> None:
        atomic_write_text(self.path, json.dumps(self._all, indent=1, sort_keys=True) + "\n")


def _finite(raw: dict[str, Any]) -> bool:
    fps = (raw.get("train_fps"), raw.get("eval_fps"))
    return all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in fps)

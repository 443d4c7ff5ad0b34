"""Running observation normalisation (Salimans et al. 2017, arXiv 1703.03864; Wong et al. 2024,
arXiv 2402.06912): workers collect :class:`ObsStats`, the generation loop folds them into a
:class:`RunningObsNorm`, and every policy acts on :func:`net_input` of its observations.

Order: observations are first put on the net's input scale (:func:`scale_obs`: Atari RAM bytes
to [-1, 1], pixels to [0, 1]), then normalised, and the statistics are those of the scaled
values, so a normalised +3 reaches the net as +3. (Normalising raw bytes and scaling after, as
this harness once did, turned +3 into about -0.98.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OBS_CLIP = 5.0  # as in OpenAI-ES: normalised inputs clipped to +-5 std
RAM_SCALE, PIXEL_SCALE = np.float32(127.5), np.float32(255.0)


def scale_obs(obs: np.ndarray, obs_scale: str) -> np.ndarray:
    """Raw observations on the net's input scale (float32): ``ram`` bytes / 127.5 - 1,
    ``pixels`` / 255, ``vector`` unchanged. The same float32 operations as
    :meth:`bench.population.networks.PolicyNet.preprocess` does on bytes."""
    if obs_scale == "ram":
        return np.asarray(obs, np.float32) / RAM_SCALE - np.float32(1.0)
    if obs_scale == "pixels":
        return np.asarray(obs, np.float32) / PIXEL_SCALE
    return np.asarray(obs, np.float32)


@dataclass(frozen=True)
class ObsNorm:
    """A normalisation to apply: ``(x - mean) / std``, clipped to +-``clip`` (None: no clip)."""

    mean: np.ndarray
    std: np.ndarray
    clip: float | None = OBS_CLIP

    def __call__(self, scaled: np.ndarray) -> np.ndarray:
        out = (scaled - self.mean) / self.std
        if self.clip is not None:
            out = np.clip(out, -self.clip, self.clip)
        return out.astype(np.float32)


def net_input(
    obs: np.ndarray,
    obs_scale: str,
    norm: ObsNorm | None,
    stats: ObsStats | None = None,
    seen: np.ndarray | list[bool] | None = None,
) -> np.ndarray:
    """What a policy net is fed for raw ``obs`` (one row per env).

    Without normalisation the raw rows are returned (bytes stay bytes: a quarter of the copy,
    and the net scales them itself). Otherwise the rows are scaled, their statistics (rows
    ``seen``, default all) folded into ``stats``, and the normalised float32 rows returned;
    the net takes float input as already scaled.
    """
    if norm is None and stats is None:
        return obs
    scaled = scale_obs(obs, obs_scale)
    if stats is not None:
        stats.add(scaled if seen is None else scaled[seen])
    return norm(scaled) if norm is not None else obs


@dataclass
class ObsStats:
    """Sufficient statistics of observations seen: count, sum and sum of squares."""

    count: float
    total: np.ndarray
    total_sq: np.ndarray

    @classmethod
    def zeros(cls, shape: Sequence[int]) -> ObsStats:
        return cls(0.0, np.zeros(shape), np.zeros(shape))

    def add(self, rows: np.ndarray) -> None:
        """Fold in a batch of observations (one per row), in float64."""
        seen = np.asarray(rows, dtype=np.float64)
        self.count += len(seen)
        self.total += seen.sum(0)
        self.total_sq += (seen * seen).sum(0)

    def merge(self, other: ObsStats | None) -> ObsStats:
        if other is None:
            return self
        return ObsStats(
            self.count + other.count, self.total + other.total, self.total_sq + other.total_sq
        )


class RunningObsNorm:
    """Running mean / std of (scaled) observations from collected :class:`ObsStats`.

    Args:
        shape: observation shape.
        var_floor: lower bound on each variance (the std floor squared).
        clip: what :meth:`current` clips normalised values to (None: no clipping).
    """

    def __init__(
        self, shape: Sequence[int], var_floor: float = 1e-4, clip: float | None = OBS_CLIP
    ) -> None:
        # As OpenAI-ES: a tiny prior so the first std is finite.
        self.stats = ObsStats(1e-2, np.zeros(shape), np.full(shape, 1e-2))
        self.var_floor, self.clip = var_floor, clip

    def update(self, stats: ObsStats | None) -> None:
        self.stats = self.stats.merge(stats)

    @property
    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.stats.total / self.stats.count
        var = np.maximum(self.stats.total_sq / self.stats.count - mean**2, self.var_floor)
        return mean.astype(np.float32), np.sqrt(var).astype(np.float32)

    def current(self) -> ObsNorm:
        """The normalisation as it stands, to hand to workers and policies."""
        return ObsNorm(*self.mean_std, self.clip)

    def state_dict(self) -> dict[str, Any]:
        return {
            "count": self.stats.count,
            "total": self.stats.total,
            "total_sq": self.stats.total_sq,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.stats = ObsStats(state["count"], state["total"], state["total_sq"])

"""Running observation normalisation (Salimans et al. 2017, arXiv 1703.03864; Wong et al. 2024,
arXiv 2402.06912): workers collect :class:`ObsStats`, the strategy's side folds them into a
:class:`RunningObsNorm`, and every policy acts on :func:`normalise_obs` of its inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OBS_CLIP = 5.0  # as in OpenAI-ES: normalised inputs clipped to +-5 std


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
    """Running mean / std of observations from collected :class:`ObsStats` (std floor 1e-2)."""

    def __init__(self, shape: Sequence[int]) -> None:
        # As OpenAI-ES: a tiny prior so the first std is finite.
        self.stats = ObsStats(1e-2, np.zeros(shape), np.full(shape, 1e-2))

    def update(self, stats: ObsStats | None) -> None:
        self.stats = self.stats.merge(stats)

    @property
    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.stats.total / self.stats.count
        var = np.maximum(self.stats.total_sq / self.stats.count - mean**2, 1e-4)
        return mean.astype(np.float32), np.sqrt(var).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {
            "count": self.stats.count,
            "total": self.stats.total,
            "total_sq": self.stats.total_sq,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.stats = ObsStats(state["count"], state["total"], state["total_sq"])


def normalise_obs(obs: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(obs - mean) / std, clipped to +-OBS_CLIP (running observation normalisation)."""
    return np.clip((obs - mean) / std, -OBS_CLIP, OBS_CLIP).astype(np.float32)

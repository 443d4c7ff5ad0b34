"""The ask/tell interface every gradient-free strategy implements (evosax style), and the
training-only reward shaping the strategies share. A strategy knows nothing of envs, budgets,
workers or records, so it can be tested on a hand-written fitness; the generation loop that
drives it is :class:`bench.population.method.PopulationMethod`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from bench.population.genomes import GenomeBatch
from bench.population.rollout import PopulationResult


class Strategy(ABC):
    """Ask/tell over genome batches; maximises the mean return of each genome."""

    @abstractmethod
    def ask(self, rng: np.random.Generator) -> GenomeBatch:
        """This generation's genomes."""

    def shared(self) -> Mapping[str, np.ndarray]:
        """Vectors the batch refers to by name (the ES mean): sent to workers once per ask."""
        return {}

    @abstractmethod
    def tell(
        self, batch: GenomeBatch, result: PopulationResult, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Update from the batch's results; return extra generation-row columns."""

    def validation(self) -> tuple[GenomeBatch, int] | None:
        """Genomes to evaluate again after :meth:`tell`, and episodes each (the GA's elite
        candidates); None: no validation round. Charged to the budget like training."""
        return None

    def tell_validation(self, batch: GenomeBatch, result: PopulationResult) -> dict[str, Any]:
        """Results of the :meth:`validation` round; extra generation-row columns."""
        return {}

    @abstractmethod
    def best(self) -> np.ndarray:
        """Weights (P,) of the policy to evaluate and return (elite, ES mean, ...)."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]: ...

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def shaped_fitness(result: PopulationResult, reward_shift: float) -> np.ndarray:
    """Mean return with ``reward_shift`` added to every step's reward: sum_t (r_t + shift) =
    return + shift * length, so shaping needs no per-step hook. Training only."""
    return result.fitness + reward_shift * result.lengths.mean(axis=1)

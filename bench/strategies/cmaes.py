"""CMA-ES (Hansen & Ostermeier 2001; Hansen 2016, arXiv 1604.00772) and sep-CMA-ES (Ros & Hansen
2008, diagonal covariance) through pycma, as benchmarked with linear policies by Wong, de Nobel,
Baeck, Plaat & Kononova (2024), arXiv 2402.06912.

pycma does the strategy; this module only seeds it from the run's seed through a picklable
``randn`` (so the global NumPy RNG is never touched and a pickled strategy resumes exactly),
switches off its files, console output and stopping rules, and turns returns into costs.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import cma
import numpy as np

from bench.interface import ConfigError, Contract
from bench.population.dense import DenseES
from bench.registry import register


class GeneratorRandn:
    """pycma's ``randn(number, dimension)`` from a private, picklable ``np.random.Generator``."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


class CMAStrategy:
    """Ask/tell CMA-ES (``diagonal=True``: sep-CMA-ES) on dense vectors; maximises returns."""

    def __init__(
        self,
        mean: np.ndarray,
        sigma0: float,
        lambda_: int,
        diagonal: bool = False,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> None:
        if sigma0 <= 0:
            raise ConfigError(f"sigma0 must be > 0, got {sigma0}")
        if lambda_ < 2:
            raise ConfigError(f"lambda (population size) must be >= 2, got {lambda_}")
        mean = np.asarray(mean, dtype=np.float64)
        if mean.size < 2:
            raise ConfigError("pycma needs at least 2 parameters")
        opts: dict[str, Any] = {
            "popsize": int(lambda_),
            # True: diagonal all run long; pycma then scales c_mu by (n + 2) / 3 (Ros & Hansen).
            "CMA_diagonal": bool(diagonal),
            "randn": GeneratorRandn(seed),
            "seed": float("nan"),  # no global np.random.seed(); ``randn`` carries the seed
            "verbose": -9,
            "verb_disp": 0,
            "verb_log": 0,
            "verb_filenameprefix": "",
            # The budget stops the run, not pycma: a solved task (flat fitness) must not end it.
            "tolfun": 0,
            "tolfunhist": 0,
            "tolx": 0,
            "tolstagnation": float("inf"),
            "tolflatfitness": float("inf"),
            **(options or {}),
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.es = cma.CMAEvolutionStrategy(mean, float(sigma0), opts)
        self._asked: list[np.ndarray] | None = None

    @property
    def dim(self) -> int:
        return int(self.es.N)

    @property
    def lambda_(self) -> int:
        return int(self.es.popsize)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.es.mean, dtype=np.float64).copy()

    @property
    def sigma(self) -> float:
        return float(self.es.sigma)

    def ask(self) -> np.ndarray:
        self._asked = self.es.ask()
        return np.asarray(self._asked, dtype=np.float64)

    def tell(self, returns: np.ndarray) -> None:
        """Update from the returns of the last ``ask`` (same order); pycma minimises, so negate."""
        if self._asked is None:
            raise RuntimeError("tell() before ask()")
        costs = (-np.asarray(returns, dtype=np.float64)).tolist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "flat fitness" notices on solved tasks
            self.es.tell(self._asked, costs)
        self._asked = None

    def state_dict(self) -> dict[str, Any]:
        return {"es": pickle.dumps(self.es, protocol=pickle.HIGHEST_PROTOCOL)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.es = pickle.loads(state["es"])
        self._asked = None


@register("cmaes")
class CMAES(DenseES):
    """CMA-ES (pycma) with Wong et al.'s linear policies; options in
    :class:`~bench.population.dense.DenseES`."""

    contract: ClassVar[Contract] = replace(DenseES.contract, solves=("cartpole", 20_000, 475.0))
    diagonal: ClassVar[bool] = False
    #: full CMA-ES stores an n x n covariance (float64) and decomposes it: 20k params = 3.2 GB.
    max_full_dim: ClassVar[int] = 20_000

    def new_dense(self, mean: np.ndarray, sigma0: float, popsize: int, seed: int) -> CMAStrategy:
        if not self.diagonal and mean.size > self.max_full_dim:
            raise ConfigError(
                f"full CMA-ES on {mean.size} parameters needs an n x n covariance "
                f"(> {self.max_full_dim} params); use sep_cmaes or a smaller network"
            )
        return CMAStrategy(mean, sigma0, popsize, diagonal=self.diagonal, seed=seed)


@register("sep_cmaes")
class SepCMAES(CMAES):
    """sep-CMA-ES: diagonal covariance (Ros & Hansen 2008) via pycma's ``CMA_diagonal``."""

    diagonal: ClassVar[bool] = True

"""(mu/mu_w, lambda)-ES with cumulative step-size adaptation (CSA; Ostermeier, Gawelczyk &
Hansen 1994; Hansen 2016 "The CMA Evolution Strategy: A Tutorial", arXiv 1604.00772), as used by
Wong, de Nobel, Baeck, Plaat & Kononova (2024), "Solving Deep Reinforcement Learning Tasks with
Evolution Strategies and Linear Policy Networks", arXiv 2402.06912
(code ann-w/solving_drl_tasks_with_es_and_linear_policy_networks, es/src/rl_es/algorithms.py).

Isotropic Gaussian search around the mean, log-rank recombination weights over the best
``mu = lambda / 2``, optional mirrored sampling, and one global step size adapted from the
length of the evolution path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from bench.interface import ConfigError, Contract
from bench.population.dense import DenseES
from bench.registry import register


def log_weights(mu: int, lambda_: int) -> np.ndarray:
    """Positive recombination weights ``ln(lambda/2 + 0.5) - ln(i)``, i = 1..mu, summing to 1."""
    raw = np.log(lambda_ / 2 + 0.5) - np.log(np.arange(1, mu + 1))
    return raw / raw.sum()


class CSAStrategy:
    """Ask/tell (mu/mu_w, lambda)-CSA-ES on dense parameter vectors (maximises returns)."""

    def __init__(
        self,
        mean: np.ndarray,
        sigma0: float,
        lambda_: int,
        mirrored: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        if sigma0 <= 0:
            raise ConfigError(f"sigma0 must be > 0, got {sigma0}")
        if lambda_ < 2:
            raise ConfigError(f"lambda (population size) must be >= 2, got {lambda_}")
        if mirrored and lambda_ % 2:
            raise ConfigError(f"mirrored sampling needs an even lambda, got {lambda_}")
        self.mean = np.asarray(mean, dtype=np.float64).copy()
        n = self.mean.size
        self.sigma, self.lambda_, self.mirrored = float(sigma0), int(lambda_), bool(mirrored)
        self.mu = self.lambda_ // 2
        self.weights = log_weights(self.mu, self.lambda_)
        self.mueff = 1.0 / float(np.sum(self.weights**2))
        # Hansen (2016) table 1 defaults for the cumulation and damping of the step size.
        self.c_s = (self.mueff + 2) / (n + self.mueff + 5)
        self.d_s = 1 + self.c_s + 2 * max(0.0, math.sqrt((self.mueff - 1) / (n + 1)) - 1)
        self.chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))  # E||N(0, I)||
        # The reference code starts the evolution path at ones (es/src/rl_es/algorithms.py:317),
        # where textbook CSA starts at zero: ||path|| ~ E||N(0, I)||, so sigma holds at first.
        self.path = np.ones(n, dtype=np.float64)
        self.rng = rng or np.random.default_rng()
        self._z: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return self.mean.size

    def ask(self) -> np.ndarray:
        """``lambda`` candidates, ``(lambda, n)``; mirrored: the second half is ``-`` the first."""
        half = self.lambda_ // 2 if self.mirrored else self.lambda_
        z = self.rng.standard_normal((half, self.dim))
        self._z = np.concatenate([z, -z]) if self.mirrored else z
        return self.mean + self.sigma * self._z

    def tell(self, returns: np.ndarray) -> None:
        """Update from the returns of the last ``ask`` (same order); higher is better."""
        if self._z is None:
            raise RuntimeError("tell() before ask()")
        order = np.argsort(-np.asarray(returns, dtype=np.float64), kind="stable")[: self.mu]
        z_w = self.weights @ self._z[order]
        self.mean = self.mean + self.sigma * z_w
        self.path = (1 - self.c_s) * self.path + math.sqrt(
            self.c_s * (2 - self.c_s) * self.mueff
        ) * z_w
        self.sigma *= math.exp(self.c_s / self.d_s * (np.linalg.norm(self.path) / self.chi_n - 1))
        self._z = None

    def state_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.copy(),
            "sigma": self.sigma,
            "path": self.path.copy(),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float64).copy()
        self.sigma = float(state["sigma"])
        self.path = np.asarray(state["path"], dtype=np.float64).copy()
        self.rng.bit_generator.state = state["rng"]
        self._z = None


@register("csa_es")
class CSAES(DenseES):
    """(mu/mu_w, lambda)-CSA-ES with Wong et al.'s linear policies (module docstring).

    Args:
        mirrored: antithetic pairs ``(z, -z)``. Off, as in the published runs: the reference
            class defaults to True (es/src/rl_es/algorithms.py:298), but ``main.py:162`` turns
            it off unless ``--mirrored`` is given and ``run_all.py`` never gives it.
        **kwargs: :class:`~bench.population.dense.DenseES` options.
    """

    contract: ClassVar[Contract] = replace(DenseES.contract, solves=("cartpole", 20_000, 475.0))

    def __init__(self, mirrored: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mirrored = bool(mirrored)

    def new_dense(self, mean: np.ndarray, sigma0: float, popsize: int, seed: int) -> CSAStrategy:
        return CSAStrategy(mean, sigma0, popsize, self.mirrored, np.random.default_rng(seed))

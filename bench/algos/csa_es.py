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
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import numpy as np

from bench.algos.evaluator import DenseGenomes, GenomeBatch, PopulationResult
from bench.algos.population import SEED_HIGH, PopulationMethod
from bench.interface import ConfigError
from bench.registry import register


def default_popsize(n: int) -> int:
    """Hansen's default ``4 + floor(3 ln n)``, rounded up to even (mirrored pairs, mu = lam/2)."""
    lam = 4 + math.floor(3 * math.log(max(n, 1)))
    return lam + lam % 2


def default_sigma0(n: int) -> float:
    """Wong et al.'s fallback initial step size ``min(0.01, max(1/sqrt(n), 0.005))``."""
    return min(0.01, max(1 / math.sqrt(max(n, 1)), 0.005))


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
        # Standard CSA starts the path at zero (the reference code starts it at ones).
        self.path = np.zeros(n, dtype=np.float64)
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


class DenseStrategy(Protocol):
    """What :class:`LinearPolicyES` needs from a dense-vector strategy (CSA, pycma)."""

    mean: np.ndarray
    sigma: float

    def ask(self) -> np.ndarray: ...
    def tell(self, returns: np.ndarray) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class LinearPolicyES(PopulationMethod):
    """Wong et al. (2024)'s setting for an ES on dense genomes; subclasses pick the strategy.

    Linear policy (no bias, zero init: the initial mean is 0), running observation normalisation,
    one episode per candidate, the mean as the evaluated policy, and training-only reward
    shaping: ``reward_shift`` is added to every training reward for the fitness (Hopper, Walker2d,
    Ant -1, Humanoid -5 in the paper); the evaluation always sees the raw reward.

    Args:
        sigma0: initial step size; None: ``min(0.01, max(1/sqrt(n), 0.005))``.
        popsize: lambda; None: ``4 + floor(3 ln n)``. Rounded up to even, as in the reference
            code (mirrored pairs and mu = lambda / 2).
        reward_shift: per-step training reward offset (fitness only).
        **common: :class:`PopulationMethod` options (``network: mlp`` trains an MLP).
    """

    # Wong et al. ran these on vectors only (Atari through its RAM); a dense-genome ES on a
    # CNN's millions of parameters is out of reach, so pixel envs are skipped, not attempted.
    observation_kinds: ClassVar[frozenset[str]] = frozenset({"vector"})

    def __init__(
        self,
        sigma0: float | None = None,
        popsize: int | None = None,
        reward_shift: float = 0.0,
        network: str = "linear",
        obs_norm: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(network=network, obs_norm=obs_norm, **common)
        if sigma0 is not None and sigma0 <= 0:
            raise ConfigError(f"sigma0 must be > 0, got {sigma0}")
        if popsize is not None and popsize < 2:
            raise ConfigError(f"popsize (lambda) must be >= 2, got {popsize}")
        self.sigma0 = None if sigma0 is None else float(sigma0)
        self.popsize = None if popsize is None else int(popsize)
        self.reward_shift = float(reward_shift)
        self.strategy: DenseStrategy | None = None
        self.effective: dict[str, Any] = {}

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "sigma0": self.sigma0,
            "popsize": self.popsize,
            "reward_shift": self.reward_shift,
            **super().hyperparameters(),
        }

    @abstractmethod
    def _new_strategy(
        self, mean: np.ndarray, sigma0: float, popsize: int, seed: int
    ) -> DenseStrategy: ...

    def _setup(self, rng: np.random.Generator) -> None:
        assert self.net is not None
        n = self.net.num_params
        popsize = self.popsize or default_popsize(n)
        self.effective = {
            "sigma0": self.sigma0 or default_sigma0(n),
            "popsize": popsize + popsize % 2,
            "seed": int(rng.integers(SEED_HIGH)),
        }
        mean = self.net.init_params(int(rng.integers(SEED_HIGH))).astype(np.float64)
        self.strategy = self._new_strategy(mean, **self.effective)

    def _ask(self, rng: np.random.Generator) -> GenomeBatch:
        assert self.strategy is not None
        return DenseGenomes(self.strategy.ask().astype(np.float32))

    def _tell(
        self, batch: GenomeBatch, result: PopulationResult, rng: np.random.Generator
    ) -> dict[str, Any]:
        assert self.strategy is not None
        # sum_t (r_t + shift) = return + shift * length: shaping needs no per-step hook.
        fitness = result.fitness + self.reward_shift * result.lengths.mean(axis=1)
        self.strategy.tell(fitness)
        return {
            "sigma": float(self.strategy.sigma),
            "fitness_best": float(fitness.max()),
            "popsize": self.effective["popsize"],
            "mean_norm": float(np.linalg.norm(self.strategy.mean)),
        }

    def _best(self) -> np.ndarray:
        assert self.strategy is not None
        return np.asarray(self.strategy.mean, dtype=np.float32)

    def _state_dict(self) -> dict[str, Any]:
        assert self.strategy is not None
        return {"effective": dict(self.effective), "strategy": self.strategy.state_dict()}

    def _load_state_dict(self, state: Mapping[str, Any]) -> None:
        assert self.net is not None
        self.effective = dict(state["effective"])
        self.strategy = self._new_strategy(np.zeros(self.net.num_params), **self.effective)
        self.strategy.load_state_dict(state["strategy"])


@register("csa_es")
class CSAES(LinearPolicyES):
    """(mu/mu_w, lambda)-CSA-ES with Wong et al.'s linear policies (module docstring).

    Args:
        mirrored: antithetic pairs ``(z, -z)`` (the reference code's default).
        **kwargs: :class:`LinearPolicyES` options.
    """

    def __init__(self, mirrored: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mirrored = bool(mirrored)

    def hyperparameters(self) -> dict[str, Any]:
        return {"mirrored": self.mirrored, **super().hyperparameters()}

    def _new_strategy(
        self, mean: np.ndarray, sigma0: float, popsize: int, seed: int
    ) -> CSAStrategy:
        return CSAStrategy(mean, sigma0, popsize, self.mirrored, np.random.default_rng(seed))

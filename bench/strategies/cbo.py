"""Consensus-based optimisation (CBO; Pinnau, Totzeck, Tse & Martin 2017, M3AS 27(1); Carrillo,
Choi, Totzeck & Tse 2018) on policy parameters, through CBXpy (``cbx.dynamics.CBO``).

Particles ``x_i`` drift towards their consensus point, the Gibbs-weighted mean
``c = sum_i x_i exp(-alpha E(x_i)) / sum_i exp(-alpha E(x_i))`` (energy E = minus the return),
and diffuse with noise proportional to their distance from it:
``x_i <- x_i - lamda dt (x_i - c) + sigma sqrt(dt) |x_i - c| N(0, I)`` (``noise: isotropic``;
``anisotropic`` scales each coordinate by its own distance). Riedl, Klock, Geldhauser &
Fornasier (2023, "Gradient is All You Need?", arXiv 2306.09778) read it as a stochastic
relaxation of gradient descent. It runs in the dense-genome setting of Wong et al.
(:mod:`bench.population.dense`): linear policy, observation normalisation, particles drawn
around the zero mean with ``sigma0``; the evaluated policy is the consensus point.

CBXpy runs the dynamics itself and calls the objective inside ``step()``. To fit the generation
loop, ``ask`` hands out the current particles and ``tell`` runs one ``step()`` whose objective
returns the energies just measured for exactly those particles (the same array, checked), so
CBXpy's own update, noise and bookkeeping are used unchanged. Its random stream is seeded from
the run's seed; the whole dynamic is pickled into the checkpoint.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
from cbx.dynamics import CBO as CBXDynamics

from bench.interface import ConfigError, Contract
from bench.population.dense import DenseES
from bench.registry import register

NOISES = ("isotropic", "anisotropic")


class MeasuredEnergy:
    """CBXpy's objective: the energies ``tell`` measured for the particles it was given."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.energy: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.energy is None or self.x is None or not np.array_equal(x, self.x):
            raise RuntimeError("CBXpy asked for energies of particles that were not evaluated")
        return self.energy


class CBOStrategy:
    """Ask/tell CBO on dense vectors (maximises returns) over a CBXpy dynamic."""

    def __init__(
        self,
        mean: np.ndarray,
        sigma0: float,
        particles: int,
        seed: int = 0,
        **dynamics: Any,
    ) -> None:
        rng = np.random.default_rng(seed)
        mean = np.asarray(mean, dtype=np.float64)
        x = mean + sigma0 * rng.standard_normal((1, int(particles), mean.size))
        self.objective = MeasuredEnergy()
        self.dyn = CBXDynamics(
            self.objective, f_dim="3D", check_f_dims=False, x=x, seed=seed, verbosity=0,
            max_it=2**62, **dynamics,
        )  # fmt: skip
        self._consensus = mean.copy()

    @property
    def mean(self) -> np.ndarray:
        """The consensus point of the last step (the initial mean before the first)."""
        return self._consensus.copy()

    @property
    def sigma(self) -> float:
        """The particles' spread: root mean squared distance to the consensus point."""
        x = self.dyn.x[0]
        return float(np.sqrt(((x - self._consensus) ** 2).sum(-1).mean()))

    def ask(self) -> np.ndarray:
        return self.dyn.x[0].copy()

    def tell(self, returns: np.ndarray) -> None:
        self.objective.x = self.dyn.x.copy()
        self.objective.energy = -np.asarray(returns, dtype=np.float64)[None, :]
        self.dyn.step()
        self._consensus = np.asarray(self.dyn.consensus, dtype=np.float64).reshape(-1).copy()
        self.objective.x = self.objective.energy = None

    def state_dict(self) -> dict[str, Any]:
        # Pickled together, so the restored dynamic calls the restored objective.
        blob = pickle.dumps((self.dyn, self.objective), protocol=pickle.HIGHEST_PROTOCOL)
        return {"dynamics": blob, "consensus": self._consensus.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.dyn, self.objective = pickle.loads(state["dynamics"])
        self._consensus = np.asarray(state["consensus"], dtype=np.float64).copy()


@register("cbo")
class CBO(DenseES):
    """Consensus-based optimisation on dense genomes (module docstring); ``popsize`` is the
    number of particles.

    Args:
        dt: time step (CBXpy's default 0.01).
        alpha: inverse temperature of the consensus weights (CBXpy's default 1.0).
        lamda: drift rate towards the consensus (CBXpy's default 1.0).
        noise_sigma: noise scale (CBXpy's default 5.1).
        noise: ``isotropic`` (CBXpy's default) or ``anisotropic``.
        **kwargs: :class:`~bench.population.dense.DenseES` options (sigma0, popsize, ...).
    """

    contract: ClassVar[Contract] = replace(
        DenseES.contract, solves=("cartpole", 20_000, 475.0),
        # 8, not the default 32: three generations within the contract's 2,000 frames
        params={"popsize": 8},
        bad_params=(*DenseES.contract.bad_params, {"dt": 0.0}, {"noise": "pink"}),
    )  # fmt: skip

    def __init__(
        self,
        dt: float = 0.01,
        alpha: float = 1.0,
        lamda: float = 1.0,
        noise_sigma: float = 5.1,
        noise: str = "isotropic",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if dt <= 0 or alpha <= 0 or lamda < 0 or noise_sigma < 0:
            raise ConfigError(
                f"CBO needs dt > 0, alpha > 0, lamda >= 0, noise_sigma >= 0; got dt={dt}, "
                f"alpha={alpha}, lamda={lamda}, noise_sigma={noise_sigma}"
            )
        if noise not in NOISES:
            raise ConfigError(f"noise must be one of {NOISES}, got {noise!r}")
        self.dt, self.alpha, self.lamda = float(dt), float(alpha), float(lamda)
        self.noise_sigma, self.noise = float(noise_sigma), noise

    def new_dense(self, mean: np.ndarray, sigma0: float, popsize: int, seed: int) -> CBOStrategy:
        return CBOStrategy(
            mean, sigma0, popsize, seed, dt=self.dt, alpha=self.alpha, lamda=self.lamda,
            sigma=self.noise_sigma, noise=self.noise,
        )  # fmt: skip

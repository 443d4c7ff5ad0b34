"""OpenAI-ES: Salimans, Ho, Chen, Sidor & Sutskever (2017), "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning", arXiv 1703.03864; code openai/evolution-strategies-starter.

Mirrored (antithetic) Gaussian perturbations of the policy parameters ``theta``, returns shaped
into centred ranks in [-0.5, 0.5], the gradient estimate
``g = sum_i (F(theta + sigma eps_i) - F(theta - sigma eps_i)) eps_i / (2 * pairs)`` and an Adam
step on ``-g + l2coeff * theta``. Perturbations are slices of a shared noise table, so only
offsets cross process boundaries. The policy that is evaluated is the mean ``theta``.

Deviations, for a single machine: observation statistics come from every training rollout (the
paper samples 1% of them), and the default noise table holds 25M floats (the paper's 250M).
Generation size is ``population_size`` episodes rather than the paper's 10,000-episode batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import scipy.stats

from bench.interface import ConfigError, Contract
from bench.population.genomes import GenomeBatch, NoiseTable, Perturbations
from bench.population.method import SEED_HIGH, PopulationMethod
from bench.population.networks import PolicyNet
from bench.population.rollout import PopulationResult
from bench.population.strategy import Strategy, shaped_fitness
from bench.registry import register


def centered_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of ``x`` (any shape) scaled to [-0.5, 0.5]; tied values share their mean rank.

    Salimans et al. section 2.2: rank shaping makes the update invariant to monotone transforms
    of the return and removes the influence of outlier episodes. The reference code ranks ties
    by position; sharing the rank makes a tied mirrored pair (e.g. both at CartPole's cap of
    500) contribute nothing instead of a random direction.
    """
    flat = np.asarray(x, dtype=np.float64).ravel()
    if flat.size < 2:
        return np.zeros(np.shape(x), dtype=np.float64)
    ranks = scipy.stats.rankdata(flat, method="average") - 1
    return (ranks / (flat.size - 1) - 0.5).reshape(np.shape(x))


@dataclass
class Adam:
    """Adam (Kingma & Ba 2015) as in es_distributed/optimizers.py: bias-corrected step size."""

    dim: int
    stepsize: float
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    t: int = 0
    m: np.ndarray = field(init=False)
    v: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.m = np.zeros(self.dim, dtype=np.float64)
        self.v = np.zeros(self.dim, dtype=np.float64)

    def step(self, gradient: np.ndarray) -> np.ndarray:
        """The step to *add* to the parameters for a loss ``gradient`` (descent)."""
        self.t += 1
        a = self.stepsize * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        self.m = self.beta1 * self.m + (1 - self.beta1) * gradient
        self.v = self.beta2 * self.v + (1 - self.beta2) * gradient * gradient
        return -a * self.m / (np.sqrt(self.v) + self.epsilon)


class OpenAIESStrategy:
    """Ask/tell core of OpenAI-ES over a shared noise table (maximises returns).

    ``ask`` returns ``pairs`` noise offsets; candidate ``2i`` is ``theta + sigma * eps_i`` and
    candidate ``2i + 1`` is ``theta - sigma * eps_i``. ``tell`` takes their returns in that order.
    """

    def __init__(
        self,
        theta: np.ndarray,
        sigma: float = 0.02,
        stepsize: float = 0.01,
        l2coeff: float = 0.005,
        pairs: int = 50,
        noise: NoiseTable | None = None,
    ) -> None:
        if sigma <= 0:
            raise ConfigError(f"sigma must be > 0, got {sigma}")
        if stepsize <= 0:
            raise ConfigError(f"stepsize (Adam learning rate) must be > 0, got {stepsize}")
        if l2coeff < 0:
            raise ConfigError(f"l2coeff must be >= 0, got {l2coeff}")
        if pairs < 1:
            raise ConfigError(f"pairs (mirrored samples per generation) must be >= 1, got {pairs}")
        self.theta = np.asarray(theta, dtype=np.float64).copy()
        self.sigma, self.l2coeff, self.pairs = float(sigma), float(l2coeff), int(pairs)
        self.noise = noise or NoiseTable()
        if self.noise.size < self.theta.size:
            raise ConfigError(f"noise table ({self.noise.size}) < policy size ({self.dim})")
        self.optimizer = Adam(self.theta.size, float(stepsize))
        self.last_gradient_norm = 0.0

    @property
    def dim(self) -> int:
        return self.theta.size

    def ask(self, rng: np.random.Generator) -> np.ndarray:
        """Noise offsets, one per mirrored pair."""
        return np.asarray(self.noise.sample_index(rng, self.dim, self.pairs), dtype=np.int64)

    def candidates(self, indices: np.ndarray) -> np.ndarray:
        """Dense parameters of the ``2 * pairs`` candidates (for in-process evaluation/tests)."""
        eps = np.stack([self.noise.get(int(i), self.dim) for i in indices])
        return np.stack([self.theta + self.sigma * eps, self.theta - self.sigma * eps], 1).reshape(
            -1, self.dim
        )

    def gradient(self, indices: np.ndarray, returns: np.ndarray) -> np.ndarray:
        """Ascent direction from returns ordered as ``candidates``: ``(2 * pairs,)``."""
        shaped = centered_ranks(np.asarray(returns, dtype=np.float64).reshape(-1, 2))
        weights = shaped[:, 0] - shaped[:, 1]
        g = np.zeros(self.dim, dtype=np.float64)
        for w, i in zip(weights, indices, strict=True):
            g += w * self.noise.get(int(i), self.dim)
        return g / shaped.size  # the reference divides by the number of returns, not by sigma

    def tell(self, indices: np.ndarray, returns: np.ndarray) -> None:
        g = self.gradient(indices, returns)
        self.last_gradient_norm = float(np.linalg.norm(g))
        self.theta = self.theta + self.optimizer.step(-g + self.l2coeff * self.theta)

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta.copy(), "optimizer": dict(vars(self.optimizer))}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.theta = np.asarray(state["theta"], dtype=np.float64).copy()
        for key, value in state["optimizer"].items():
            setattr(self.optimizer, key, value.copy() if hasattr(value, "copy") else value)


class OpenAIESLoop(Strategy):
    """:class:`OpenAIESStrategy` in the generation loop: candidates cross as (offset, sign)
    pairs around the mean, which workers receive once per generation (:meth:`shared`)."""

    def __init__(self, core: OpenAIESStrategy, reward_shift: float) -> None:
        self.core, self.reward_shift = core, reward_shift
        self._indices: np.ndarray | None = None

    def ask(self, rng: np.random.Generator) -> GenomeBatch:
        self._indices = self.core.ask(rng)
        pairs = len(self._indices)
        return Perturbations(
            indices=np.repeat(self._indices, 2),
            signs=np.tile(np.array([1, -1], dtype=np.int8), pairs),
            sigma=self.core.sigma,
            noise=self.core.noise,
        )

    def shared(self) -> Mapping[str, np.ndarray]:
        return {"mean": self.core.theta}

    def tell(
        self, batch: GenomeBatch, result: PopulationResult, rng: np.random.Generator
    ) -> dict[str, Any]:
        assert self._indices is not None
        self.core.tell(self._indices, shaped_fitness(result, self.reward_shift))
        return {
            "sigma": self.core.sigma,
            "gradient_norm": self.core.last_gradient_norm,
            "theta_norm": float(np.linalg.norm(self.core.theta)),
        }

    def best(self) -> np.ndarray:
        return self.core.theta.astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return self.core.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.core.load_state_dict(state)


@register("es")
class OpenAIES(PopulationMethod):
    """OpenAI-ES under the harness (see the module docstring); the evaluated policy is the mean.

    Args:
        sigma: noise standard deviation (``noise_stdev`` in the reference code).
        stepsize: Adam learning rate.
        l2coeff: L2 weight decay coefficient, added to the loss gradient.
        population_size: episodes' genomes per generation, ``2 * pairs`` (mirrored, so even).
        noise_table_size, noise_seed: the shared noise table (float32 entries; 123 as published).
        reward_shift: added to every training reward, for the fitness only (0: off).
        action_noise: std of Gaussian noise on continuous actions in training episodes
            (``ac_noise_std``: 0.01 in configurations/humanoid.json:24, added in
            es_distributed/policies.py:198-199 on training rollouts only, es.py:306-309).
        **common: :class:`PopulationMethod` options (network, obs_norm, backend, ...).

    The policy's initial weights are normc (es_distributed/policies.py:154,190) and its
    observation normalisation OpenAI-ES's (std floor 0.1, clip +-5: ``obs_norm.OPENAI_ES``).
    """

    net_init: ClassVar[str] = "normc"

    small_noise: ClassVar[dict[str, Any]] = {"noise_table_size": 1_000_000}  # 4 MB, for tests
    contract: ClassVar[Contract] = replace(
        PopulationMethod.contract, params={**small_noise, "population_size": 10}, frames=12_000,
        solve_params=small_noise,
        solves=("cartpole", 100_000, 475.0),
        bad_params=({"sigma": 0.0}, {"sigma": -1}, {"stepsize": 0}, {"population_size": 3},
                    {"population_size": 0}, {"network": "resnet"}),
    )  # fmt: skip

    def __init__(
        self,
        sigma: float = 0.02,
        stepsize: float = 0.01,
        l2coeff: float = 0.005,
        population_size: int = 100,
        noise_table_size: int = 25_000_000,
        noise_seed: int = 123,
        reward_shift: float = 0.0,
        action_noise: float = 0.0,
        network: str = "mlp",
        obs_norm: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(network=network, obs_norm=obs_norm, **common)
        if population_size < 2 or population_size % 2:
            raise ConfigError(
                f"population_size must be even and >= 2 (mirrored pairs), got {population_size}"
            )
        if noise_table_size < 1:
            raise ConfigError(f"noise_table_size must be >= 1, got {noise_table_size}")
        self.sigma, self.stepsize, self.l2coeff = float(sigma), float(stepsize), float(l2coeff)
        self.population_size = int(population_size)
        self.noise_table_size, self.noise_seed = int(noise_table_size), int(noise_seed)
        self.reward_shift = float(reward_shift)
        if action_noise < 0:
            raise ConfigError(f"action_noise must be >= 0, got {action_noise}")
        self.action_noise = float(action_noise)
        # Validates sigma / stepsize / l2coeff now, before any work (a ConfigError, not at train).
        self.new_core(np.zeros(1), NoiseTable(1, 0))

    def training_action_noise(self) -> float:
        return self.action_noise

    def new_core(self, theta: np.ndarray, noise: NoiseTable | None = None) -> OpenAIESStrategy:
        noise = noise or NoiseTable(self.noise_table_size, self.noise_seed)
        return OpenAIESStrategy(
            theta, self.sigma, self.stepsize, self.l2coeff, self.population_size // 2, noise
        )

    def make_strategy(self, net: PolicyNet, rng: np.random.Generator) -> OpenAIESLoop:
        theta = net.init_params(int(rng.integers(SEED_HIGH)))
        return OpenAIESLoop(self.new_core(theta), self.reward_shift)

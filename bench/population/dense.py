"""Population methods whose genomes are dense parameter vectors: the ES family of Wong et al.

Wong, de Nobel, Baeck, Plaat & Kononova (2024), "Solving Deep Reinforcement Learning Tasks with
Evolution Strategies and Linear Policy Networks", arXiv 2402.06912 (code
ann-w/solving_drl_tasks_with_es_and_linear_policy_networks). Every strategy over dense vectors
(CSA-ES, CMA-ES, sep-CMA-ES, CEM, CBO) shares their setting: a linear policy (no bias, zero
init: the initial mean is 0), running observation normalisation folded in at every time step
child by child (``obs_norm.WONG_2024``; one worker), one episode per candidate,
the mean as the evaluated policy, and training-only reward shaping (``reward_shift`` is added to
every training reward for the fitness: Hopper, Walker2d, Ant -1, Humanoid -5 in the paper; the
evaluation always sees the raw reward). ``network: mlp`` trains an MLP the same way.

A dense strategy is anything with the :class:`DenseStrategy` interface (``ask() -> (lambda, n)``,
``tell(returns)``, ``mean``, ``sigma``); :class:`DenseES` adapts it to the generation loop.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import numpy as np

from bench.interface import ConfigError, Contract
from bench.paper_scores import PaperScores, median_return
from bench.population.genomes import DenseGenomes, GenomeBatch
from bench.population.method import SEED_HIGH, PopulationMethod
from bench.population.networks import PolicyNet
from bench.population.obs_norm import WONG_2024, NormRule
from bench.population.rollout import PopulationResult
from bench.population.strategy import Strategy, shaped_fitness


def default_popsize(n: int) -> int:
    """Wong et al.'s lambda where none is given: ``min(128, max(32, floor(n / 2)))``, rounded up
    to even (es/src/rl_es/algorithms.py:210-211 ``init_lambda`` "n/2", applied by CSA-ES :302
    and CMA-ES :371 when ``--lamb`` is unset; odd values rounded up :303-304, :376-377)."""
    lam = min(128, max(32, n // 2))
    return lam + lam % 2


def default_sigma0(n: int) -> float:
    """Wong et al.'s fallback initial step size ``min(0.01, max(1/sqrt(n), 0.005))``
    (es/src/rl_es/main.py:223)."""
    return min(0.01, max(1 / math.sqrt(max(n, 1)), 0.005))


class DenseStrategy(Protocol):
    """Ask/tell on dense vectors, maximising returns (CSA, pycma, EvoTorch's CEM, CBXpy's CBO)."""

    mean: np.ndarray
    sigma: float

    def ask(self) -> np.ndarray: ...
    def tell(self, returns: np.ndarray) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class DenseAdapter(Strategy):
    """A :class:`DenseStrategy` in the generation loop: candidates cross as DenseGenomes."""

    def __init__(self, dense: DenseStrategy, effective: Mapping[str, Any], shift: float) -> None:
        self.dense, self.effective, self.shift = dense, dict(effective), shift
        self.best_fitness = -np.inf  # the best offspring so far, by training fitness
        self.best_offspring: np.ndarray | None = None

    def ask(self, rng: np.random.Generator) -> GenomeBatch:
        return DenseGenomes(self.dense.ask().astype(np.float32))

    def tell(
        self, batch: GenomeBatch, result: PopulationResult, rng: np.random.Generator
    ) -> dict[str, Any]:
        fitness = shaped_fitness(result, self.shift)
        top = int(np.argmax(fitness))
        if fitness[top] > self.best_fitness:
            self.best_fitness = float(fitness[top])
            assert isinstance(batch, DenseGenomes)
            self.best_offspring = np.array(batch.params[top], dtype=np.float32)
        self.dense.tell(fitness)
        return {
            "sigma": float(self.dense.sigma),
            "fitness_best": float(fitness.max()),
            "popsize": self.effective["popsize"],
            "mean_norm": float(np.linalg.norm(self.dense.mean)),
        }

    def best(self) -> np.ndarray:
        return np.asarray(self.dense.mean, dtype=np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {
            "effective": dict(self.effective),
            "strategy": self.dense.state_dict(),
            "best": (self.best_fitness, self.best_offspring),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.effective = dict(state["effective"])
        self.dense.load_state_dict(state["strategy"])
        self.best_fitness, self.best_offspring = state["best"]


class DenseES(PopulationMethod):
    """Wong et al. (2024)'s setting for an ES on dense genomes; subclasses pick the strategy.

    Args:
        sigma0: initial step size; None: ``min(0.01, max(1/sqrt(n), 0.005))``.
        popsize: lambda; None: ``min(128, max(32, floor(n / 2)))`` (:func:`default_popsize`).
            Rounded up to even, as in the reference code (mu = lambda / 2).
        reward_shift: per-step training reward offset (fitness only).
        **common: :class:`PopulationMethod` options (``network: mlp`` trains an MLP).
    """

    # Wong et al. ran these on vectors only (Atari through its RAM); a dense-genome ES on a
    # CNN's millions of parameters is out of reach, so pixel envs are skipped, not attempted.
    observation_kinds: ClassVar[frozenset[str]] = frozenset({"vector"})
    obs_norm_rule: ClassVar[NormRule] = WONG_2024
    paper_score_rules: ClassVar[frozenset[str]] = frozenset({"wong2024"})
    #: Wong et al. test every 5 generations (es/src/rl_es/main.py:118, ``test_every``).
    test_every: ClassVar[int] = 5
    contract: ClassVar[Contract] = Contract(
        exact_resume=True, backends=("process",), backend_params={"obs_norm_fold": "generation"},
        bad_params=(
            {"sigma0": 0.0}, {"sigma0": -0.1}, {"popsize": 1},
            {"backend": "process", "workers": 2},  # per-step folding needs one worker
        ),
    )  # fmt: skip

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

    @abstractmethod
    def new_dense(self, mean: np.ndarray, sigma0: float, popsize: int, seed: int) -> DenseStrategy:
        """The strategy around ``mean``; ``seed`` seeds its private random stream."""

    def paper_tests(self, paper: PaperScores) -> None:
        """wong2024: every 5 generations, the best offspring so far and the mean."""
        adapter = self.strategy
        assert isinstance(adapter, DenseAdapter)
        if self.generation % self.test_every or adapter.best_offspring is None:
            return
        best = median_return(paper.test(self.make_policy(adapter.best_offspring)))
        mean = median_return(paper.test(self.make_policy(adapter.best())))
        paper.log(max(best, mean), generation=self.generation, best_median=best, mean_median=mean)

    def make_strategy(self, net: PolicyNet, rng: np.random.Generator) -> Strategy:
        n = net.num_params
        popsize = self.popsize or default_popsize(n)
        effective = {
            "sigma0": self.sigma0 or default_sigma0(n),
            "popsize": popsize + popsize % 2,
            "seed": int(rng.integers(SEED_HIGH)),
        }
        mean = net.init_params(int(rng.integers(SEED_HIGH))).astype(np.float64)
        return DenseAdapter(self.new_dense(mean, **effective), effective, self.reward_shift)

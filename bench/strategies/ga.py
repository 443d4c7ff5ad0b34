"""Deep Genetic Algorithm (Such et al. 2017, arXiv 1712.06567) and random search (its T = 0).

Follows uber-research/deep-neuroevolution ``gpu_implementation/ga.py`` and
``configurations/ga_atari_config.json``: N children a generation (N random genomes at first),
each a parent drawn uniformly from the top T plus ``sigma * N(0, I)`` (ga.py:123-129); no
crossover. The top ``elite_candidates`` by training return (plus the previous elite, replacing
the last of them; ga.py:188-190) get ``elite_eval_episodes`` extra episodes, charged to the
budget (ga.py:207-209), and the best mean becomes the elite. The elite is not evaluated again in
the next population; it lives on as a parent (replacing the T-th if it is not among the top T,
ga.py:263-267) and as a validation candidate. Random search (T = 0) draws every genome fresh.

Genomes are seed chains ``(init_seed, (seed_1, sigma_1), ...)``: weights are rebuilt
deterministically (workers cache parents, so a child costs one noise draw), and a genome is a
few bytes per generation instead of 4 bytes per parameter; generation rows record both.
The original draws slices from a shared noise table; here each seed seeds its own generator,
which needs no 1 GB table per worker and rebuilds the same weights bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from bench.interface import ConfigError, Contract
from bench.paper_scores import PaperScores
from bench.population.genomes import (
    GenomeBatch,
    GenomeStore,
    SeedChains,
    chain_nbytes,
    chain_params,
)
from bench.population.method import SEED_HIGH, PopulationMethod
from bench.population.networks import PolicyNet
from bench.population.rollout import PopulationResult
from bench.population.strategy import Strategy
from bench.registry import register


class GAStrategy(Strategy):
    """The Deep GA's selection and mutation over seed chains (see the module docstring).

    ``tell`` ranks the population and picks the elite candidates; ``validation`` asks for
    their extra episodes; ``tell_validation`` makes the best of them the elite and sets the
    next parents. Subclasses change what selection ranks by (:meth:`selection_scores`) and
    whether the elite joins the parents (:attr:`elite_joins_parents`).
    """

    #: the elite replaces the T-th parent when it is not among the top T (the Deep GA's rule).
    elite_joins_parents: ClassVar[bool] = True
    #: the elite is also evaluated, unchanged, in the next population. Not in the Deep GA's
    #: code: every one of its N children is a mutation (gpu_implementation/ga.py:123-129); the
    #: elite lives on through the validation set and the parents (ga.py:263-267).
    carry_elite: ClassVar[bool] = False

    def __init__(
        self,
        net: PolicyNet,
        rng: np.random.Generator,
        population_size: int,
        truncation: int,
        mutation_power: float,
        elite_candidates: int,
        elite_eval_episodes: int,
    ) -> None:
        self.net, self.population_size, self.truncation = net, population_size, truncation
        self.mutation_power = mutation_power
        self.elite_candidates, self.elite_eval_episodes = elite_candidates, elite_eval_episodes
        self.population = self._fresh(rng, population_size)  # generation 0: all random
        self.parents: list[tuple] = []
        self.ranked: list[tuple] = []
        self.candidates: list[tuple] = []
        self.elite: tuple | None = None
        # such2017: the elite of the generation whose validated candidates scored best on mean.
        self.best_validation_mean = -np.inf
        self.test_genome: tuple | None = None
        self._store: GenomeStore | None = None

    @staticmethod
    def _fresh(rng: np.random.Generator, n: int) -> list[tuple]:
        return [(int(s),) for s in rng.integers(0, SEED_HIGH, size=n)]

    def ask(self, rng: np.random.Generator) -> GenomeBatch:
        if self.elite is None:  # generation 0: all random
            return SeedChains(list(self.population))
        n_children = self.population_size
        if self.truncation == 0:
            children = self._fresh(rng, n_children)
        else:
            picks = np.sort(rng.integers(0, len(self.parents), size=n_children))  # by parent:
            seeds = rng.integers(0, SEED_HIGH, size=n_children)  # contiguous chunks share caches
            sigma = self.mutation_power
            children = [
                (*self.parents[p], (int(s), sigma)) for p, s in zip(picks, seeds, strict=True)
            ]
        self.population = [self.elite, *children] if self.carry_elite else children
        return SeedChains(list(self.population))

    def selection_scores(
        self, result: PopulationResult, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """What selection ranks by, and extra row columns: the mean training return."""
        return result.fitness, {}

    def tell(
        self, batch: GenomeBatch, result: PopulationResult, rng: np.random.Generator
    ) -> dict[str, Any]:
        scores, row = self.selection_scores(result, rng)
        order = np.argsort(-scores, kind="stable")
        self.ranked = [self.population[i] for i in order]
        by_return = np.argsort(-result.fitness, kind="stable")  # the elite: always by return
        self.candidates = [self.population[i] for i in by_return[: self.elite_candidates]]
        if self.elite is not None and self.candidates and self.elite not in self.candidates:
            self.candidates[-1] = self.elite  # the previous elite replaces the last candidate
        if not self.candidates:  # no validation: the best training return is the elite
            self.elite = self.population[by_return[0]]
            self._choose_parents()
            row["elite_validation_return"] = float(result.fitness[by_return[0]])
            row.update(self.generation_row())
        return {**row, "score_best": float(scores[order[0]])}

    def validation(self) -> tuple[GenomeBatch, int] | None:
        if not self.candidates:
            return None
        return SeedChains(list(self.candidates)), self.elite_eval_episodes

    def tell_validation(self, batch: GenomeBatch, result: PopulationResult) -> dict[str, Any]:
        best = int(np.argmax(result.fitness))
        self.elite = self.candidates[best]
        self._choose_parents()
        if result.fitness.mean() > self.best_validation_mean:  # ga.py:222: the mean of all
            self.best_validation_mean = float(result.fitness.mean())  # validated candidates
            self.test_genome = self.elite
        return {"elite_validation_return": float(result.fitness[best]), **self.generation_row()}

    def _choose_parents(self) -> None:
        self.parents = self.ranked[: self.truncation]
        if self.elite_joins_parents and self.parents and self.elite not in self.parents:
            self.parents[-1] = self.elite

    def generation_row(self) -> dict[str, Any]:
        assert self.elite is not None
        return {
            "sigma": self.mutation_power,
            "truncation": self.truncation,
            "elite_chain_length": len(self.elite),
            "elite_encoding_bytes": chain_nbytes(self.elite),
            "elite_weight_bytes": 4 * self.net.num_params,
        }

    def best(self) -> np.ndarray:
        return self.weights(self.elite if self.elite is not None else self.population[0])

    def weights(self, genome: tuple) -> np.ndarray:
        if self._store is None:
            self._store = GenomeStore(self.net)
        # Keep just this genome: the next elite is often it or one of its descendants.
        weights = chain_params(genome, self._store)
        self._store.chains = {genome: weights.copy()}
        return weights

    def state_dict(self) -> dict[str, Any]:
        return {
            "population": self.population, "parents": self.parents, "elite": self.elite,
            "test": (self.best_validation_mean, self.test_genome),
        }  # fmt: skip

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.population = list(state["population"])
        self.parents = list(state["parents"])
        self.elite = state["elite"]
        self.best_validation_mean, self.test_genome = state["test"]


@register("ga")
class DeepGA(PopulationMethod):
    """Deep GA; see the module docstring.

    Args:
        population_size: N, children per generation.
        truncation: T, parents are drawn uniformly from the top T (0: random search).
        mutation_power: sigma, std of the Gaussian parameter mutation.
        elite_candidates: top genomes re-evaluated to choose the elite (0: best training score).
        elite_eval_episodes: extra episodes per elite candidate.
        **common: :class:`PopulationMethod` options (network, backend, ...).
    """

    paper_score_rules: ClassVar[frozenset[str]] = frozenset({"such2017"})
    contract: ClassVar[Contract] = replace(
        PopulationMethod.contract,
        params={"population_size": 20, "elite_candidates": 3, "elite_eval_episodes": 2},
        frames=8_000,
        solves=("cartpole", 100_000, 475.0),
        bad_params=(
            {"population_size": 10, "truncation": 11}, {"mutation_power": 0.0},
            {"mutation_power": -1.0}, {"population_size": 1}, {"network": "transformer"},
            {"backend": "slurm"}, {"elite_candidates": 2000},
        ),
    )  # fmt: skip

    def __init__(
        self,
        population_size: int = 1000,
        truncation: int = 20,
        mutation_power: float = 0.002,
        elite_candidates: int = 10,
        elite_eval_episodes: int = 30,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if population_size < 2:
            raise ConfigError(f"population_size must be >= 2, got {population_size}")
        if not 0 <= truncation <= population_size:
            raise ConfigError(
                f"truncation ({truncation}) must be in [0, population_size ({population_size})]"
            )
        if mutation_power <= 0:
            raise ConfigError(f"mutation_power (sigma) must be > 0, got {mutation_power}")
        if not 0 <= elite_candidates <= population_size:
            raise ConfigError(f"elite_candidates must be in [0, {population_size}]")
        if elite_candidates and elite_eval_episodes < 1:
            raise ConfigError(f"elite_eval_episodes must be >= 1, got {elite_eval_episodes}")
        self.population_size, self.truncation = int(population_size), int(truncation)
        self.mutation_power = float(mutation_power)
        self.elite_candidates = int(elite_candidates)
        self.elite_eval_episodes = int(elite_eval_episodes)

    def genomes_to_cache(self) -> int:
        return self.truncation + 1  # the next parents (top T) and the elite

    def paper_final_test(self, paper: PaperScores) -> None:
        """such2017: test the elite of the best-validated generation (ga.py:201-225)."""
        strategy = self.strategy
        assert isinstance(strategy, GAStrategy)
        if strategy.test_genome is None:
            raise ConfigError("paper_score=such2017 needs elite validation (elite_candidates > 0)")
        result = paper.test(self.make_policy(strategy.weights(strategy.test_genome)))
        paper.log(
            float(np.mean(result.returns)), validation_mean=strategy.best_validation_mean,
            elite_chain_length=len(strategy.test_genome), test_episodes=len(result.returns),
        )  # fmt: skip

    def make_strategy(self, net: PolicyNet, rng: np.random.Generator) -> GAStrategy:
        return GAStrategy(
            net, rng, self.population_size, self.truncation, self.mutation_power,
            self.elite_candidates, self.elite_eval_episodes,
        )  # fmt: skip


@register("random_search")
class RandomSearch(DeepGA):
    """Random search: the Deep GA with T = 0 (every genome a fresh random network)."""

    contract: ClassVar[Contract] = replace(
        DeepGA.contract, solves=None, bad_params=({"truncation": 3}, {"population_size": 1})
    )

    def __init__(self, truncation: int = 0, **kwargs: Any) -> None:
        if truncation != 0:
            raise ConfigError(f"random_search has truncation 0, got {truncation}")
        super().__init__(truncation=0, **kwargs)

"""Deep GA, random search and GA-NS: encoding, selection and the budget's accounting.

Determinism, resume, backends, bad settings and solving CartPole are the contract suite's
(tests/test_contract.py), run on every registered algorithm."""

from __future__ import annotations

import numpy as np
import pytest

from bench.envs import EnvFactory, EnvSpec
from bench.interface import ConfigError
from bench.population.genomes import GenomeStore, SeedChains, chain_params
from bench.population.rollout import PopulationResult
from bench.strategies.ga import DeepGA, GAStrategy, RandomSearch
from bench.strategies.novelty import NoveltySearchGA, novelty
from tests.algos.conftest import net_spec, summary, table

CARTPOLE = EnvSpec("cartpole", "CartPole-v1", "classic")
SMALL = ["algo.params.population_size=20", "algo.params.elite_candidates=3",
         "algo.params.elite_eval_episodes=2"]  # fmt: skip


def test_seed_chain_rebuild_is_bit_identical(cartpole) -> None:
    """A child built from its cached parent equals one rebuilt from scratch and the formula."""
    spec = net_spec(cartpole, "mlp", hidden=(16, 16))
    net = spec.build()
    chain = (11, (21, 0.1), (31, 0.05), (41, 0.1))
    cached = GenomeStore(net)
    for depth in range(1, len(chain) + 1):  # generation by generation, as the GA builds them
        stored = chain_params(chain[:depth], cached)
        cached.chains[chain[:depth]] = stored.copy()
    fresh = chain_params(chain, GenomeStore(net))
    theta = net.init_params(11)
    for seed, power in chain[1:]:
        theta = theta + np.float32(power) * np.random.default_rng(seed).standard_normal(
            theta.size, np.float32
        )
    assert np.array_equal(stored, fresh) and np.array_equal(fresh, theta)
    assert SeedChains([chain]).nbytes() == 8 + 3 * 12 < 4 * net.num_params


def fake_result(fitness: np.ndarray) -> PopulationResult:
    n = len(fitness)
    return PopulationResult(fitness[:, None], np.ones((n, 1), np.int64), n, n)


def strategy(n: int, truncation: int, candidates: int) -> GAStrategy:
    """The GA's strategy alone, on a tiny net: selection without envs or a budget."""
    net = net_spec(EnvFactory(CARTPOLE), "mlp", hidden=(4,)).build()
    return GAStrategy(net, np.random.default_rng(0), n, truncation, 0.1, candidates, 1)


def generation(ga: GAStrategy, fitness: np.ndarray, validation: np.ndarray | None = None) -> None:
    """One ask / tell (/ validation) round with hand-written returns; no envs."""
    rng = np.random.default_rng(1)
    batch = ga.ask(rng)
    ga.tell(batch, fake_result(fitness), rng)
    follow_up = ga.validation()
    if follow_up is not None:
        candidates = follow_up[0]
        scores = validation if validation is not None else np.arange(len(candidates), 0, -1.0)
        ga.tell_validation(candidates, fake_result(scores))


def test_elite_lives_on_as_a_parent_and_truncation_one_has_one_parent() -> None:
    """gpu_implementation/ga.py:123-129: all N children are mutations; the elite is not
    evaluated again, it is a parent (ga.py:263-267: it replaces the T-th if not in the top T)."""
    ga = strategy(8, truncation=1, candidates=2)
    generation(ga, np.arange(8.0))
    elite = ga.elite
    batch = ga.ask(np.random.default_rng(2))
    assert len(batch) == 8 and elite not in batch.chains and ga.parents == [elite]
    assert all(c[:-1] == elite for c in batch.chains)  # T=1: one parent, the elite
    assert all(len(c) == 2 and c[-1][1] == 0.1 for c in batch.chains)


def test_elite_is_the_best_validated_candidate_not_the_best_training_score() -> None:
    """Training returns rank the candidates; their validation episodes choose the elite."""
    ga = strategy(6, truncation=2, candidates=3)
    generation(ga, np.arange(6.0), validation=np.array([1.0, 5.0, 2.0]))
    by_training = [ga.population[i] for i in (5, 4, 3)]  # the top 3 by training return
    assert ga.validation()[0].chains == by_training and ga.elite == by_training[1]
    assert ga.elite in ga.parents  # the Deep GA swaps the elite into the parents


def test_random_search_draws_every_genome_fresh() -> None:
    rs = strategy(6, truncation=0, candidates=0)
    generation(rs, np.arange(6.0))
    batch = rs.ask(np.random.default_rng(3))
    assert len(batch) == 6 and all(len(c) == 1 for c in batch.chains)
    with pytest.raises(ConfigError):
        RandomSearch(truncation=3)


def test_linear_policy_on_pixels_needs_opt_in() -> None:
    pong = EnvSpec("pong", "ALE/Pong-v5", "atari")
    with pytest.raises(ConfigError, match="allow_linear_on_pixels"):
        DeepGA(network="linear").check_compatible(pong)
    DeepGA(network="linear", allow_linear_on_pixels=True).check_compatible(pong)
    with pytest.raises(ConfigError, match="image"):
        DeepGA(network="large_cnn").check_compatible(CARTPOLE)


def test_episodes_and_frames_charged_exactly(job) -> None:
    """Training plus elite-validation episodes all count: N children plus candidates x
    validation episodes, every generation (ga.py:207-209 counts both)."""
    _, folder = job("algo=ga", "env=cartpole", "budget.frames=3_000", *SMALL)
    result, rows = summary(folder), table(folder / "generations.csv")
    gens = len(rows)
    assert gens >= 2 and result["episodes"] == gens * 20 + gens * 3 * 2
    assert result["frames"] == result["env_steps"] == int(rows[-1]["env_steps"])
    # The classic net (MLP 16-16) and its seed-chain encoding, smaller than its weights.
    assert result["policy_parameters"] == 4 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    assert int(rows[0]["elite_encoding_bytes"]) < int(rows[0]["elite_weight_bytes"])


def test_novelty_is_mean_distance_to_k_nearest() -> None:
    points = np.array([[0.0], [1.0], [3.0]])
    archive = np.array([[10.0]])
    scores = novelty(points, np.concatenate([points, archive]), k=2)
    np.testing.assert_allclose(scores, [(1 + 3) / 2, (1 + 2) / 2, (2 + 3) / 2])


def test_ga_ns_ram_behaviour_needs_atari() -> None:
    """(The maze runs of GA and GA-NS live in tests/algos/test_maze.py.)"""
    with pytest.raises(ConfigError, match="ram"):
        NoveltySearchGA(behaviour="ram").check_compatible(CARTPOLE)

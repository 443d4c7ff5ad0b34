"""Deep GA, random search and GA-NS: encoding, invariants, determinism, resume, learning."""

from __future__ import annotations

import numpy as np
import pytest

from bench.algos.evaluator import GenomeStore, PopulationResult, SeedChains, chain_params
from bench.algos.ga import DeepGA, RandomSearch
from bench.algos.novelty import NoveltySearchGA, novelty
from bench.envs import EnvSpec
from bench.interface import ConfigError
from tests.algos.conftest import assert_resume_equals_uninterrupted, net_spec, summary, table

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


class Untimed(DeepGA):
    """The GA with evaluation stubbed out, to test selection alone."""

    def evaluate_genomes(self, batch, episodes, rng):
        return fake_result(np.array([-len(c) - c[0] * 1e-9 for c in batch.chains], float))


def test_elite_survives_unchanged_and_truncation_one_has_one_parent() -> None:
    ga = Untimed(population_size=8, truncation=1, mutation_power=0.1, elite_candidates=2,
                 elite_eval_episodes=1)  # fmt: skip
    rng = np.random.default_rng(0)
    ga._setup(rng)
    batch = ga._ask(rng)
    ga._tell(batch, fake_result(np.arange(8.0)), rng)
    elite = ga.elite
    batch = ga._ask(rng)
    assert batch.chains[0] == elite  # carried unchanged, first in the population
    assert all(c[:-1] == ga.parents[0] for c in batch.chains[1:])  # T=1: one parent
    assert all(len(c) == 2 and c[-1][1] == 0.1 for c in batch.chains[1:])


def test_random_search_draws_every_genome_fresh() -> None:
    rs = RandomSearch(population_size=6, elite_candidates=0)
    rng = np.random.default_rng(0)
    rs._setup(rng)
    rs._tell(rs._ask(rng), fake_result(np.arange(6.0)), rng)
    batch = rs._ask(rng)
    assert batch.chains[0] == rs.elite and all(len(c) == 1 for c in batch.chains)
    with pytest.raises(ConfigError):
        RandomSearch(truncation=3)


@pytest.mark.parametrize(
    "kwargs",
    [{"population_size": 10, "truncation": 11}, {"mutation_power": 0.0},
     {"mutation_power": -1.0}, {"population_size": 1}, {"network": "transformer"},
     {"backend": "slurm"}, {"elite_candidates": 2000}],
)  # fmt: skip
def test_nonsense_settings_raise_config_error(kwargs) -> None:
    with pytest.raises(ConfigError):
        DeepGA(**kwargs)


def test_linear_policy_on_pixels_needs_opt_in() -> None:
    pong = EnvSpec("pong", "ALE/Pong-v5", "atari")
    with pytest.raises(ConfigError, match="allow_linear_on_pixels"):
        DeepGA(network="linear").check_compatible(pong)
    DeepGA(network="linear", allow_linear_on_pixels=True).check_compatible(pong)
    with pytest.raises(ConfigError, match="image"):
        DeepGA(network="large_cnn").check_compatible(CARTPOLE)


def test_ga_solves_cartpole_within_100k_frames(job) -> None:
    """CartPole-v1's threshold (475) within 100k frames (~50k in practice, seeds 0-2)."""
    meta, folder = job("algo=ga", "env=cartpole", "budget.frames=100_000",
                       "budget.eval_every_frames=10_000")  # fmt: skip
    assert meta["status"] == "completed"
    result = summary(folder)
    assert result["best_eval_return"] >= 475
    assert result["policy_parameters"] == 4 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    rows = table(folder / "generations.csv")
    assert int(rows[0]["elite_encoding_bytes"]) < int(rows[0]["elite_weight_bytes"])


def test_episodes_and_frames_charged_exactly(job) -> None:
    """Training plus elite-validation episodes all count: N (+ the elite after generation 0)
    plus candidates x validation episodes, every generation."""
    _, folder = job("algo=ga", "env=cartpole", "budget.frames=3_000", *SMALL)
    result, rows = summary(folder), table(folder / "generations.csv")
    gens = len(rows)
    assert gens >= 2 and result["episodes"] == 20 + (gens - 1) * 21 + gens * 3 * 2
    assert result["frames"] == result["env_steps"] == int(rows[-1]["env_steps"])


def test_same_seed_same_run(job) -> None:
    runs = [job("algo=ga", "env=cartpole", "budget.frames=8_000", *SMALL, sub=s)[1]
            for s in "ab"]  # fmt: skip
    for name in ("generations.csv", "metrics.csv"):
        assert table(runs[0] / name) == table(runs[1] / name)
    other = job("algo=ga", "env=cartpole", "budget.frames=8_000", "seed=1", *SMALL, sub="c")[1]
    assert table(other / "generations.csv") != table(runs[0] / "generations.csv")


@pytest.mark.parametrize("algo", ["ga", "ga_ns"])
def test_resume_after_a_crash_equals_an_uninterrupted_run(job, monkeypatch, algo) -> None:
    assert_resume_equals_uninterrupted(
        job, monkeypatch, DeepGA, f"algo={algo}", "env=cartpole", "budget.frames=12_000",
        "budget.eval_every_frames=2_000", "checkpoint.every_frames=1", *SMALL,
    )  # fmt: skip


def test_novelty_is_mean_distance_to_k_nearest() -> None:
    points = np.array([[0.0], [1.0], [3.0]])
    archive = np.array([[10.0]])
    scores = novelty(points, np.concatenate([points, archive]), k=2)
    np.testing.assert_allclose(scores, [(1 + 3) / 2, (1 + 2) / 2, (2 + 3) / 2])


def test_ga_ns_ram_behaviour_needs_atari() -> None:
    """(The maze runs of GA and GA-NS live in tests/algos/test_maze.py.)"""
    with pytest.raises(ConfigError, match="ram"):
        NoveltySearchGA(behaviour="ram").check_compatible(CARTPOLE)


def test_process_backend_run_equals_vector_run(job) -> None:
    """The whole GA (training, elite validation, routing, caches) is backend-independent."""
    args = ("algo=ga", "env=cartpole", "budget.frames=6_000", *SMALL)
    vector = job(*args, sub="vector")[1]
    process = job(*args, "algo.params.backend=process", "algo.params.workers=2", sub="proc")[1]
    assert table(process / "generations.csv") == table(vector / "generations.csv")
    assert len(table(vector / "generations.csv")) >= 2

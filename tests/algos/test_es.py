"""OpenAI-ES (bench/strategies/openai_es.py): strategy math and its genome batches.

Determinism, resume, backends, bad settings and solving CartPole are the contract suite's
(tests/test_contract.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.interface import ConfigError
from bench.population.genomes import NoiseTable, Perturbations
from bench.strategies.openai_es import Adam, OpenAIES, OpenAIESStrategy, centered_ranks
from tests.algos.conftest import net_spec, summary, table

SMALL_TABLE = NoiseTable(seed=123, size=2**20)  # 4 MB: enough for the test problems


def test_centered_ranks_span_minus_half_to_half_in_rank_order() -> None:
    x = np.array([[3.0, -10.0], [2.0, 1e9]])
    r = centered_ranks(x)
    assert r.shape == x.shape
    np.testing.assert_allclose(r, [[1 / 6, -0.5], [-1 / 6, 0.5]])
    assert r.sum() == pytest.approx(0.0)


def test_centered_ranks_are_invariant_to_monotone_transforms() -> None:
    x = np.random.default_rng(0).standard_normal(50)
    np.testing.assert_array_equal(centered_ranks(x), centered_ranks(np.exp(3 * x) + 7))


def test_gradient_estimate_points_along_the_true_gradient_of_a_quadratic() -> None:
    """Rank-shaped mirrored estimate vs the analytic gradient of -||A(x - c)||^2 at theta."""
    dim = 20
    rng = np.random.default_rng(1)
    scales = np.linspace(0.5, 2.0, dim)
    centre = rng.standard_normal(dim)
    theta = np.zeros(dim)

    def f(x: np.ndarray) -> np.ndarray:
        return -np.sum((scales * (x - centre)) ** 2, axis=-1)

    true_grad = -2 * scales**2 * (theta - centre)
    es = OpenAIESStrategy(theta, sigma=0.05, pairs=2000, noise=SMALL_TABLE)
    idx = es.ask(rng)
    g = es.gradient(idx, f(es.candidates(idx)))
    cosine = g @ true_grad / (np.linalg.norm(g) * np.linalg.norm(true_grad))
    assert cosine > 0.9


def test_candidates_are_mirrored_pairs_around_theta() -> None:
    es = OpenAIESStrategy(np.arange(5.0), sigma=0.1, pairs=3, noise=SMALL_TABLE)
    x = es.candidates(es.ask(np.random.default_rng(0)))
    assert x.shape == (6, 5)
    np.testing.assert_allclose((x[0::2] + x[1::2]) / 2, np.tile(np.arange(5.0), (3, 1)), atol=1e-6)


def test_strategy_maximises_a_quadratic() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        return -np.sum((x - 1.0) ** 2, axis=-1)

    es = OpenAIESStrategy(np.zeros(10), sigma=0.05, stepsize=0.05, l2coeff=0.0, pairs=20,
                          noise=SMALL_TABLE)  # fmt: skip
    rng = np.random.default_rng(0)
    for _ in range(300):
        idx = es.ask(rng)
        es.tell(idx, f(es.candidates(idx)))
    assert f(es.theta) > -1e-2


def test_adam_first_step_has_size_stepsize() -> None:
    adam = Adam(3, stepsize=0.01)
    step = adam.step(np.array([2.0, -5.0, 1e-3]))
    np.testing.assert_allclose(np.abs(step), 0.01, rtol=1e-3)
    assert np.all(np.sign(step) == [-1, 1, -1])


@pytest.mark.parametrize(
    "bad", [{"sigma": 0.0}, {"sigma": -0.1}, {"stepsize": 0}, {"pairs": 0}, {"l2coeff": -1}]
)
def test_nonsense_settings_raise_config_error(bad: dict) -> None:
    with pytest.raises(ConfigError):
        OpenAIESStrategy(np.zeros(3), noise=SMALL_TABLE, **bad)


def test_noise_table_is_deterministic_and_never_pickles_its_data() -> None:
    import pickle

    a, b = NoiseTable(size=1000, seed=7), NoiseTable(size=1000, seed=7)
    np.testing.assert_array_equal(a.get(10, 5), b.get(10, 5))
    assert len(pickle.dumps(a)) < 200
    idx = a.sample_index(np.random.default_rng(0), 990, 100)
    assert idx.min() >= 0 and idx.max() <= 10


# -- through the runner -------------------------------------------------------------------------
SMALL_NOISE = "algo.params.noise_table_size=1000000"  # 4 MB instead of 100 MB for tests


def test_es_sends_offsets_not_weights(job) -> None:
    """bench/conf/algo/es.yaml classic: MLP 16-16, 40 genomes (20 mirrored pairs). (Solving
    CartPole within 100k frames is its contract: first hit ~20k for seed 0; seeds 0-3 at
    10k-41k, seed 4 stalls near 50 past 100k.)"""
    meta, folder = job("algo=es", "env=cartpole", "budget=smoke", "budget.frames=2000",
                       SMALL_NOISE)  # fmt: skip
    assert meta["status"] == "completed"
    result = summary(folder)
    assert result["policy_parameters"] == 4 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    rows = table(folder / "generations.csv")
    # Only (offset, sign) pairs cross to the workers: ~9 bytes per genome, not 4 per weight.
    assert int(rows[0]["genome_batch_bytes"]) < 40 * 16


def test_es_population_is_mirrored_offsets_around_the_broadcast_mean(cartpole) -> None:
    algo = OpenAIES(population_size=6, noise_table_size=10_000)
    net = net_spec(cartpole, "linear").build()
    loop = algo.make_strategy(net, np.random.default_rng(0))
    batch = loop.ask(np.random.default_rng(0))
    assert isinstance(batch, Perturbations) and len(batch) == 6
    np.testing.assert_array_equal(batch.indices[0::2], batch.indices[1::2])
    np.testing.assert_array_equal(batch.signs, [1, -1] * 3)
    shared = loop.shared()  # what workers receive once per generation
    assert list(shared) == [batch.mean] and np.array_equal(shared[batch.mean], loop.core.theta)

"""CMA-ES, sep-CMA-ES (bench/strategies/cmaes.py) and CSA-ES (bench/strategies/csa_es.py).

Determinism, resume, backends, bad settings and solving CartPole through the runner are the
contract suite's (tests/test_contract.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from bench.interface import ConfigError
from bench.population.dense import default_popsize, default_sigma0
from bench.strategies.cmaes import CMAStrategy
from bench.strategies.csa_es import CSAStrategy, log_weights
from tests.algos.conftest import summary, table


def sphere(x: np.ndarray) -> np.ndarray:
    """A return to maximise: minus the squared distance to (1, ..., 1)."""
    return -np.sum((x - 1.0) ** 2, axis=-1)


def make(kind: str, seed: int = 0, dim: int = 10, **kwargs: object) -> CMAStrategy | CSAStrategy:
    if kind == "csa":
        return CSAStrategy(np.zeros(dim), 0.5, 10, rng=np.random.default_rng(seed), **kwargs)
    return CMAStrategy(np.zeros(dim), 0.5, 10, diagonal=kind == "sep", seed=seed, **kwargs)


def run(strategy: CMAStrategy | CSAStrategy, generations: int) -> list[np.ndarray]:
    asked = []
    for _ in range(generations):
        x = strategy.ask()
        asked.append(x)
        strategy.tell(sphere(x))
    return asked


@pytest.mark.parametrize("kind", ["cma", "sep", "csa"])
def test_strategy_converges_on_a_sphere(kind: str) -> None:
    strategy = make(kind)
    run(strategy, 200)
    assert sphere(strategy.mean) > -1e-6


@pytest.mark.parametrize("kind", ["cma", "sep", "csa"])
def test_same_seed_same_run_whatever_the_global_rng(kind: str) -> None:
    np.random.seed(1)
    a = run(make(kind, seed=5), 5)
    np.random.seed(2)
    b = run(make(kind, seed=5), 5)
    c = run(make(kind, seed=6), 5)
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.array_equal(np.stack(a), np.stack(c))


@pytest.mark.parametrize("kind", ["cma", "sep", "csa"])
def test_resumed_strategy_continues_exactly(kind: str) -> None:
    straight = make(kind, seed=3)
    run(straight, 10)
    expected = run(straight, 5)

    first = make(kind, seed=3)
    run(first, 10)
    state = pickle.loads(pickle.dumps(first.state_dict()))
    resumed = make(kind, seed=99)  # a fresh object, as a resumed process would build
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(np.stack(run(resumed, 5)), np.stack(expected))


def test_csa_mirrored_population_is_symmetric_about_the_mean() -> None:
    strategy = CSAStrategy(np.full(4, 2.0), 0.3, 6, mirrored=True, rng=np.random.default_rng(0))
    x = strategy.ask()
    np.testing.assert_allclose(x[:3] + x[3:], 4.0)


def test_log_weights_and_defaults() -> None:
    w = log_weights(4, 8)
    assert w.sum() == pytest.approx(1.0) and np.all(np.diff(w) < 0)
    # Wong et al.'s init_lambda "n/2" (tests/test_paper_settings.py has the source lines).
    assert default_popsize(8) == 32 and default_popsize(103) == 52 and default_popsize(10**4) == 128
    assert default_sigma0(8) == 0.01 and default_sigma0(10**6) == 0.005


@pytest.mark.parametrize("kind", ["cma", "sep", "csa"])
def test_nonpositive_sigma_raises_config_error(kind: str) -> None:
    with pytest.raises(ConfigError):
        if kind == "csa":
            CSAStrategy(np.zeros(3), 0.0, 4)
        else:
            CMAStrategy(np.zeros(3), -1.0, 4, diagonal=kind == "sep")


# -- through the runner -------------------------------------------------------------------------


def test_reward_shift_shapes_the_fitness_only(job) -> None:
    """CartPole pays 1 per step, so r - 1 makes every fitness 0; evaluation stays raw."""
    _, folder = job("algo=csa_es", "env=cartpole", "budget=smoke", "budget.frames=3000",
                    "algo.params.reward_shift=-1.0")  # fmt: skip
    rows = table(folder / "generations.csv")
    assert all(float(r["fitness_best"]) == 0.0 for r in rows)
    assert all(float(r["return_best"]) >= 8 for r in rows)  # raw returns in the row
    assert summary(folder)["final_eval_return"] >= 8


def test_mlp_by_config(job) -> None:
    meta, folder = job("algo=cmaes", "env=cartpole", "budget=smoke", "budget.frames=2000",
                       "algo.params.network=mlp", "algo.params.hidden_sizes=[8]")  # fmt: skip
    assert meta["status"] == "completed"
    assert summary(folder)["policy_parameters"] == 4 * 8 + 8 + 8 * 2 + 2


@pytest.mark.parametrize("algo", ["cmaes", "sep_cmaes", "csa_es"])
def test_wong_cartpole_settings_reach_the_run(job, algo: str) -> None:
    """The tuned CartPole entry (sigma0 0.1, lambda 4) and the bias-free linear policy."""
    _, folder = job(f"algo={algo}", "env=cartpole", "budget=smoke", "budget.frames=1000")
    assert summary(folder)["policy_parameters"] == 4 * 2  # linear, no bias
    rows = table(folder / "generations.csv")
    assert int(rows[0]["popsize"]) == 4 and float(rows[0]["sigma"]) > 0

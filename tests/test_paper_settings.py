"""Settings taken from the seed papers' code reach the runs (each names its source line).

uber-research/deep-neuroevolution (Such et al. 2017), openai/evolution-strategies-starter
(Salimans et al. 2017), ann-w/solving_drl_tasks_with_es_and_linear_policy_networks (Wong et
al. 2024). The observation pipeline's order is checked in tests/algos/test_evaluator.py.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from omegaconf import OmegaConf
from stable_baselines3.common.atari_wrappers import FireResetEnv

from bench.envs import EnvFactory, EnvSpec, EvalProtocol
from bench.population.backends import make_evaluator
from bench.population.dense import default_popsize
from bench.population.genomes import DenseGenomes, SeedChains
from bench.population.networks import NetSpec, NetworkPolicy
from bench.population.obs_norm import OPENAI_ES, WONG_2024, ObsNorm, ObsStats, RunningObsNorm
from bench.population.rollout import RolloutOptions
from bench.registry import build
from bench.run import algorithm_params
from tests.conftest import compose_config


def spec_of(*overrides: str) -> tuple:
    cfg = compose_config(list(overrides))
    return cfg, EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))


def wrappers(env: gym.Env) -> list[type]:
    chain = []
    while isinstance(env, gym.Wrapper):
        chain.append(type(env))
        env = env.env
    return chain


def test_deep_ga_test_episodes_are_capped_at_100k_agent_steps() -> None:
    """gpu_implementation/neuroevolution/tf_atari.py:39: 100,000 x frameskip when no cap is
    given, as for the 200 test episodes; not the 108,000 frames of the DQN protocol."""
    cfg, _ = spec_of("eval=paper_ga", "env=frostbite")
    protocol = EvalProtocol(**OmegaConf.to_container(cfg.eval, resolve=True))
    assert protocol.max_episode_frames == 100_000 * 4
    assert protocol.episodes == 200 and protocol.noop_max == 30 and protocol.sticky_actions == 0


@pytest.mark.parametrize("train", [True, False])
def test_pixel_games_with_fire_press_it_at_reset(train: bool) -> None:
    """tf_atari.cpp:96-109: FIRE, then action 2, at reset when the action set has FIRE at 1."""
    _, pong = spec_of("env=pong")
    env = EnvFactory(pong).make(seed=0, train=train)
    assert FireResetEnv in wrappers(env)
    assert env.unwrapped.get_action_meanings()[1] == "FIRE"
    env.close()
    _, pong_ram = spec_of("env=pong_ram")  # Wong et al.'s RAM runs press nothing
    env = EnvFactory(pong_ram).make(seed=0, train=train)
    assert FireResetEnv not in wrappers(env)
    env.close()


def test_random_search_uses_the_small_network_on_atari() -> None:
    """configurations/rs_atari_config.json: "Model" (conv 16, conv 32, FC 256); the GA's
    ga_atari_config.json: "LargeModel"."""
    cfg, frostbite = spec_of("algo=random_search", "env=frostbite")
    assert algorithm_params(cfg, frostbite)["network"] == "small_cnn"
    cfg, frostbite = spec_of("algo=ga", "env=frostbite")
    assert algorithm_params(cfg, frostbite)["network"] == "large_cnn"


# -- Wong et al. 2024 -----------------------------------------------------------------------------
def test_wong_default_lambda_is_their_init_lambda() -> None:
    """es/src/rl_es/algorithms.py:210-211 (``n/2``), applied when no lambda is given, odd
    values rounded up: CartPole (n 8) 32, HalfCheetah-v4 (n 17 x 6 = 102) 52 -> 51 + 1,
    Humanoid (n 376 x 17) 128. (We used 4 + 3 ln n: 10, 17, 30.)"""
    assert [default_popsize(n) for n in (8, 102, 376 * 17)] == [32, 52, 128]
    assert default_popsize(103) == 52  # floor(103 / 2) = 51 is odd: rounded up


def test_wong_csa_es_runs_unmirrored_by_default() -> None:
    """run_all.py never passes --mirrored; main.py:162 makes it off."""
    algo = build("csa_es", {})
    assert algo.mirrored is False
    strategy = algo.new_dense(np.zeros(4), 0.1, 6, seed=0)
    x = strategy.ask()
    assert not np.allclose(x[:3], -x[3:])  # no antithetic pairs
    np.testing.assert_array_equal(strategy.path, np.ones(4))  # algorithms.py:317


def test_wong_normalisation_matches_their_welford_normaliser() -> None:
    """objective.py:32-47: count from nb_inputs at zero, var = s / (k - 1), no clipping, a
    constant input zeroed (std < 1e-7 -> inf)."""
    rng = np.random.default_rng(0)
    obs = np.column_stack([rng.normal(3.0, 2.0, 50), np.full(50, 4.0), rng.normal(0, 1e3, 50)])
    k, mean, s = 3, np.zeros(3), np.zeros(3)  # their UpdatingNormalizer, step by step
    for x in obs:
        k += 1
        delta = x - mean
        mean = mean + delta / k
        s = s + delta * (x - mean)
    std = np.sqrt(s / (k - 1))
    norm = RunningObsNorm((3,), WONG_2024)
    stats = ObsStats.zeros((3,))
    stats.add(obs)
    norm.update(stats)
    ours_mean, ours_std = norm.mean_std
    np.testing.assert_allclose(ours_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(ours_std, std, rtol=1e-5)  # the constant column is not zero...
    far = norm.current()(np.array([mean[0] + 50 * std[0], 4.0, 0.0], np.float32))
    assert far[0] == pytest.approx(50, rel=1e-4)  # ...no clipping


def test_wong_normalisation_starts_at_mean_0_std_1() -> None:
    """objective.py:22-27: before its first observation the normaliser passes the scaled
    observations through, so generation 0's children act differently (zeroed inputs made every
    child of a zero-initialised linear policy play the same game)."""
    norm = RunningObsNorm((2,), WONG_2024)
    x = np.array([0.5, -0.25], np.float32)
    np.testing.assert_array_equal(norm.current()(x), x)
    stats = ObsStats.zeros((2,))
    stats.add(np.array([[1.0, 2.0], [3.0, 2.0]]))
    norm.update(stats)  # then Welford from the prior, worked by hand: k 4, mean (1, 1), s (6, 4)
    mean, std = norm.mean_std
    np.testing.assert_allclose(mean, [1.0, 1.0])
    np.testing.assert_allclose(std, np.sqrt([6 / 3, 4 / 3]), rtol=1e-6)


class TheirNormalizer:
    """Wong et al.'s UpdatingNormalizer (objective.py:23-50), as the reference."""

    def __init__(self, n: int) -> None:
        self.k, self.mean, self.s, self.std = n, np.zeros(n), np.zeros(n), np.ones(n)

    def observe(self, rows: np.ndarray) -> None:
        for x in np.asarray(rows, np.float64):
            self.k += 1
            delta = x - self.mean
            self.mean = self.mean + delta / self.k
            self.s = self.s + delta * (x - self.mean)
        self.std = np.sqrt(self.s / (self.k - 1))
        self.std[self.std < 1e-7] = np.inf


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the first step divides by no zero
def test_wong_normalisation_folds_in_child_by_child_at_every_step() -> None:
    """objective.py:227-235: at each time step child i acts on statistics that include the
    earlier children's observations of that step; rows not ``seen`` (ended episodes) add none."""
    rng = np.random.default_rng(1)
    steps = [rng.normal([2.0, -1.0], [3.0, 0.5], size=(4, 2)) for _ in range(3)]
    seen = [np.ones(4, bool), np.array([True, False, True, True]), np.ones(4, bool)]
    theirs, running = TheirNormalizer(2), RunningObsNorm((2,), WONG_2024)
    folding = running.for_rollouts()
    so_far = ObsStats.zeros((2,))
    for rows, live in zip(steps, seen, strict=True):
        expected = []
        for x, alive in zip(rows, live, strict=True):
            expected.append((x - theirs.mean) / theirs.std)
            if alive:
                theirs.observe(x[None])
        ours = folding(rows.astype(np.float32), so_far, live)
        so_far.add(rows[live])
        np.testing.assert_allclose(ours, np.float32(expected), rtol=1e-5)
    np.testing.assert_array_equal(
        folding(steps[0][:1], ObsStats.zeros((2,)), None), steps[0][:1].astype(np.float32)
    )  # only the first row is raw
    running.update(so_far)  # the generation's end: where the next call's rows start
    np.testing.assert_allclose(running.mean_std[1], theirs.std, rtol=1e-5)


def test_wong_rollouts_act_on_the_per_step_statistics() -> None:
    """A population's returns through the evaluator equal their loop's: every live child acts,
    in order, on the normaliser and then folds its observation in, then all envs step."""
    cartpole = EnvFactory(EnvSpec("cartpole", "CartPole-v1", "classic"))
    spec = NetSpec.for_env("linear", cartpole.spec.observation_space,
                           cartpole.spec.action_space, "classic")  # fmt: skip
    params = np.random.default_rng(3).normal(size=(5, spec.build().num_params)).astype(np.float32)
    seeds = np.arange(10, 15)[:, None]
    norm = RunningObsNorm(spec.obs_shape, WONG_2024)
    with make_evaluator("vector", cartpole, spec) as ev:
        ours = ev.evaluate(DenseGenomes(params), seeds, norm.for_rollouts(), collect_obs=True)
    theirs, envs = TheirNormalizer(4), [cartpole.make(None, train=True) for _ in range(5)]
    obs = [env.reset(seed=int(s))[0] for env, s in zip(envs, seeds[:, 0], strict=True)]
    returns, live = np.zeros(5), list(range(5))
    while live:
        actions = {}
        for i in live:
            policy = NetworkPolicy(spec, params[i], ObsNorm(np.float32(theirs.mean),
                                   np.float32(theirs.std), clip=None))  # fmt: skip
            actions[i] = policy.predict(obs[i][None])[0][0]
            theirs.observe(obs[i][None])
        for i in list(live):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
            returns[i] += reward
            if terminated or truncated:
                live.remove(i)
    np.testing.assert_array_equal(ours.returns[:, 0], returns)
    assert len(set(returns)) > 1  # the children played different games
    norm.update(ours.obs_stats)
    np.testing.assert_allclose(norm.mean_std[0], theirs.mean, rtol=1e-5, atol=1e-7)


def test_wong_normalisation_zeroes_an_input_that_never_varies() -> None:
    norm = RunningObsNorm((2,), WONG_2024)
    norm.stats = ObsStats(1e6, np.array([0.0, 5e6]), np.array([1e6, 2.5e7]))  # x2 == 5 always
    out = norm.current()(np.array([1.0, 5.0], np.float32))
    assert out[1] == 0.0 and np.isfinite(out[0])


# -- OpenAI-ES (Salimans et al. 2017) -------------------------------------------------------------
def test_openai_es_weights_start_normc() -> None:
    """es_distributed/policies.py:154 (hidden normc 1.0), :190 (output normc 0.01), biases 0."""
    algo = build("es", {"noise_table_size": 10_000, "hidden_sizes": [8, 8]})
    spec = NetSpec.for_env(
        "mlp", gym.spaces.Box(-1, 1, (5,)), gym.spaces.Box(-1, 1, (2,)), hidden=(8, 8),
        init=algo.net_init,
    )  # fmt: skip
    net = spec.build()
    net.set_flat(net.init_params(7))
    weights = [p.detach().numpy() for n, p in net.named_parameters() if n.endswith("weight")]
    norms = [np.linalg.norm(w, axis=1) for w in weights]
    np.testing.assert_allclose(np.concatenate(norms[:-1]), 1.0, rtol=1e-5)
    np.testing.assert_allclose(norms[-1], 0.01, rtol=1e-5)
    assert all(not p.any() for n, p in net.named_parameters() if n.endswith("bias"))


def test_openai_es_observation_std_floor_and_clip() -> None:
    """es.py:42: std = sqrt(max(var, 1e-2)), so at least 0.1; policies.py:145: clip +-5."""
    norm = RunningObsNorm((1,), OPENAI_ES)
    norm.stats = ObsStats(100.0, np.array([100.0]), np.array([100.0]))  # a constant 1.0
    mean, std = norm.mean_std
    assert mean[0] == pytest.approx(1.0) and std[0] == pytest.approx(0.1)
    assert norm.current()(np.array([2.0], np.float32))[0] == 5.0  # 10 std, clipped


def test_openai_es_action_noise_only_in_training_and_on_its_own_streams() -> None:
    """configurations/humanoid.json:24 ac_noise_std 0.01 (es.yaml's mujoco entry); training
    rollouts only. Each episode's noise comes from its seed, so reruns are identical."""
    cfg, hopper = spec_of("algo=es", "env=hopper")
    assert algorithm_params(cfg, hopper)["action_noise"] == 0.01
    factory = EnvFactory(EnvSpec("pendulum", "Pendulum-v1", "classic"))
    net = NetSpec.for_env("mlp", factory.spec.observation_space, factory.spec.action_space,
                          hidden=(4,))  # fmt: skip
    batch, seeds = SeedChains([(1,), (2,)]), np.array([[3], [4]])
    returns = {}
    for noise in (0.0, 0.5, 0.5):
        with make_evaluator("vector", factory, net, RolloutOptions(action_noise=noise)) as ev:
            returns.setdefault(noise, []).append(ev.evaluate(batch, seeds).returns)
    assert not np.array_equal(returns[0.0][0], returns[0.5][0])
    np.testing.assert_array_equal(returns[0.5][0], returns[0.5][1])


def test_paper_budgets_are_wong_et_al_per_env_cutoffs() -> None:
    """paper_plots.ipynb cells 1-2 (cutoffs) and objective.py:256-258 (Atari counted in agent
    steps, so 2e7 timesteps = 8e7 frames); DQN-style 40M frames for Atari pixels."""
    expected = {"cartpole": 500_000, "lunarlander": 500_000, "bipedalwalker": 2_000_000,
                "swimmer": 500_000, "hopper": 1_000_000, "walker2d": 2_000_000,
                "halfcheetah": 3_000_000, "ant": 10_000_000, "humanoid": 10_000_000,
                "seaquest_ram": 80_000_000, "frostbite": 40_000_000}  # fmt: skip
    for env, frames in expected.items():
        assert compose_config(["budget=paper", f"env={env}"]).budget.frames == frames, env


def test_wong_atari_ram_starts_without_no_ops() -> None:
    """setting.py:57-66: ALE v5 RAM with no wrappers; the Deep GA's pixels: 1-30 no-ops."""
    cfg, ram = spec_of("env=seaquest_ram", "eval=wong2024")
    protocol = EvalProtocol(**OmegaConf.to_container(cfg.eval, resolve=True))
    env = EnvFactory(ram, protocol).make(seed=0, train=True)
    assert "NoopResetEnv" not in [w.__name__ for w in wrappers(env)]
    assert protocol.noop_max == 0 and protocol.episodes == 10
    _, pixels = spec_of("env=seaquest")
    env = EnvFactory(pixels).make(seed=0, train=True)
    assert env.unwrapped.spec.id == "ALE/Seaquest-v5" and pixels.facts.noop_max == 30

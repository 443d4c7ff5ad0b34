"""Policy networks: published parameter counts, flat parameters, batched == per-individual."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from bench.population.networks import NetSpec, NetworkPolicy

PIXELS = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
RAM = gym.spaces.Box(0, 255, (128,), np.uint8)


ATARI_ACTIONS = gym.spaces.Discrete(18)


def spec(kind: str, obs: gym.Space = PIXELS, act: gym.Space = ATARI_ACTIONS, **kw):
    family = "atari" if obs is PIXELS else "atari_ram" if obs is RAM else "classic"
    return NetSpec.for_env(kind, obs, act, family, **kw)


@pytest.mark.parametrize(
    ("kind", "count"),
    [("large_cnn", 4_052_658), ("nature_cnn", 1_693_362), ("small_cnn", 1_008_450)],
)
def test_atari_nets_have_the_published_parameter_counts(kind: str, count: int) -> None:
    """Such et al. 2017: SAME padding -> 4,052,658; Nature (VALID) -> 1,693,362 (18 actions)."""
    net = spec(kind).build()
    assert net.num_params == count == sum(p.numel() for p in net.parameters())


def test_linear_and_mlp_counts() -> None:
    box = gym.spaces.Box(-1, 1, (4,))
    assert spec("linear", box, gym.spaces.Discrete(2)).build().num_params == 8  # no bias
    assert spec("linear", box, gym.spaces.Discrete(2), bias=True).build().num_params == 10
    mlp = spec("mlp", box, gym.spaces.Discrete(2), hidden=(64, 64)).build()
    assert mlp.num_params == 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2


@pytest.mark.parametrize("kind", ["linear", "mlp", "nature_cnn"])
def test_flat_get_set_round_trip(kind: str) -> None:
    obs = PIXELS if "cnn" in kind else RAM
    net = spec(kind, obs).build()
    flat = torch.randn(net.num_params)
    net.set_flat(flat)
    assert torch.equal(net.get_flat(), flat)
    with pytest.raises(ValueError, match="parameters"):
        net.set_flat(flat[:-1])


CASES = [
    ("linear", gym.spaces.Box(-5, 5, (4,)), gym.spaces.Discrete(2)),
    ("mlp", gym.spaces.Box(-5, 5, (3,)), gym.spaces.Box(-2.0, 2.0, (1,))),
    ("mlp", RAM, gym.spaces.Discrete(6)),
    ("nature_cnn", PIXELS, gym.spaces.Discrete(18)),
    ("large_cnn", PIXELS, gym.spaces.Discrete(18)),
]


@pytest.mark.parametrize(("kind", "obs_space", "act_space"), CASES)
def test_batched_forward_equals_per_individual_forward(kind, obs_space, act_space) -> None:
    net = spec(kind, obs_space, act_space, zero_init=False).build()
    k = 3
    params = torch.from_numpy(np.stack([net.init_params(seed) for seed in range(k)]))
    params += 0.05 * torch.randn_like(params)  # non-zero biases too
    obs_space.seed(0)
    obs = torch.as_tensor(np.stack([obs_space.sample() for _ in range(k)]))
    batched = net.population_forward(params, obs)
    actions = net.population_act(params, obs)
    for i in range(k):
        net.set_flat(params[i])
        single = net(obs[i : i + 1])[0]
        torch.testing.assert_close(batched[i], single, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(actions[i], net.to_action(single), rtol=1e-5, atol=1e-5)


def test_inputs_are_scaled_and_actions_respect_bounds() -> None:
    ram = spec("linear", RAM, gym.spaces.Discrete(4)).build()
    scaled = ram.preprocess(torch.tensor([[0, 255]], dtype=torch.uint8))
    torch.testing.assert_close(scaled, torch.tensor([[-1.0, 1.0]]))
    box = gym.spaces.Box(np.array([-1.0, 0.0]), np.array([3.0, 0.5]))
    net = spec("mlp", gym.spaces.Box(-1, 1, (2,)), box).build()
    big = torch.tensor([[1e3, -1e3], [-1e3, 1e3]])
    actions = net.to_action(big)
    torch.testing.assert_close(actions, torch.tensor([[3.0, 0.0], [-1.0, 0.5]]))


def test_zero_init_linear_policy_and_scaled_init() -> None:
    box = gym.spaces.Box(-1, 1, (4,))
    assert not spec("linear", box, gym.spaces.Discrete(2)).build().init_params(3).any()
    net = spec("mlp", box, gym.spaces.Discrete(2)).build()
    a, b = net.init_params(3), net.init_params(3)
    assert a.dtype == np.float32 and np.array_equal(a, b) and a.any()


def test_network_policy_predicts_like_sb3() -> None:
    box = gym.spaces.Box(-1, 1, (4,))
    s = spec("mlp", box, gym.spaces.Discrete(2))
    policy = NetworkPolicy(s, s.build().init_params(0))
    actions, state = policy.predict(np.zeros((5, 4), np.float32))
    assert actions.shape == (5,) and state is None

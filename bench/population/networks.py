"""Policy networks for gradient-free methods, with flat parameters and a batched population pass.

- ``linear``: obs -> action, no bias, zero init (Wong et al. 2024, arXiv 2402.06912).
- ``mlp``: tanh MLP, e.g. 64-64 or 256-256 (Salimans et al. 2017, arXiv 1703.03864).
- ``nature_cnn``: Mnih et al. 2015 (VALID padding): 1,693,362 parameters with 18 actions.
- ``large_cnn``: the Deep GA "LargeModel" (Such et al. 2017, arXiv 1712.06567): the same layers
  with TensorFlow SAME padding: 4,052,658 parameters with 18 actions.
- ``small_cnn``: the Deep GA's "Model", which its random search used (uber-research/
  deep-neuroevolution gpu_implementation/models/dqn.py:31-36, configurations/
  rs_atari_config.json): conv 16 8x8/4, conv 32 4x4/2, FC 256, SAME padding: 1,008,450
  parameters with 18 actions.

A genome is a flat float32 vector; :meth:`PolicyNet.population_forward` acts for K genomes on K
observations in one batched call (bmm for dense nets, ``vmap(functional_call)`` for CNNs), the
hot path of every population method. Inputs are scaled inside the net (RAM: uint8/127.5-1,
pixels: /255); discrete actions are the argmax, continuous ones a tanh scaled into the bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from bench.families import family as family_facts
from bench.population.obs_norm import PIXEL_SCALE, RAM_SCALE, ObsNorm, net_input

NETWORKS = ("linear", "mlp", "nature_cnn", "large_cnn", "small_cnn")
#: conv layers (out channels, kernel, stride), SAME padding or not, and the hidden FC width.
CNNS = {
    "nature_cnn": (((32, 8, 4), (64, 4, 2), (64, 3, 1)), False, 512),
    "large_cnn": (((32, 8, 4), (64, 4, 2), (64, 3, 1)), True, 512),
    "small_cnn": (((16, 8, 4), (32, 4, 2)), True, 256),
}
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass(frozen=True)
class NetSpec:
    """A picklable recipe for a policy network: workers build their own copy from it.

    Attributes:
        kind: one of :data:`NETWORKS`.
        obs_shape: observation shape (pixels: channels first, e.g. (4, 84, 84)).
        obs_scale: the family's observation kind (:mod:`bench.families`): "vector" (as is),
            "ram" (uint8 -> [-1, 1]) or "pixels" (uint8 -> [0, 1]).
        n_actions: discrete actions; 0 for continuous.
        action_low, action_high: continuous bounds (empty for discrete).
        hidden: hidden sizes for ``mlp``.
        activation: ``tanh`` or ``relu`` (``mlp`` only; CNNs use ReLU as published).
        bias: ``linear`` only (Wong et al. use none).
        zero_init: ``linear`` only: start at zero (the ES mean); otherwise ``init``.
        init: ``scaled_normal`` (the Deep GA's: N(0, 1/fan_in), 0.1x on the output layer,
            biases 0) or ``normc`` (OpenAI-ES: each unit's incoming weights scaled to norm 1.0,
            the output layer's to 0.01, biases 0; es_distributed/policies.py:154,190,
            tf_util.py:111-120; conv layers, absent there, keep the scaled normal).
    """

    kind: str
    obs_shape: tuple[int, ...]
    obs_scale: str = "vector"
    n_actions: int = 0
    action_low: tuple[float, ...] = ()
    action_high: tuple[float, ...] = ()
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    bias: bool = False
    zero_init: bool = True
    init: str = "scaled_normal"

    @property
    def discrete(self) -> bool:
        return self.n_actions > 0

    @property
    def out_dim(self) -> int:
        return self.n_actions if self.discrete else len(self.action_low)

    def build(self) -> PolicyNet:
        return PolicyNet(self)

    @classmethod
    def for_env(
        cls,
        kind: str,
        observation_space: gym.Space,
        action_space: gym.Space,
        family: str = "classic",
        hidden: Sequence[int] = (64, 64),
        **kwargs: object,
    ) -> NetSpec:
        """The spec for an env's spaces (``family`` picks the input scaling)."""
        if kind not in NETWORKS:
            raise ValueError(f"network '{kind}' not in {NETWORKS}")
        shape = tuple(int(s) for s in observation_space.shape)
        scale = family_facts(family).observation
        if isinstance(action_space, gym.spaces.Discrete):
            acts: dict[str, object] = {"n_actions": int(action_space.n)}
        else:
            acts = {
                "action_low": tuple(float(x) for x in np.ravel(action_space.low)),
                "action_high": tuple(float(x) for x in np.ravel(action_space.high)),
            }
        return cls(kind, shape, scale, hidden=tuple(int(h) for h in hidden), **acts, **kwargs)  # type: ignore[arg-type]


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow SAME padding: (left, right, output size); the odd pixel goes right/bottom."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _conv_stack(
    channels: int, size: int, convs: tuple[tuple[int, int, int], ...], same: bool
) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    c_in = channels
    for c_out, k, s in convs:
        if same:
            lo, hi, size = _same_pad(size, k, s)
            layers.append(nn.ZeroPad2d((lo, hi, lo, hi)))
        else:
            size = (size - k) // s + 1
        layers += [nn.Conv2d(c_in, c_out, k, s), nn.ReLU()]
        c_in = c_out
    layers.append(nn.Flatten())
    return nn.Sequential(*layers), c_in * size * size


class PolicyNet(nn.Module):
    """A policy network whose parameters are one flat vector (see module docstring)."""

    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        self.spec = spec
        in_dim = int(np.prod(spec.obs_shape))
        if spec.kind == "linear":
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(in_dim, spec.out_dim, bias=spec.bias))
        elif spec.kind == "mlp":
            layers: list[nn.Module] = [nn.Flatten()]
            for width in spec.hidden:
                layers += [nn.Linear(in_dim, width), ACTIVATIONS[spec.activation]()]
                in_dim = width
            layers.append(nn.Linear(in_dim, spec.out_dim))
            self.body = nn.Sequential(*layers)
        else:
            layers_spec, same, width = CNNS[spec.kind]
            convs, flat = _conv_stack(spec.obs_shape[0], spec.obs_shape[-1], layers_spec, same)
            self.body = nn.Sequential(
                *convs, nn.Linear(flat, width), nn.ReLU(), nn.Linear(width, spec.out_dim)
            )
        self.requires_grad_(False)
        self.dense = spec.kind in ("linear", "mlp")
        self.shapes = [tuple(p.shape) for p in self.parameters()]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.num_params = int(sum(self.sizes))
        self._names = [name for name, _ in self.body.named_parameters()]
        # Dense nets only: (weight, bias) offsets per Linear layer, for the bmm path.
        self._layers: list[tuple[int, tuple[int, int], int | None]] = []
        offset = 0
        for module in self.body:
            if isinstance(module, nn.Linear):
                w = module.out_features * module.in_features
                b = offset + w if module.bias is not None else None
                self._layers.append((offset, (module.out_features, module.in_features), b))
                offset += w + (module.out_features if module.bias is not None else 0)
        self._init_scale: np.ndarray | None = None
        self._view_key: tuple | None = None
        self._views: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        self._view_owner: torch.Tensor | None = None  # keeps the viewed storage alive
        self._act = torch.tanh if spec.activation == "tanh" else torch.relu
        low = torch.tensor(spec.action_low, dtype=torch.float32)
        high = torch.tensor(spec.action_high, dtype=torch.float32)
        finite = bool(torch.isfinite(low).all() & torch.isfinite(high).all())
        self._bounded = bool(spec.action_low) and finite
        # Buffers, not attributes: ``net.to("cuda")`` moves them with the weights (no per-step
        # ``.to(device)``); non-persistent, so state dicts and parameter vectors are unchanged.
        self._mid: torch.Tensor
        self._half: torch.Tensor
        self.register_buffer("_mid", (high + low) / 2, persistent=False)
        self.register_buffer("_half", (high - low) / 2, persistent=False)

    # -- flat parameters -----------------------------------------------------------------------
    def get_flat(self) -> torch.Tensor:
        return nn.utils.parameters_to_vector(self.parameters()).clone()

    def set_flat(self, flat: torch.Tensor | np.ndarray) -> None:
        flat = torch.as_tensor(flat, dtype=torch.float32)
        if flat.numel() != self.num_params:
            raise ValueError(f"expected {self.num_params} parameters, got {flat.numel()}")
        nn.utils.vector_to_parameters(flat, self.parameters())

    def init_scale(self) -> np.ndarray:
        """Per-parameter std of the Deep GA init: N(0,1)/sqrt(fan_in) per weight, 0.1x on the
        output layer, biases 0; a zero-init linear policy has scale 0 everywhere."""
        if self.spec.kind == "linear" and self.spec.zero_init:
            return np.zeros(self.num_params, dtype=np.float32)
        parts = []
        for i, (name, shape) in enumerate(zip(self._names, self.shapes, strict=True)):
            if name.endswith("bias"):
                parts.append(np.zeros(int(np.prod(shape)), np.float32))
                continue
            fan_in = int(np.prod(shape[1:]))
            gain = 0.1 if i >= len(self.shapes) - 2 else 1.0
            parts.append(np.full(int(np.prod(shape)), gain / np.sqrt(fan_in), np.float32))
        return np.concatenate(parts)

    def init_params(self, seed: int) -> np.ndarray:
        """Deterministic initial genome for ``seed`` (float32, shape (P,))."""
        if self._init_scale is None:  # 4M entries for the Deep GA net: built once, not per genome
            self._init_scale = self.init_scale()
        if self.spec.init == "normc" and self._init_scale.any():
            return self._normc(np.random.default_rng(seed).standard_normal(self.num_params))
        noise = np.random.default_rng(seed).standard_normal(self.num_params, dtype=np.float32)
        noise *= self._init_scale  # in place: the same float32 products as ``noise * scale``
        return noise

    def _normc(self, noise: np.ndarray) -> np.ndarray:
        """OpenAI-ES's normc: every Linear unit's incoming weights rescaled to norm 1.0 (output
        layer: 0.01), biases 0; other layers keep the scaled normal."""
        out = (noise * self._init_scale).astype(np.float32)
        linears = [i for i, module in enumerate(self.body) if isinstance(module, nn.Linear)]
        offset = 0
        for i, module in enumerate(self.body):
            for name, param in module.named_parameters(recurse=False):
                size = param.numel()
                if isinstance(module, nn.Linear) and name == "weight":
                    w = noise[offset : offset + size].reshape(param.shape)
                    gain = 0.01 if i == linears[-1] else 1.0
                    w = gain * w / np.sqrt(np.square(w).sum(axis=1, keepdims=True))
                    out[offset : offset + size] = w.ravel()
                offset += size
        return out

    # -- acting -------------------------------------------------------------------------------
    def preprocess(self, obs: torch.Tensor) -> torch.Tensor:
        """Bytes (Atari RAM, pixels) to the input scale, as ``obs_norm.scale_obs`` does; float
        input is taken as already scaled (the normalised path scales before normalising)."""
        if obs.dtype != torch.uint8:
            return obs.to(torch.float32)
        obs = obs.to(torch.float32)
        if self.spec.obs_scale == "ram":
            return obs / float(RAM_SCALE) - 1.0
        if self.spec.obs_scale == "pixels":
            return obs / float(PIXEL_SCALE)
        return obs

    def to_action(self, out: torch.Tensor) -> torch.Tensor:
        """Network outputs (..., out_dim) -> actions: argmax, or tanh scaled into the bounds."""
        if self.spec.discrete:
            return out.argmax(dim=-1)
        if self._bounded:
            return self._mid + self._half * torch.tanh(out)
        return out

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw outputs for a batch of observations with this module's own parameters."""
        return self.body(self.preprocess(obs))

    def unflatten(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """(K, P) genomes -> {name: (K, *shape)} views, for ``functional_call``."""
        views, offset = {}, 0
        for name, shape, size in zip(self._names, self.shapes, self.sizes, strict=True):
            views[name] = params[:, offset : offset + size].view(params.shape[0], *shape)
            offset += size
        return views

    def _dense_views(self, params: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Per-layer (W^T, b) views into ``params``; cached, as the evaluator passes the same
        slot tensor every step (views track in-place updates, so caching is safe)."""
        key = (params.data_ptr(), tuple(params.shape), tuple(params.stride()))
        if self._view_key != key:
            k, views = params.shape[0], []
            for w_off, (out_f, in_f), b_off in self._layers:
                weight = params[:, w_off : w_off + out_f * in_f].view(k, out_f, in_f)
                bias = None if b_off is None else params[:, b_off : b_off + out_f].view(k, 1, out_f)
                views.append((weight.transpose(1, 2), bias))
            self._view_key, self._views, self._view_owner = key, views, params
        return self._views

    def population_forward(self, params: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Raw outputs (K, out_dim) for genome ``params[k]`` acting on ``obs[k]``, one batched call.

        Args:
            params: (K, P) float32 genomes (any row stride; slices of a larger table are fine).
            obs: (K, *obs_shape) raw observations (scaled here).
        """
        x = self.preprocess(obs)
        if self.dense:
            h = x.reshape(x.shape[0], 1, -1)
            last = len(self._layers) - 1
            for i, (weight_t, bias) in enumerate(self._dense_views(params)):
                h = torch.bmm(h, weight_t) if bias is None else torch.baddbmm(bias, h, weight_t)
                if i < last:
                    h = self._act(h)
            return h.view(params.shape[0], -1)

        def one(p: dict[str, torch.Tensor], o: torch.Tensor) -> torch.Tensor:
            return torch.func.functional_call(self.body, p, (o.unsqueeze(0),)).squeeze(0)

        return torch.func.vmap(one)(self.unflatten(params), x)

    def population_act(self, params: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Actions (K,) or (K, action_dim) for K genomes on K observations."""
        return self.to_action(self.population_forward(params, obs))


class NetworkPolicy:
    """One genome as an SB3-style policy (what the recorder evaluates)."""

    def __init__(
        self,
        spec: NetSpec,
        params: np.ndarray | torch.Tensor,
        obs_norm: ObsNorm | None = None,
    ) -> None:
        self.spec, self.obs_norm = spec, obs_norm
        self.net = spec.build()
        self.net.set_flat(params)

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        obs = net_input(np.asarray(observation), self.spec.obs_scale, self.obs_norm)
        with torch.no_grad():
            actions = self.net.to_action(self.net(torch.as_tensor(obs)))
        return actions.cpu().numpy(), None

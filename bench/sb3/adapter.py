"""stable-baselines3 / sb3-contrib algorithms under the harness's envs, budget and records.

The algorithms are SB3's own, unmodified. This adapter only builds the vectorised training env
from the run's factory, turns config values into SB3 objects (``lin_<x>`` schedules, action
noise, activation names), charges every step to the budget through a callback, hands the
model to evaluation on schedule, and checkpoints the model (and the replay buffer when it fits
under ``checkpoint.max_replay_buffer_mb``) so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize
from torch import nn

from bench.budget import STOP_FRAMES
from bench.interface import Algorithm, ConfigError, Contract, TrainContext
from bench.loggers import sb3_logger
from bench.registry import register

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}
#: SB3 constructor arguments the harness sets itself (the env, the seed, the device, logging,
#: action noise from ``noise_type``): not hyperparameters, so not in ``algo.params``.
SET_BY_ADAPTER = frozenset({
    "self", "policy", "env", "verbose", "seed", "device", "_init_setup_model",
    "tensorboard_log", "replay_buffer_class", "rollout_buffer_class", "action_noise",
})  # fmt: skip


def _schedule(value: Any) -> Any:
    """rl-zoo3's ``lin_<x>``: linear decay from x to 0 over training."""
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return LinearSchedule(float(value[4:]), 0.0, 1.0)
        except ValueError:
            raise ConfigError(f"'{value}': a schedule is lin_<number>") from None
    return value


def _policy_kwargs(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    kwargs = dict(raw or {})
    if "activation_fn" in kwargs:
        name = str(kwargs["activation_fn"]).lower()
        if name not in ACTIVATIONS:
            raise ConfigError(f"activation_fn '{name}' not in {sorted(ACTIVATIONS)}")
        kwargs["activation_fn"] = ACTIVATIONS[name]
    if kwargs.get("optimizer_class") == "rmsprop_tf_like":
        from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

        kwargs["optimizer_class"] = RMSpropTFLike
    if "net_arch" in kwargs and isinstance(kwargs["net_arch"], Mapping):
        kwargs["net_arch"] = {k: list(v) for k, v in kwargs["net_arch"].items()}
    return kwargs


def acting_parameters(model: BaseAlgorithm) -> int:
    """Parameters the policy needs to act (actor / Q-net; not critics or target nets)."""
    policy = model.policy
    parts: list[nn.Module] = []
    if hasattr(policy, "actor") and isinstance(policy.actor, nn.Module):
        parts = [policy.actor]
    elif hasattr(policy, "q_net") or hasattr(policy, "quantile_net"):
        parts = [getattr(policy, "q_net", None) or policy.quantile_net]
    elif hasattr(policy, "mlp_extractor"):
        extractor = getattr(policy, "pi_features_extractor", policy.features_extractor)
        parts = [extractor, policy.mlp_extractor.policy_net, policy.action_net]
    else:
        parts = [policy]
    count = sum(p.numel() for part in parts for p in part.parameters())
    log_std = getattr(policy, "log_std", None)
    return count + (log_std.numel() if isinstance(log_std, nn.Parameter) else 0)


class NormalizedPolicy:
    """Acts through VecNormalize's current observation statistics (for evaluation)."""

    def __init__(self, model: BaseAlgorithm, venv: VecNormalize) -> None:
        self.model, self.venv = model, venv

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        return self.model.predict(
            self.venv.normalize_obs(observation), state, episode_start, deterministic
        )


class _HarnessCallback(BaseCallback):
    """Charges steps to the budget, logs training episodes, evaluates, checkpoints, stops."""

    def __init__(self, adapter: SB3Algorithm, ctx: TrainContext, policy: Any) -> None:
        super().__init__()
        self.adapter, self.ctx, self.policy = adapter, ctx, policy
        self._charged = 0

    def _on_training_start(self) -> None:
        self._charged = self.model.num_timesteps

    def _on_step(self) -> bool:
        ctx = self.ctx
        # Every training env is Monitor-wrapped: an "episode" entry marks each finished episode.
        finished = [
            info["episode"]["r"] for info in self.locals.get("infos", ()) if "episode" in info
        ]
        ctx.budget.charge(self.model.num_timesteps - self._charged, episodes=len(finished))
        self._charged = self.model.num_timesteps
        if finished:
            ctx.recorder.log_train_episodes(finished)
        ctx.recorder.maybe_evaluate(self.policy)
        if ctx.checkpoints.due():
            ctx.budget.pause()
            self.adapter.save_checkpoint(ctx, self.model)
            ctx.budget.resume()
        # The frame budget is SB3's own ``total_timesteps``, so a run trains exactly as bare
        # ``learn(n)`` does (PPO finishes its last rollout and update); the callback stops
        # only on the wall-clock and CPU limits, which SB3 does not know.
        return ctx.budget.exhausted() in (None, STOP_FRAMES)


class SB3Algorithm(Algorithm):
    """Base for every SB3 algorithm; subclasses set ``sb3_class`` and what they can act in.

    Hyperparameters: this adapter's (``policy``, ``n_envs``, ``normalize``, ``noise_type``,
    ``noise_std``) and every ``sb3_class`` constructor argument the harness does not set.
    """

    kind: ClassVar[str] = "gradient"
    sb3_class: ClassVar[type[BaseAlgorithm]]
    image_policy: ClassVar[str | None] = "CnnPolicy"
    contract: ClassVar[Contract] = Contract(
        bad_params=({"n_envs": 0}, {"noise_type": "pink"}, {"learning_rat": 1e-3})
    )

    def __init__(
        self,
        policy: str | None = None,
        n_envs: int = 1,
        normalize: bool | Mapping[str, Any] = False,
        noise_type: str | None = None,
        noise_std: float = 0.1,
        **sb3_kwargs: Any,
    ) -> None:
        if n_envs < 1:
            raise ConfigError(f"n_envs must be >= 1, got {n_envs}")
        if noise_type not in (None, "normal", "ornstein-uhlenbeck"):
            raise ConfigError(f"noise_type must be normal or ornstein-uhlenbeck, got {noise_type}")
        self.policy, self.n_envs, self.normalize = policy, int(n_envs), normalize
        self.noise_type, self.noise_std = noise_type, float(noise_std)
        accepted = self.sb3_arguments()
        unknown = sorted(set(sb3_kwargs) - set(accepted))
        if unknown:
            raise ConfigError(
                f"{self.sb3_class.__name__} has no hyperparameter(s) {unknown}; it accepts "
                f"{sorted(accepted)}"
            )
        self.sb3_kwargs = dict(sb3_kwargs)
        self._policy_size: int | None = None

    @classmethod
    def sb3_arguments(cls) -> list[str]:
        """The SB3 constructor's arguments that are hyperparameters (not set by the harness)."""
        names = inspect.signature(cls.sb3_class.__init__).parameters
        return [n for n in names if n not in SET_BY_ADAPTER]

    @classmethod
    def hyperparameter_defaults(cls) -> dict[str, Any]:
        own = super().hyperparameter_defaults()
        sb3 = inspect.signature(cls.sb3_class.__init__).parameters
        return own | {n: sb3[n].default for n in cls.sb3_arguments() if n not in own}

    @classmethod
    def accepts_text(cls, name: str, value: Any) -> bool:
        return _schedule(value) is not value  # rl-zoo3's lin_<x>

    def hyperparameters(self) -> dict[str, Any]:
        """Every hyperparameter as it runs: configured values, else SB3's own defaults."""
        defaults, sb3_names = self.hyperparameter_defaults(), set(self.sb3_arguments())
        return {
            n: self.sb3_kwargs.get(n, default) if n in sb3_names else getattr(self, n)
            for n, default in defaults.items()
        }

    def policy_size(self) -> int | None:
        return self._policy_size

    # -- construction -----------------------------------------------------------------------
    def _make_venv(self, ctx: TrainContext) -> VecEnv:
        factory = ctx.env
        fns = [
            (lambda i=i: Monitor(factory.make(seed=ctx.seed + i, train=True)))
            for i in range(self.n_envs)
        ]
        venv: VecEnv = DummyVecEnv(fns)
        venv.seed(ctx.seed)
        if self.normalize:
            options = dict(self.normalize) if isinstance(self.normalize, Mapping) else {}
            venv = VecNormalize(venv, **options)
        return venv

    def _kwargs(self, venv: VecEnv) -> dict[str, Any]:
        kwargs = {k: _schedule(v) for k, v in self.sb3_kwargs.items()}
        kwargs["policy_kwargs"] = _policy_kwargs(kwargs.get("policy_kwargs"))
        if self.noise_type is not None:
            n_actions = int(np.prod(venv.action_space.shape))
            noise_cls = (
                NormalActionNoise if self.noise_type == "normal" else OrnsteinUhlenbeckActionNoise
            )
            kwargs["action_noise"] = noise_cls(
                mean=np.zeros(n_actions), sigma=self.noise_std * np.ones(n_actions)
            )
        return kwargs

    def _policy_name(self, ctx: TrainContext) -> str:
        if self.policy:
            return self.policy
        if ctx.env.spec.observation_kind == "image" and self.image_policy:
            return self.image_policy
        return "MlpPolicy"

    def new_model(self, ctx: TrainContext, venv: VecEnv) -> BaseAlgorithm:
        """A fresh SB3 model on ``venv`` with this run's hyperparameters (the planner's
        calibration builds its short ``learn()`` with it too)."""
        return self.sb3_class(
            self._policy_name(ctx), venv, seed=ctx.seed, device="cpu", verbose=0,
            **self._kwargs(venv),
        )  # fmt: skip

    # -- checkpointing ----------------------------------------------------------------------
    def save_checkpoint(self, ctx: TrainContext, model: BaseAlgorithm) -> None:
        files = {"model.zip": lambda path: model.save(path)}
        buffer = getattr(model, "replay_buffer", None)
        if buffer is not None and _nbytes(buffer) <= ctx.checkpoints.max_replay_buffer_mb * 2**20:
            files["replay_buffer.pkl"] = lambda path: model.save_replay_buffer(path)
        venv = model.get_env()
        if isinstance(venv, VecNormalize):
            files["vecnormalize.pkl"] = lambda path: venv.save(str(path))
        ctx.checkpoints.save({"num_timesteps": model.num_timesteps}, files)

    def _restore(self, ctx: TrainContext, venv: VecEnv) -> tuple[BaseAlgorithm, VecEnv] | None:
        loaded = ctx.checkpoints.load()
        if loaded is None:
            return None
        _, folder = loaded
        if isinstance(venv, VecNormalize) and (folder / "vecnormalize.pkl").exists():
            venv = VecNormalize.load(str(folder / "vecnormalize.pkl"), venv.venv)
        model = self.sb3_class.load(folder / "model.zip", env=venv, device="cpu")
        if (folder / "replay_buffer.pkl").exists():
            model.load_replay_buffer(folder / "replay_buffer.pkl")
        return model, venv

    # -- training ---------------------------------------------------------------------------
    def train(self, ctx: TrainContext) -> Any:
        venv = self._make_venv(ctx)
        restored = self._restore(ctx, venv)
        if restored is None:
            model = self.new_model(ctx, venv)
        else:
            model, venv = restored
        # Without a logger of its own, every learn() makes an empty SB3-<date> folder in the
        # system temp folder (verbose=0 still configures one). SB3's own scalars go to the
        # run's TensorBoard folder when logger=tensorboard; the harness records metrics itself.
        resumed_at = model.num_timesteps if restored is not None else None
        model.set_logger(sb3_logger(ctx.loggers, resumed_at))
        self._policy_size = acting_parameters(model)
        policy = NormalizedPolicy(model, venv) if isinstance(venv, VecNormalize) else model
        ctx.recorder.maybe_evaluate(policy)  # the initial policy, at frame 0
        steps_left = math.ceil(ctx.budget.remaining_frames / ctx.env.spec.frame_skip)
        if steps_left > 0 and ctx.budget.exhausted() is None:
            model.learn(
                total_timesteps=steps_left,
                callback=_HarnessCallback(self, ctx, policy),
                reset_num_timesteps=restored is None,
                progress_bar=False,
            )
        venv.close()
        return policy


def _nbytes(buffer: Any) -> int:
    return sum(v.nbytes for v in vars(buffer).values() if isinstance(v, np.ndarray))


def sb3_algorithm(
    name: str,
    cls: type[BaseAlgorithm],
    title: str,
    actions: frozenset[str] = frozenset({"discrete", "continuous"}),
    observations: frozenset[str] = frozenset({"vector", "image"}),
    **extra: Any,
) -> type[SB3Algorithm]:
    """Register ``cls`` as ``algo=<name>``, an :class:`SB3Algorithm` for those spaces."""
    attrs = {
        "sb3_class": cls,
        "action_kinds": actions,
        "observation_kinds": observations,
        "__doc__": f"{title}, {cls.__module__.split('.')[0]}.",
        **extra,
    }
    return register(name)(type(cls.__name__ + "Algorithm", (SB3Algorithm,), attrs))

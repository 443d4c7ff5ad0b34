"""One factory builds every environment, for every algorithm, in training and evaluation form.

Atari follows the standard protocol (Machado et al. 2018 / Mnih et al. 2015 / Such et al. 2017):
frame skip 4 with max-pooling of the last two frames, 84x84 grayscale, a stack of 4, up to 30
random no-op starts, an episode cap of 108,000 emulator frames and no sticky actions. Reward
clipping and terminal-on-life-loss are training-only and can be switched off by algorithms
that, like the Deep GA, use the raw game score as fitness. Evaluation envs never clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import gymnasium as gym
import numpy as np

from bench.families import ATARI_FRAME_SKIP, Family, family

ATARI_MAX_EPISODE_FRAMES = 108_000
_registered_ale = False
_mujoco_warnings_routed = False


def _route_mujoco_warnings() -> None:
    """MuJoCo's default handler appends every warning to MUJOCO_LOG.TXT in the working directory;
    route them to logging instead, each distinct message once per process."""
    global _mujoco_warnings_routed
    if not _mujoco_warnings_routed:
        import logging

        import mujoco

        seen: set[str] = set()

        def warn_once(message: str) -> None:  # gymnasium's own XML triggers one per env made
            if message not in seen:
                seen.add(message)
                logging.getLogger("mujoco").warning(message)

        mujoco.set_mju_user_warning(warn_once)
        _mujoco_warnings_routed = True


def _register_ale() -> None:
    global _registered_ale
    if not _registered_ale:
        import ale_py

        gym.register_envs(ale_py)
        _registered_ale = True


class SeedWithoutReload(gym.Wrapper):
    """Seeded Atari resets without reloading the ROM.

    ale-py reloads the ROM on every ``reset(seed=...)`` (~70 ms, the cost of ~400 RAM-env
    steps) so that ALE's own RNG restarts; that RNG only drives sticky actions. Without sticky
    actions the emulator is deterministic, so setting the same seeds (``seed_game``) without
    the reload gives the same episode, and population evaluation, which seeds every episode,
    stops paying for ROM loads. Only used when ``repeat_action_probability`` is 0.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._loaded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None and self._loaded:
            self.env.unwrapped.seed_game(seed)
            return self.env.reset(options=options)
        self._loaded = True
        return self.env.reset(seed=seed, options=options)


@dataclass(frozen=True)
class EvalProtocol:
    """How a policy is scored; its ``id`` is stored with every evaluation number.

    Attributes:
        name: config name (``eval=<name>``).
        episodes: episodes per evaluation.
        deterministic: greedy / mean actions for stochastic policies.
        seed: episode ``i`` is reset with ``seed + i``; the same for every run and algorithm, and
            far from training seeds.
        noop_max: Atari: random no-op starts, up to this many (0: none).
        sticky_actions: Atari: ``repeat_action_probability`` (0.25 in Machado et al.).
        max_episode_frames: Atari: episode cap in emulator frames.
    """

    name: str = "default"
    episodes: int = 10
    deterministic: bool = True
    seed: int = 1_000_000
    noop_max: int = 30
    sticky_actions: float = 0.0
    max_episode_frames: int = ATARI_MAX_EPISODE_FRAMES

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"eval.episodes must be >= 1, got {self.episodes}")
        if not 0.0 <= self.sticky_actions < 1.0:
            raise ValueError(f"eval.sticky_actions must be in [0, 1), got {self.sticky_actions}")

    @property
    def id(self) -> str:
        mode = "det" if self.deterministic else "stoch"
        return (
            f"{self.name}:ep{self.episodes}:{mode}:seed{self.seed}:noop{self.noop_max}"
            f":sticky{self.sticky_actions:g}:cap{self.max_episode_frames}"
        )


@dataclass(frozen=True)
class EnvSpec:
    """An environment as the config names it. Picklable, so workers can rebuild envs from it."""

    name: str
    id: str
    family: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    train_noop_max: int | None = None  # None: the family's (bench/families.py)
    train_clip_rewards: bool = True
    train_episodic_life: bool = True
    fire_reset: bool | None = None  # None: the family's rule (bench/families.py)

    @property
    def facts(self) -> Family:
        """What this env's family is (:mod:`bench.families`)."""
        return family(self.family)

    @property
    def is_atari(self) -> bool:
        return self.facts.atari

    @property
    def frame_skip(self) -> int:
        return self.facts.frame_skip

    @cached_property
    def _probe(self) -> tuple[gym.Space, gym.Space]:
        env = EnvFactory(self).make(seed=0, train=False)
        try:
            return env.observation_space, env.action_space
        finally:
            env.close()

    @property
    def observation_space(self) -> gym.Space:
        return self._probe[0]

    @property
    def action_space(self) -> gym.Space:
        return self._probe[1]

    @property
    def action_kind(self) -> str:
        return "discrete" if isinstance(self.action_space, gym.spaces.Discrete) else "continuous"

    @property
    def observation_kind(self) -> str:
        return "image" if len(self.observation_space.shape or ()) >= 3 else "vector"


@dataclass(frozen=True)
class EnvFactory:
    """Builds the run's environments. ``make(seed, train)`` is the one way to get an env."""

    spec: EnvSpec
    protocol: EvalProtocol = field(default_factory=EvalProtocol)

    def make(
        self,
        seed: int | None = None,
        train: bool = True,
        atari_training_wrappers: bool = True,
    ) -> gym.Env:
        """Build one env.

        Args:
            seed: seeds the action space and the first reset's RNG (no-op starts included).
            train: training form (training-only wrappers, training no-op starts) or evaluation
                form (the evaluation protocol's no-ops, sticky actions and cap; never clipped).
            atari_training_wrappers: training only: reward clipping and terminal-on-life-loss
                (as the spec enables them). Gradient-free methods switch them off: their
                fitness is the raw game score.
        """
        spec = self.spec
        if spec.is_atari:
            env = self._make_atari(train, train and atari_training_wrappers)
        else:
            if spec.facts.mujoco:
                _route_mujoco_warnings()
            env = gym.make(spec.id, **spec.kwargs)
        if seed is not None:
            env.action_space.seed(seed)
            env.reset(seed=seed)
        return env

    def _make_atari(self, train: bool, training_wrappers: bool) -> gym.Env:
        from stable_baselines3.common.atari_wrappers import (
            ClipRewardEnv,
            EpisodicLifeEnv,
            FireResetEnv,
            NoopResetEnv,
        )

        _register_ale()
        spec, protocol = self.spec, self.protocol
        train_noops = spec.facts.noop_max if spec.train_noop_max is None else spec.train_noop_max
        noop_max = train_noops if train else protocol.noop_max
        kwargs = {
            "repeat_action_probability": 0.0 if train else protocol.sticky_actions,
            "max_num_frames_per_episode": ATARI_MAX_EPISODE_FRAMES
            if train
            else protocol.max_episode_frames,
            **spec.kwargs,
        }
        if spec.facts.observation == "ram":
            env = gym.make(spec.id, obs_type="ram", frameskip=ATARI_FRAME_SKIP, **kwargs)
            if kwargs["repeat_action_probability"] == 0:
                env = SeedWithoutReload(env)
            if noop_max:
                env = NoopResetEnv(env, noop_max=noop_max)
        else:
            from gymnasium.wrappers import AtariPreprocessing

            env = gym.make(spec.id, frameskip=1, **kwargs)
            if kwargs["repeat_action_probability"] == 0:
                env = SeedWithoutReload(env)
            env = AtariPreprocessing(
                env,
                noop_max=noop_max,
                frame_skip=ATARI_FRAME_SKIP,
                screen_size=84,
                terminal_on_life_loss=False,
                grayscale_obs=True,
                scale_obs=False,
            )
        if training_wrappers and spec.train_episodic_life:
            env = EpisodicLifeEnv(env)
        fire = spec.facts.fire_reset if spec.fire_reset is None else spec.fire_reset
        meanings = env.unwrapped.get_action_meanings()
        if fire and len(meanings) >= 3 and meanings[1] == "FIRE":
            env = FireResetEnv(env)
        if training_wrappers and spec.train_clip_rewards:
            env = ClipRewardEnv(env)
        if spec.facts.observation == "pixels":
            from gymnasium.wrappers import FrameStackObservation

            env = FrameStackObservation(env, 4)
        return env


def random_policy_return(factory: EnvFactory, episodes: int = 10, seed: int = 0) -> float:
    """Mean evaluation-form return of uniform random actions (a floor for tests and reports)."""
    env = factory.make(seed=seed, train=False)
    returns = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))

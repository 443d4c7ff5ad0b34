"""Envs that fail, for the worker-fault tests (importable in spawned workers and Ray actors:
``gym.make("tests.algos.faulty_envs:Exits-v0")`` registers them in whichever process makes them)."""

from __future__ import annotations

import os

import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv


class ExitsOnReset(CartPoleEnv):
    """The worker process dies on every episode (as a segfaulting emulator would)."""

    def reset(self, **kwargs):
        os._exit(3)


class RaisesOnReset(CartPoleEnv):
    """The env raises on every episode (an error of the env, not of the worker)."""

    def reset(self, **kwargs):
        raise RuntimeError("the env is broken on reset")


gym.register("Exits-v0", entry_point=ExitsOnReset, max_episode_steps=500)
gym.register("Raises-v0", entry_point=RaisesOnReset, max_episode_steps=500)

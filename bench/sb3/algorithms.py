"""The stable-baselines3 and sb3-contrib algorithms, unmodified: one line each.

A new one is a line here and ``bench/conf/algo/<name>.yaml`` (``tools/zoo_to_configs.py`` writes
it from rl-zoo3's tuned hyperparameters); the contract tests find it in the registry.
"""

from __future__ import annotations

from dataclasses import replace

import sb3_contrib
import stable_baselines3 as sb3

from bench.sb3.adapter import SB3Algorithm, sb3_algorithm

DISCRETE, CONTINUOUS, VECTORS = (
    frozenset({"discrete"}),
    frozenset({"continuous"}),
    frozenset({"vector"}),
)
# Off-policy continuous methods take a gradient step per frame: shorter contract runs.
PER_FRAME_UPDATES = replace(SB3Algorithm.contract, frames=600)

sb3_algorithm("ppo", sb3.PPO, "Proximal Policy Optimisation (Schulman et al. 2017)")
sb3_algorithm("a2c", sb3.A2C, "A2C, the synchronous form of A3C (Mnih et al. 2016)")
sb3_algorithm("dqn", sb3.DQN, "DQN (Mnih et al. 2015)", DISCRETE)
sb3_algorithm("qrdqn", sb3_contrib.QRDQN, "QR-DQN (Dabney et al. 2018)", DISCRETE)
sb3_algorithm("ddpg", sb3.DDPG, "DDPG (Lillicrap et al. 2016)", CONTINUOUS, VECTORS,
              contract=PER_FRAME_UPDATES)  # fmt: skip
sb3_algorithm("td3", sb3.TD3, "TD3 (Fujimoto et al. 2018)", CONTINUOUS, VECTORS,
              contract=PER_FRAME_UPDATES)  # fmt: skip
sb3_algorithm("sac", sb3.SAC, "SAC (Haarnoja et al. 2018)", CONTINUOUS, VECTORS,
              contract=PER_FRAME_UPDATES)  # fmt: skip
# ARS is gradient-free: sb3-contrib's implementation, linear by default.
sb3_algorithm("ars", sb3_contrib.ARS, "Augmented Random Search (Mania et al. 2018)",
              observations=VECTORS, kind="gradient_free", image_policy=None)  # fmt: skip

"""The deceptive Hard Maze of Lehman & Stanley (2011, Evolutionary Computation 19(2)), as a gym env.

Registered on import as ``bench/HardMaze-v0`` (400 steps). A circular robot (radius 8) senses
six rangefinders (-90, -45, 0, 45, 90, 180 degrees from its heading, range 100, scaled to
[0, 1]), four pie-slice radars that fire when the goal lies in their quadrant, and a bias: 11
inputs. Two continuous actions in [-1, 1]: turn rate and forward speed (velocities here, not
the original's accelerations; a simplification). The reward is potential-based: each step pays
the decrease in distance to the goal, so the return is ``start distance - final distance``
(plus a bonus for reaching it): exactly the deceptive fitness, which leads into the dead end
near the goal. ``info`` carries the position ``x``, ``y`` (for novelty search), ``distance`` to
the goal and ``reached_goal`` (within ``GOAL_RADIUS``; the episode then terminates).

Coordinates are screen-like (y grows downwards): the start (36, 184) is bottom left, the goal
(31, 20) top left. Going straight for the goal ends in the dead end under the wall
(4, 49)-(57, 53) (distance ~40, return ~124: the deceptive trap); the way round goes right
through the gap at (108, 164), up the diagonal corridor, over the top and into the goal's
pocket through the gap at (133, 30) (~480 units of path; 400 steps x 3 units per step).

Provenance. CODE (read in Joel Lehman's jal278/mazerobot-python, ``hard_maze.txt`` and
``maze.h``): the 13 wall segments, start (36, 184), heading 0, goal (31, 20), robot radius 8,
rangefinder angles and range 100, speed cap 3 per step, a blocked move leaves the robot where it
was. OURS (differs from that code): velocity control with turns up to 15 degrees per step (the
code changes speed and angular velocity by at most 0.2 per step, turning at most 3 degrees per
step; its commented-out original adds accelerations); radars as four 90-degree quadrants
centred on front / +90 / back / -90 at any range (that fork fires them only within 20 units);
goal radius 5 (the code's comment says 5 units; that fork uses 20).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

START, START_HEADING, GOAL = (36.0, 184.0), 0.0, (31.0, 20.0)
WALLS = np.array(
    [
        (41, 5, 3, 8), (3, 8, 4, 49), (4, 49, 57, 53), (4, 49, 7, 202), (7, 202, 195, 198),
        (195, 198, 186, 8), (186, 8, 39, 5), (56, 54, 56, 157), (57, 106, 158, 162),
        (77, 201, 108, 164), (6, 80, 33, 121), (192, 146, 87, 91), (56, 55, 133, 30),
    ],
    dtype=np.float64,
)  # fmt: skip
RADIUS, RANGE, GOAL_RADIUS, GOAL_BONUS = 8.0, 100.0, 5.0, 100.0
MAX_SPEED, MAX_TURN = 3.0, np.radians(15.0)  # units and radians per step
SENSOR_ANGLES = np.radians([-90.0, -45.0, 0.0, 45.0, 90.0, 180.0])


# Wall segments as start point a and direction e (precomputed: the env steps millions of times).
_AX, _AY = WALLS[:, 0], WALLS[:, 1]
_EX, _EY = WALLS[:, 2] - _AX, WALLS[:, 3] - _AY
_EE = _EX * _EX + _EY * _EY


def _ray_distances(pos: np.ndarray, heading: float) -> np.ndarray:
    """Distance along each rangefinder to the nearest wall, capped at RANGE."""
    angles = heading + SENSOR_ANGLES
    dx, dy = np.cos(angles)[:, None], np.sin(angles)[:, None]  # (S, 1)
    rx, ry = _AX - pos[0], _AY - pos[1]  # (W,)
    denom = dx * _EY - dy * _EX  # (S, W); 0: parallel
    safe = np.where(np.abs(denom) > 1e-12, denom, np.inf)
    t = (rx * _EY - ry * _EX) / safe  # along the ray
    u = (rx * dy - ry * dx) / safe  # along the wall
    hit = (t >= 0) & (u >= 0) & (u <= 1) & np.isfinite(safe)
    return np.minimum(np.where(hit, t, RANGE).min(axis=1), RANGE)


def _collides(pos: np.ndarray) -> bool:
    t = np.clip(((pos[0] - _AX) * _EX + (pos[1] - _AY) * _EY) / _EE, 0.0, 1.0)
    gx, gy = _AX + t * _EX - pos[0], _AY + t * _EY - pos[1]
    return bool((gx * gx + gy * gy < RADIUS * RADIUS).any())


class HardMazeEnv(gym.Env):
    """Navigation in the Hard Maze (see module docstring)."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (11,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.goal = np.array(GOAL)
        self.pos, self.heading = np.array(START), START_HEADING

    def _obs(self) -> np.ndarray:
        ranges = _ray_distances(self.pos, self.heading) / RANGE
        to_goal = self.goal - self.pos
        rel = (np.arctan2(to_goal[1], to_goal[0]) - self.heading) % (2 * np.pi)
        radar = np.zeros(4)  # quadrants centred on 0, +90, 180, -90 degrees (as SENSOR_ANGLES)
        radar[int(((rel + np.pi / 4) % (2 * np.pi)) // (np.pi / 2))] = 1.0
        return np.concatenate([ranges, radar, [1.0]]).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        distance = self._distance()
        return {"x": float(self.pos[0]), "y": float(self.pos[1]), "distance": distance,
                "reached_goal": distance < GOAL_RADIUS}  # fmt: skip

    def _distance(self) -> float:
        return float(np.hypot(*(self.goal - self.pos)))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)  # the maze is deterministic; the seed is accepted for the API
        self.pos, self.heading = np.array(START), START_HEADING
        return self._obs(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        before = self._distance()
        self.heading = (self.heading + MAX_TURN * action[0]) % (2 * np.pi)
        step = MAX_SPEED * action[1] * np.array([np.cos(self.heading), np.sin(self.heading)])
        if not _collides(self.pos + step):
            self.pos = self.pos + step  # blocked moves leave the robot in place, as in the original
        after = self._distance()
        reached = after < GOAL_RADIUS
        reward = before - after + (GOAL_BONUS if reached else 0.0)
        return self._obs(), float(reward), bool(reached), False, self._info()


if "bench/HardMaze-v0" not in gym.registry:
    gym.register("bench/HardMaze-v0", entry_point=HardMazeEnv, max_episode_steps=400)

"""The deceptive Hard Maze of Lehman & Stanley (2011, Evolutionary Computation 19(2)), as a gym env.

Registered on import as ``bench/HardMaze-v0`` (400 steps). A circular robot (radius 8) senses
six rangefinders (-90, -45, 0, 45, 90, 180 degrees from its heading, range 100, scaled to
[0, 1]), four pie-slice radars that fire when the goal lies in their quadrant, and a bias: 11
inputs. Two continuous actions in [-1, 1] that accelerate the robot (``control="acceleration"``,
the default, as the original): turn rate += 0.5 degrees x a0 (at most 3 degrees per step), speed
+= 0.5 x a1 (at most 3 units per step); it moves along its heading, then turns.
``control="velocity"`` (ours, simpler) sets turn rate (up to 15 degrees) and speed directly,
turning first. The reward is potential-based: each step pays
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
was, and the acceleration control: the commented-out original in ``maze.h`` adds (o - 0.5) to
speed and angular velocity (degrees) for outputs o in [0, 1] (here a = 2o - 1) and caps both at
3, moving on the old heading before turning. That fork itself now changes speed and angular
velocity towards (o - 0.5) x 3 by at most 0.2 per step. OURS (differs from that code): radars
as four 90-degree quadrants centred on front / +90 / back / -90 at any range (that fork fires
them only within 20 units); goal radius 5 (the code's comment says 5 units; that fork uses 20).
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
LEHMAN_TURN, ACCEL_TURN, ACCEL_SPEED = np.radians(3.0), np.radians(0.5), 0.5
SENSOR_ANGLES = np.radians([-90.0, -45.0, 0.0, 45.0, 90.0, 180.0])


# Wall segments as start point a and direction e (precomputed: the env steps millions of times).
_AX, _AY = WALLS[:, 0], WALLS[:, 1]
_EX, _EY = WALLS[:, 2] - _AX, WALLS[:, 3] - _AY
_EE = _EX * _EX + _EY * _EY


def _ray_distances(pos: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """(n, S): distance along each robot's rangefinders to the nearest wall, capped at RANGE."""
    angles = heading[:, None] + SENSOR_ANGLES  # (n, S)
    dx, dy = np.cos(angles)[..., None], np.sin(angles)[..., None]  # (n, S, 1)
    rx, ry = (_AX - pos[:, :1])[:, None], (_AY - pos[:, 1:])[:, None]  # (n, 1, W)
    denom = dx * _EY - dy * _EX  # (n, S, W); 0: parallel
    safe = np.where(np.abs(denom) > 1e-12, denom, np.inf)
    t = (rx * _EY - ry * _EX) / safe  # along the ray
    u = (rx * dy - ry * dx) / safe  # along the wall
    hit = (t >= 0) & (u >= 0) & (u <= 1) & np.isfinite(safe)
    return np.minimum(np.where(hit, t, RANGE).min(axis=-1), RANGE)


def _collides(pos: np.ndarray) -> np.ndarray:
    """(n,): whether a robot centred at each of ``pos`` (n, 2) overlaps a wall."""
    px, py = pos[:, :1], pos[:, 1:]
    t = np.clip(((px - _AX) * _EX + (py - _AY) * _EY) / _EE, 0.0, 1.0)
    gx, gy = _AX + t * _EX - px, _AY + t * _EY - py
    return (gx * gx + gy * gy < RADIUS * RADIUS).any(axis=-1)


class MazeRobots:
    """``n`` robots in the Hard Maze, stepped together (numpy over the robot axis).

    The one implementation of the physics: :class:`HardMazeEnv` is one robot of it, and the
    population evaluator steps a whole slot table of them at once (see ``make_robots``), 28x
    the frames per second of n gym envs (BENCHMARKS.md section 7). Elementwise numpy gives each
    robot the same numbers whatever n is, so both paths give identical episodes (tested).
    """

    def __init__(
        self, n: int, control: str = "acceleration", goal: tuple[float, float] = GOAL
    ) -> None:
        if control not in ("velocity", "acceleration"):
            raise ValueError(f"control must be 'velocity' or 'acceleration', got {control!r}")
        self.n, self.control = n, control
        self.pos = np.tile(np.array(START), (n, 1))
        self.heading = np.full(n, START_HEADING)
        self.speed, self.turn_rate = np.zeros(n), np.zeros(n)
        self.goal = np.array(goal, dtype=np.float64)

    def reset(self) -> None:
        self.pos[:], self.heading[:] = START, START_HEADING
        self.speed[:], self.turn_rate[:] = 0.0, 0.0

    def distance(self) -> np.ndarray:
        return np.hypot(self.goal[0] - self.pos[:, 0], self.goal[1] - self.pos[:, 1])

    def observe(self) -> np.ndarray:
        """(n, 11) float32: rangefinders / RANGE, goal radar quadrant (one-hot), bias."""
        ranges = _ray_distances(self.pos, self.heading) / RANGE
        to_goal = self.goal - self.pos
        rel = (np.arctan2(to_goal[:, 1], to_goal[:, 0]) - self.heading) % (2 * np.pi)
        quadrant = (((rel + np.pi / 4) % (2 * np.pi)) // (np.pi / 2)).astype(np.int64)
        radar = np.zeros((self.n, 4))  # quadrants centred on 0, +90, 180, -90 degrees
        radar[np.arange(self.n), quadrant] = 1.0
        return np.concatenate([ranges, radar, np.ones((self.n, 1))], axis=1).astype(np.float32)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply ``action`` (n, 2) in [-1, 1]: (reward, reached_goal), each (n,)."""
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        before = self.distance()
        if self.control == "velocity":  # turn, then move
            self.heading = (self.heading + MAX_TURN * action[:, 0]) % (2 * np.pi)
            self.speed = MAX_SPEED * action[:, 1]
            heading = self.heading
        else:  # Lehman & Stanley: outputs accelerate; move on the old heading, then turn
            turn = self.turn_rate + ACCEL_TURN * action[:, 0]
            self.turn_rate = np.clip(turn, -LEHMAN_TURN, LEHMAN_TURN)
            self.speed = np.clip(self.speed + ACCEL_SPEED * action[:, 1], -MAX_SPEED, MAX_SPEED)
            heading = self.heading
            self.heading = (self.heading + self.turn_rate) % (2 * np.pi)
        moved = self.pos + self.speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], 1)
        free = ~_collides(moved)  # blocked moves leave the robot in place, as in the original
        self.pos[free] = moved[free]
        after = self.distance()
        reached = after < GOAL_RADIUS
        return before - after + np.where(reached, GOAL_BONUS, 0.0), reached


class HardMazeEnv(gym.Env):
    """Navigation in the Hard Maze (see module docstring): one robot of :class:`MazeRobots`.

    Args:
        control: ``acceleration`` (Lehman & Stanley's, the default) or ``velocity`` (ours).
        goal: the goal's position (tests move it next to the start).
    """

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, control: str = "acceleration", goal: tuple[float, float] = GOAL) -> None:
        self.robot = MazeRobots(1, control, tuple(goal))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (11,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    @property
    def pos(self) -> np.ndarray:
        return self.robot.pos[0]

    @pos.setter
    def pos(self, value: np.ndarray) -> None:
        self.robot.pos[0] = value

    @property
    def heading(self) -> float:
        return float(self.robot.heading[0])

    def make_robots(self, n: int) -> MazeRobots:
        """``n`` robots with this env's settings, for batched population evaluation."""
        return MazeRobots(n, self.robot.control, tuple(self.robot.goal))

    def _info(self) -> dict[str, Any]:
        distance = float(self.robot.distance()[0])
        return {"x": float(self.pos[0]), "y": float(self.pos[1]), "distance": distance,
                "reached_goal": distance < GOAL_RADIUS}  # fmt: skip

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)  # the maze is deterministic; the seed is accepted for the API
        self.robot.reset()
        return self.robot.observe()[0], self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, reached = self.robot.step(np.asarray(action, dtype=np.float64).reshape(1, 2))
        return self.robot.observe()[0], float(reward[0]), bool(reached[0]), False, self._info()


if "bench/HardMaze-v0" not in gym.registry:
    gym.register("bench/HardMaze-v0", entry_point=HardMazeEnv, max_episode_steps=400)

"""The deceptive Hard Maze (bench/maze.py) and GA vs GA-NS on it (Lehman & Stanley 2011;
Such et al. 2017, arXiv 1712.06567, section 4.2)."""

from __future__ import annotations

import csv
from collections import deque
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from bench.algos.evaluator import PopulationResult, SeedChains
from bench.algos.ga import DeepGA
from bench.algos.novelty import NoveltySearchGA
from bench.algos.population import PopulationMethod
from bench.maze import (
    _AX,
    _AY,
    _EE,
    _EX,
    _EY,
    ACCEL_SPEED,
    ACCEL_TURN,
    GOAL,
    GOAL_BONUS,
    LEHMAN_TURN,
    MAX_SPEED,
    RADIUS,
    START,
)  # fmt: skip

# A hand-made route round the maze (screen coordinates, y down): right through the gap at
# (108, 164), up the diagonal corridor, round the wall tip at (87, 91), over the top, into the
# goal's pocket through the gap at (133, 30). Checked against the walls by the test below.
ROUTE = [(100, 150), (114, 153), (150, 180), (175, 170), (176, 152), (140, 135), (100, 114),
         (75, 95), (75, 70), (140, 50), (150, 22), (125, 17), GOAL]  # fmt: skip
TRAP = (30.0, 62.0)  # the dead end under the wall (4, 49)-(57, 53), ~42 from the goal


def make() -> gym.Env:
    return gym.make("bench.maze:bench/HardMaze-v0")


def drive(env: gym.Env, route: list[tuple[float, float]]) -> tuple[float, dict, list[float]]:
    """Steer along ``route`` (reading the robot's pose): (return, last info, distances).

    Accelerates towards the turn rate that points at the next waypoint (at most 3 degrees a
    step) and towards full speed when roughly facing it, slowing to 0.5 in sharp turns."""
    maze = env.unwrapped
    robot = maze.robot
    total, info, distances, target = 0.0, {}, [], 0
    for _ in range(400):
        while target < len(route) - 1 and np.hypot(*(np.subtract(route[target], maze.pos))) < 6:
            target += 1
        to = np.subtract(route[target], maze.pos)
        error = (np.arctan2(to[1], to[0]) - maze.heading + np.pi) % (2 * np.pi) - np.pi
        want_turn = np.clip(error, -LEHMAN_TURN, LEHMAN_TURN)
        want_speed = MAX_SPEED if abs(error) < np.radians(20) else 0.5
        turn = np.clip((want_turn - robot.turn_rate[0]) / ACCEL_TURN, -1.0, 1.0)
        speed = np.clip((want_speed - robot.speed[0]) / ACCEL_SPEED, -1.0, 1.0)
        _, reward, terminated, truncated, info = env.step(np.array([turn, speed], np.float32))
        total += reward
        distances.append(info["distance"])
        if terminated or truncated:
            break
    return total, info, distances


def test_maze_spaces_sensors_and_a_route_to_the_goal() -> None:
    env = make()
    obs, info = env.reset(seed=0)
    assert env.observation_space.shape == obs.shape == (11,)
    assert env.action_space.shape == (2,) and env.spec.max_episode_steps == 400
    assert (info["x"], info["y"]) == START and not info["reached_goal"]
    ranges, radar, bias = obs[:6], obs[6:10], obs[10]
    assert np.all((ranges > 0) & (ranges <= 1)) and bias == 1.0
    assert radar.sum() == 1.0 and radar[3] == 1.0  # goal straight "up" (-90 degrees), heading 0
    behind = 4 + 3 * (184 - 49) / (202 - 49)  # the wall (4, 49)-(7, 202) at y = 184
    assert ranges[5] == pytest.approx((36 - behind) / 100, abs=1e-4)
    start_distance = info["distance"]
    total, info, distances = drive(env, ROUTE)
    assert info["reached_goal"] and len(distances) < 400
    assert total == pytest.approx(start_distance - info["distance"] + GOAL_BONUS, abs=1e-6)
    # Deceptive: the route's distance to the goal first grows well beyond the start's ...
    assert max(distances) > start_distance + 40
    # ... while the trap, much closer (return ~122), is a dead end (wall between it and the goal).
    env.reset(seed=0)
    trap_return, trap_info, _ = drive(env, [(40, 150), (45, 120), (40, 90), TRAP])
    assert not trap_info["reached_goal"] and trap_info["distance"] < 45
    assert trap_return > 115
    env.reset(seed=0)
    env.unwrapped.pos = np.array(TRAP)  # from the trap, straight at the goal: the wall blocks it
    _, info, _ = drive(env, [GOAL])
    assert not info["reached_goal"] and info["distance"] > 35


# -- GA vs GA-NS -----------------------------------------------------------------------------
def generations(folder: Path) -> list[dict[str, str]]:
    with (folder / "generations.csv").open() as handle:
        return list(csv.DictReader(handle))


def reached_goal(rows: list[dict[str, str]]) -> bool:
    """Some training episode reached the goal: only the bonus lifts a return above the start
    distance (the most a potential-based return can be without it)."""
    start_distance = float(np.hypot(*np.subtract(START, GOAL)))
    return max(float(r["return_best"]) for r in rows) > start_distance


def test_ga_ns_grows_an_archive_and_logs_coverage_on_the_maze(job) -> None:
    _, folder = job("algo=ga_ns", "env=hardmaze", "budget.frames=40_000",
                    "algo.params.population_size=25", "algo.params.archive_prob=0.2")  # fmt: skip
    rows = generations(folder)
    assert len(rows) == 4 and int(rows[-1]["archive_size"]) > int(rows[0]["archive_size"])
    assert float(rows[-1]["novelty_mean"]) > 0
    cells = [int(r["behaviour_cells"]) for r in rows]
    assert cells == sorted(cells) and cells[-1] > 1


def path_distance_to_goal() -> np.ndarray:
    """(200, 210) grid: path length (8-neighbour steps on a 1-unit grid) from each free robot
    centre to the goal; inf where the robot cannot be. A deception-aware progress measure: the
    trap is ~40 from the goal as the crow flies but ~600 along the way."""
    xs, ys = np.meshgrid(np.arange(200.0), np.arange(210.0), indexing="ij")
    px, py = xs[..., None], ys[..., None]
    t = np.clip(((px - _AX) * _EX + (py - _AY) * _EY) / _EE, 0.0, 1.0)
    gap = np.hypot(_AX + t * _EX - px, _AY + t * _EY - py).min(-1)
    free = gap >= RADIUS
    dist = np.full(free.shape, np.inf)
    goal = (int(GOAL[0]), int(GOAL[1]))
    dist[goal], queue = 0.0, deque([goal])
    steps = [(dx, dy, np.hypot(dx, dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    while queue:  # label-correcting search (a few passes: the grid is small)
        x, y = queue.popleft()
        for dx, dy, length in steps:
            nx, ny = x + dx, y + dy
            inside = 0 <= nx < 200 and 0 <= ny < 210 and free[nx, ny]
            if inside and dist[x, y] + length < dist[nx, ny] - 1e-9:
                dist[nx, ny] = dist[x, y] + length
                queue.append((nx, ny))
    return dist


def test_path_distance_sees_the_trap_as_far() -> None:
    dist = path_distance_to_goal()
    start, trap = dist[int(START[0]), int(START[1])], dist[int(TRAP[0]), int(TRAP[1])]
    assert 450 < start < 520 and trap > start + 80  # the route: ~480 units


FRAMES, SEEDS = 1_000_000, (0, 1, 2)


@pytest.mark.slow
def test_ga_ns_gets_further_round_the_maze_than_ga(job, monkeypatch) -> None:
    """Same budget, seeds, population, sigma (configs/algo/ga*.yaml, maze): GA-NS against GA.

    Progress = the shortest path-to-goal distance among the final positions of every episode
    (start: ~480 left). Measured at 1M frames (~25 generations of 101), seeds 0-1-2, ~260 s on
    one core: path left GA 338 / 314 / 330 (stuck in the trap and the start chambers; best
    return ~125 = the trap), GA-NS 282 / 285 / 297 (up the right wall into the diagonal
    corridor); goal reached by neither. NOT a reproduction of GA-NS solving the Hard Maze: a
    10M-frame GA-NS run (seed 1) got round the corridor into the top region (60% of the maze
    covered) but not through the narrow gap into the goal's pocket.
    """
    behaviours: list[np.ndarray] = []
    evaluate = PopulationMethod.evaluate_genomes

    def recording(self, batch, episodes, rng):
        result = evaluate(self, batch, episodes, rng)
        behaviours.append(result.descriptors.reshape(-1, 2))
        return result

    monkeypatch.setattr(PopulationMethod, "evaluate_genomes", recording)
    monkeypatch.setattr(DeepGA, "behaviour_for", lambda self, spec: "xy")  # record, not select
    dist = path_distance_to_goal()
    progress: dict[str, list[float]] = {"ga": [], "ga_ns": []}
    reached: dict[str, list[bool]] = {"ga": [], "ga_ns": []}
    for seed in SEEDS:
        for algo in ("ga", "ga_ns"):
            behaviours.clear()
            _, folder = job(f"algo={algo}", "env=hardmaze", f"budget.frames={FRAMES}",
                            f"seed={seed}", sub=f"{algo}{seed}")  # fmt: skip
            xy = np.clip(np.concatenate(behaviours).astype(int), 0, [199, 209])
            progress[algo].append(float(dist[xy[:, 0], xy[:, 1]].min()))
            reached[algo].append(reached_goal(generations(folder)))
    print(
        f"\nmaze, {FRAMES} frames, seeds {SEEDS}: path distance left {progress}, "
        f"reached the goal {reached}"
    )
    assert not any(reached["ga"])  # deceived
    assert sum(reached["ga_ns"]) >= sum(reached["ga"])
    better = [n < g for n, g in zip(progress["ga_ns"], progress["ga"], strict=True)]
    assert sum(better) >= 2, progress


def test_ga_ns_parents_are_the_most_novel_not_the_return_elite() -> None:
    """The return elite is carried into the population but is not bred from unless novel."""
    ga = NoveltySearchGA(novelty_k=1, population_size=4, truncation=2, elite_candidates=0,
                         archive_prob=0.0)  # fmt: skip
    ga.population = [(1,), (2,), (3,), (4,)]
    xy = np.array([[30.0, 62.0], [31.0, 62.0], [150.0, 180.0], [100.0, 114.0]])  # 1, 2: trap
    result = PopulationResult(
        returns=np.array([[124.0], [123.0], [-40.0], [10.0]]), lengths=np.full((4, 1), 400),
        steps=1600, episodes=4, descriptors=xy[:, None, :].astype(np.float32),
    )  # fmt: skip
    row = ga._tell(SeedChains(ga.population), result, np.random.default_rng(0))
    assert ga.elite == (1,) and ga.parents == [(3,), (4,)]
    assert row["behaviour_cells"] == 3 and row["archive_size"] == 0

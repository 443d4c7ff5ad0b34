"""The main job (`make demo`): every method the project is named for, at equal frames and then
at equal wall-clock seconds with the same total cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.equal_cost import mean_training_seconds
from tests.conftest import compose_config

NAMED_FOR = {"ga", "es", "csa_es", "dqn", "a2c", "ppo", "ddpg"}


def suite_grid(name: str) -> dict[str, list[str]]:
    cfg = compose_config([f"suite={name}"], with_hydra=True)
    return {k: str(v).split(",") for k, v in cfg.hydra.sweeper.params.items()}


def test_both_halves_sweep_the_same_jobs_with_every_named_method() -> None:
    frames, wall = suite_grid("demo"), suite_grid("demo_wall")
    assert frames == wall and set(frames["algo"]) == NAMED_FOR
    assert {"cartpole", "pendulum"} == set(frames["env"])


@pytest.mark.parametrize("env", ["cartpole", "pendulum"])
def test_one_half_is_limited_by_frames_the_other_by_seconds(env: str) -> None:
    by_frames = compose_config(["suite=demo", f"env={env}", "algo=ga"])
    by_wall = compose_config(["suite=demo_wall", f"env={env}", "algo=ga"])
    assert by_frames.budget.wall_seconds is None and by_frames.budget.frames <= 20_000
    assert by_wall.budget.wall_seconds > 0 and by_wall.budget.frames >= 10**8
    assert by_frames.experiment_name != by_wall.experiment_name  # separate records


def test_equal_cost_is_the_mean_training_seconds_of_a_run(tmp_path: Path) -> None:
    for i, seconds in enumerate([10.0, 20.0, 36.0]):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"wall_seconds": seconds}))
    (tmp_path / "skipped").mkdir()  # a skipped pair has no summary: not a run
    assert mean_training_seconds(tmp_path) == pytest.approx(22.0)

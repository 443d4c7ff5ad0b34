"""Step interpolation, carried-forward points and censored time to threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import curves as cv


def test_step_values_last_seen_and_carried() -> None:
    vals, carried = cv.step_values(
        np.array([0, 10, 20]), np.array([1.0, 2.0, 3.0]), np.array([0, 5, 10, 25])
    )
    assert vals.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert carried.tolist() == [False, False, False, True]


def _evals() -> pd.DataFrame:
    rows = []
    for seed, rets in enumerate([[0, 50, 100], [0, 10, 20]]):
        for i, r in enumerate(rets):
            rows.append(
                {
                    "run_id": f"r{seed}",
                    "task": "t",
                    "game": "g",
                    "algo": "a",
                    "algo_kind": "gradient",
                    "seed": seed,
                    "frames": 100 * i,
                    "wall_seconds": 1.0 * i,
                    "cpu_seconds": 2.0 * i,
                    "eval_return_mean": float(r),
                }
            )
    return pd.DataFrame(rows)


def test_time_to_threshold_censored() -> None:
    ttt = cv.time_to_threshold(_evals(), pd.Series({"g": 50.0})).set_index("run_id")
    assert ttt.loc["r0", "reached"] and ttt.loc["r0", "frames"] == 100
    assert not ttt.loc["r1", "reached"] and np.isnan(ttt.loc["r1", "frames"])
    assert ttt.loc["r1", "frames_censored"] == 200
    table = cv.threshold_table(ttt.reset_index())
    assert table.loc[0, "reached"] == "1/2" and table.loc[0, "min_frames"] == 100


def test_fixed_budget_and_grid() -> None:
    fb = cv.fixed_budget_table(_evals(), "frames", [150, 400])
    assert fb["mean"].tolist() == pytest.approx([30.0, 60.0])
    assert fb["carried"].tolist() == [0, 2]
    grid = cv.curves_on_grid(_evals(), "frames", points=3)
    assert sorted(grid["x"].unique()) == [0, 100, 200]

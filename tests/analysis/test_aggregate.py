"""Aggregates on hand-made (runs x tasks) matrices with known answers; reproducible bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import aggregate as agg


def test_point_estimates_known_values() -> None:
    # 8 runs x 1 task, scores 1..8: IQM = mean of the middle half (3, 4, 5, 6) = 4.5.
    m = {"a": np.arange(1.0, 9.0).reshape(8, 1)}
    table = agg.interval_estimates(m, reps=100, seed=0).set_index("metric")["estimate"]
    assert table["mean"] == pytest.approx(4.5)
    assert table["median"] == pytest.approx(4.5)
    assert table["iqm"] == pytest.approx(4.5)
    assert table["optimality_gap"] == pytest.approx(0.0)  # every score >= 1


def test_iqm_discards_outer_quartiles_and_optimality_gap() -> None:
    x = np.array([[0.0], [0.2], [0.4], [100.0]])  # the outlier must not move the IQM
    est = agg.interval_estimates({"a": x}, reps=50).set_index("metric")["estimate"]
    assert est["iqm"] == pytest.approx(0.3)
    assert est["optimality_gap"] == pytest.approx((1.0 + 0.8 + 0.6 + 0.0) / 4)


def test_same_seed_same_intervals_and_global_rng_restored() -> None:
    rng = np.random.default_rng(1)
    m = {"a": rng.random((5, 3)), "b": rng.random((5, 3))}
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = agg.interval_estimates(m, reps=300, seed=7)
    second = agg.interval_estimates(m, reps=300, seed=7)
    other = agg.interval_estimates(m, reps=300, seed=8)
    pd.testing.assert_frame_equal(first, second)
    assert not first[["ci_low", "ci_high"]].equals(other[["ci_low", "ci_high"]])
    assert np.array_equal(np.random.get_state()[1], before)  # caller's RNG untouched


def test_performance_profile_fractions() -> None:
    m = {"a": np.array([[0.1, 0.6], [0.3, 0.9]])}
    prof = agg.performance_profiles(m, np.array([0.0, 0.5, 1.0]), reps=50)
    assert prof["fraction"].tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_probability_of_improvement_dominance() -> None:
    scores = pd.DataFrame(
        {
            "task": ["t1"] * 4 + ["t2"] * 4,
            "algo": ["x", "x", "y", "y"] * 2,
            "seed": [0, 1] * 4,
            "score_norm": [0.9, 0.8, 0.1, 0.2, 0.7, 0.6, 0.3, 0.0],
        }
    )
    poi = agg.probability_of_improvement(scores, reps=100)
    assert poi.loc[0, ["x", "y"]].tolist() == ["x", "y"]
    assert poi.loc[0, "p_x_better"] == pytest.approx(1.0)


def test_score_matrices_unequal_seeds_use_common_count() -> None:
    scores = pd.DataFrame(
        {
            "task": ["t1", "t1", "t1", "t2", "t2"],
            "algo": "a",
            "seed": [0, 1, 2, 0, 1],
            "score_norm": [1, 2, 3, 4, 5.0],
        }
    )
    mats, covered = agg.score_matrices(scores)
    assert mats["a"].shape == (2, 2) and covered["a"] == ["t1", "t2"]


def test_critical_difference_orders_consistent_winner() -> None:
    tasks = pd.Index([f"t{i}" for i in range(6)], name="task")
    table = pd.DataFrame({"best": 3.0, "mid": 2.0, "worst": 1.0}, index=tasks)
    table += np.random.default_rng(0).random(table.shape) * 0.1
    cd = agg.critical_difference(table)
    assert cd["avg_rank"].to_dict() == {"best": 1.0, "mid": 2.0, "worst": 3.0}
    assert cd["friedman_p"] < 0.01
    assert cd["nemenyi"].loc["best", "worst"] < 0.05


def test_critical_difference_skips_with_reason() -> None:
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, np.nan]}, index=["t1", "t2"])
    cd = agg.critical_difference(table)
    assert "skipped" in cd and "Friedman needs" in cd["skipped"]

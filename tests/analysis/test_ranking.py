"""The weighted ranking on toy data: known order, weights move it as expected."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import ranking as rk

W = {
    "score": 1.0,
    "sample_efficiency": 0.0,
    "wall_clock": 1.0,
    "compute": 0.0,
    "stability": 0.0,
    "policy_size": 0.0,
}


def _table() -> pd.DataFrame:
    # "acc" is accurate but slow, "fast" fast but less accurate, "bad" worst on both.
    rows = []
    for task in ("e1", "e2"):
        rows += [
            {"task": task, "env_family": "classic", "algo": "acc", "score": 1.0, "wall_clock": 0.2},
            {
                "task": task,
                "env_family": "classic",
                "algo": "fast",
                "score": 0.6,
                "wall_clock": 0.9,
            },
            {"task": task, "env_family": "classic", "algo": "bad", "score": 0.1, "wall_clock": 0.1},
        ]
    return pd.DataFrame(rows).assign(
        sample_efficiency=0.5, compute=0.5, stability=0.5, policy_size=0.5
    )


def test_known_order_and_weight_change() -> None:
    _, agg = rk.weighted_scores(_table(), {**W, "wall_clock": 0.1})
    assert agg["algo"].tolist() == ["acc", "fast", "bad"]
    assert agg["aggregate_score"].iloc[0] == pytest.approx((1.0 + 0.1 * 0.2) / 1.1)
    _, agg = rk.weighted_scores(_table(), {**W, "wall_clock": 2.0})
    assert agg["algo"].tolist() == ["fast", "acc", "bad"]


def test_suite_weights_balance_families() -> None:
    rows = [
        {"task": f"atari{i}", "env_family": "atari", "algo": "a", "score": 1.0} for i in range(3)
    ] + [{"task": f"atari{i}", "env_family": "atari", "algo": "b", "score": 0.0} for i in range(3)]
    rows += [
        {"task": "hop", "env_family": "mujoco", "algo": "a", "score": 0.0},
        {"task": "hop", "env_family": "mujoco", "algo": "b", "score": 1.0},
    ]
    table = pd.DataFrame(rows)
    _, agg = rk.weighted_scores(table, {"score": 1.0}, {"atari": 1.0, "mujoco": 1.0})
    assert agg["aggregate_score"].tolist() == pytest.approx([0.5, 0.5])  # families weigh equally
    _, agg = rk.weighted_scores(table, {"score": 1.0}, {"atari": 1.0, "mujoco": 3.0})
    assert agg["algo"].tolist() == ["b", "a"]


def test_missing_pair_scores_zero() -> None:
    table = _table()
    table = table[~((table.algo == "acc") & (table.task == "e2"))]
    per_task, _ = rk.weighted_scores(table, W)
    row = per_task.query("algo == 'acc' and task == 'e2'")
    assert row["weighted_score"].item() == 0.0 and row["rank"].item() == 3.0


def _per_run() -> pd.DataFrame:
    rows = []
    for task in ("e1", "e2"):
        for seed in range(3):
            rows.append(
                {
                    "task": task,
                    "env_family": "classic",
                    "algo": "good",
                    "seed": seed,
                    "score_norm": 0.9 + 0.01 * seed,
                    "sample_efficiency": 0.8,
                    "wall_clock": 0.7,
                    "cpu_seconds": 10.0,
                    "policy_parameters": 1000,
                }
            )
            rows.append(
                {
                    "task": task,
                    "env_family": "classic",
                    "algo": "weak",
                    "seed": seed,
                    "score_norm": 0.2 + 0.3 * seed,
                    "sample_efficiency": 0.2,
                    "wall_clock": 0.1,
                    "cpu_seconds": 100.0,
                    "policy_parameters": 10,
                }
            )
    return pd.DataFrame(rows)


def test_criteria_scaling_and_bootstrap() -> None:
    cfg = {"weights": {c: 1.0 for c in rk.CRITERIA}, "suite_weights": {}, "missing": "zero"}
    crit, _, agg = rk.rank(_per_run(), cfg)
    c = crit.set_index(["task", "algo"])
    assert c.loc[("e1", "good"), "compute"] == 1.0 and c.loc[("e1", "weak"), "compute"] == 0.0
    assert c.loc[("e1", "weak"), "policy_size"] == 1.0  # smaller policy is better
    assert c.loc[("e1", "good"), "stability"] == 1.0
    assert agg["algo"].iloc[0] == "good"
    boot1 = rk.bootstrap_ranking(_per_run(), cfg, reps=30, seed=3)
    boot2 = rk.bootstrap_ranking(_per_run(), cfg, reps=30, seed=3)
    pd.testing.assert_frame_equal(boot1, boot2)
    assert boot1.set_index("algo").loc["good", "p_rank_first"] == 1.0

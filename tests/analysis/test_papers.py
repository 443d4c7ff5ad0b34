"""Ours beside the papers' figures, by the papers' rules (analysis/papers.py), on hand-made runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.papers import mean_ci, paper_table, paper_tables
from analysis.references import published_results


def runs_and_tests() -> tuple[pd.DataFrame, pd.DataFrame]:
    base = {"task": "cartpole", "game": "cartpole", "experiment": "wong2024_classic",
            "usable": True, "frame_skip": 1, "budget_frames": 10_000, "scale": 0.02}  # fmt: skip
    runs = pd.DataFrame([
        {**base, "run_id": "a", "algo": "csa_es", "paper_rule": "wong2024", "paper_score": 500.0,
         "final_eval_return": 10.0},
        {**base, "run_id": "b", "algo": "csa_es", "paper_rule": "wong2024", "paper_score": 480.0,
         "final_eval_return": 10.0},
        {**base, "run_id": "c", "algo": "ppo", "paper_rule": "not applicable: ppo ...",
         "paper_score": None, "final_eval_return": 200.0},
        {**base, "run_id": "d", "algo": "ppo", "experiment": "other", "paper_rule": None,
         "paper_score": None, "final_eval_return": 1.0},  # another experiment: left out
    ])  # fmt: skip
    tests = pd.DataFrame({
        "run_id": ["a", "a", "a", "b", "b"], "frames": [1000, 3000, 5000, 2000, 4000],
        "score": [100.0, 480.0, 500.0, 200.0, 476.0],
    })  # fmt: skip
    return runs, tests


def test_wong_table_uses_their_rule_threshold_and_labels_the_scale() -> None:
    runs, tests = runs_and_tests()
    table = paper_table("wong2024", runs, tests, published_results()).set_index("algo")
    es = table.loc["csa_es"]
    assert es["seeds"] == 2 and es["ours"] == pytest.approx(490.0)
    assert es["ours_ci_low"] < 490 < es["ours_ci_high"]
    assert es["threshold"] == 475 and es["ours_steps_to_threshold"] == 3000  # min over runs
    assert es["reached"] == "2/2" and es["paper_steps_to_threshold"] == 3041  # RECALLED row
    assert es["scale"] == 0.02 and not es["at_paper_budget"]
    ppo = table.loc["ppo"]  # the baseline: the harness's protocol, labelled
    assert ppo["ours"] == 200 and ppo["our_rule"].startswith("harness protocol")
    assert np.isnan(ppo["ours_ci_low"]) and "d" not in set(
        runs.loc[runs.algo == "ppo", "run_id"][:1]
    )
    assert list(paper_tables(runs, tests, published_results())) == ["wong2024"]


def test_baselines_reach_the_threshold_on_the_harness_evaluations() -> None:
    """A baseline's steps to threshold come from its own protocol's evaluations."""
    runs, tests = runs_and_tests()
    evals = pd.DataFrame({"run_id": ["c", "c", "c"], "frames": [0, 2000, 6000],
                          "eval_return_mean": [20.0, 400.0, 490.0]})  # fmt: skip
    table = paper_table("wong2024", runs, tests, published_results(), evals).set_index("algo")
    ppo = table.loc["ppo"]
    assert ppo["ours_steps_to_threshold"] == 6000 and ppo["reached"] == "1/1"
    assert ppo["paper_steps_to_threshold"] == 64820  # their PPO (RECALLED)
    assert table.loc["csa_es", "ours_steps_to_threshold"] == 3000  # still their tests


def test_such_table_puts_table_1_beside_our_test_score() -> None:
    runs = pd.DataFrame([
        {"run_id": r, "task": "frostbite", "game": "frostbite", "algo": "ga", "seed": i,
         "experiment": "such2017_atari13", "usable": True, "paper_rule": "such2017",
         "paper_score": v, "final_eval_return": 0.0, "frame_skip": 4,
         "budget_frames": 1e6, "scale": 0.001}
        for i, (r, v) in enumerate([("a", 300.0), ("b", 500.0)])
    ])  # fmt: skip
    table = paper_table("such2017", runs, pd.DataFrame(columns=["run_id", "frames", "score"]),
                        published_results())  # fmt: skip
    row = table.iloc[0]
    assert row["ours"] == 400 and row["paper"] == 4536 and row["paper_certainty"] == "RECALLED"
    assert row["budget_frames"] == 1e6 and not row["at_paper_budget"]


def test_mean_ci_over_seeds() -> None:
    mean, low, high = mean_ci(pd.Series([1.0, 2.0, 3.0]))
    assert mean == 2.0 and low == pytest.approx(2 - 4.303 / np.sqrt(3), rel=1e-3)
    assert high - mean == pytest.approx(mean - low)
    assert np.isnan(mean_ci(pd.Series([5.0]))[1])

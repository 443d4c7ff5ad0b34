"""Runs given equal seconds are compared on their final policies (analysis/leaders.at_limits)."""

from __future__ import annotations

import pandas as pd

from analysis.leaders import at_limits


def test_a_run_stopped_by_its_wall_limit_counts_its_final_evaluation_at_the_limit() -> None:
    runs = pd.DataFrame({"run_id": ["ppo", "ga"], "stop_reason": ["wall_seconds", "frames"],
                         "budget_wall_seconds": [10.0, None]})  # fmt: skip
    evals = pd.DataFrame({"run_id": ["ppo", "ppo", "ga", "ga"],
                          "wall_seconds": [0.0, 10.06, 0.0, 10.06]})  # fmt: skip
    clamped = at_limits(evals, runs, "wall_seconds")
    assert clamped["wall_seconds"].tolist() == [0.0, 10.0, 0.0, 10.06]  # ga: not wall-limited
    assert at_limits(evals, runs, "frames") is evals
    assert at_limits(evals, runs, "cpu_seconds") is evals  # nobody stopped on CPU

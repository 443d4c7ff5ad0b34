"""Who leads under which budget: IQM of normalised score at a frame, wall-clock and CPU budget.

Per comparability scope (analysis/comparable.py), per budget axis, every algorithm of the
scope gets the interquartile mean of normalised scores over the scope's (runs x tasks) with
a stratified-bootstrap percentile CI (rliable; Agarwal et al. 2021). Budgets per task:

- frames: the run's final score within its frame budget (as the final-score tables);
- wall-clock and CPU seconds: the score (step interpolation) at the task's *common* budget,
  the shortest run of the scope on that task, so no run is read past its end; a run stopped by
  its limit on that axis counts its final evaluation at the limit (:func:`at_limits`).

A comparable pair without a completed run scores 0 for each seed it recorded
(``ranking.missing: zero``), or is left out (``skip``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis import aggregate as agg
from analysis import curves as cv
from analysis import fmt
from analysis.comparable import Scope

AXES = {"frames": "frame budget", "wall_seconds": "wall-clock budget", "cpu_seconds": "CPU budget"}
COLUMNS = ["scope", "axis", "budget", "algo", "estimate", "ci_low", "ci_high", "runs", "tasks"]


def budget_text(budget: pd.Series, axis: str) -> str:
    """``30,000 frames`` or ``cartpole 2.1 s, pendulum 40 s``."""
    unit = (lambda v: f"{fmt.count(v)} frames") if axis == "frames" else fmt.seconds
    if budget.nunique() == 1:
        return unit(budget.iloc[0])
    return ", ".join(f"{task} {unit(v)}" for task, v in budget.items())


def scores_at(
    scores: pd.DataFrame, evals: pd.DataFrame, axis: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Per run (task, algo, seed, value) at each task's budget on ``axis``, and the budgets."""
    if axis == "frames":
        budget = (
            scores.groupby("task")["budget_frames"]
            .max()
            .fillna(scores.groupby("task")["frames"].max())
        )
        return scores[["task", "algo", "seed"]].assign(value=scores["score_norm"]), budget
    budget = evals.groupby(["task", "run_id"])[axis].max().groupby("task").min()
    parts = [cv.values_at(ev, axis, [budget[t]], "score_norm") for t, ev in evals.groupby("task")]
    values = pd.concat(parts, ignore_index=True)
    return values[["task", "algo", "seed", "value"]], budget


def at_limits(evals: pd.DataFrame, runs: pd.DataFrame, axis: str) -> pd.DataFrame:
    """A run stopped by its limit on a time ``axis`` spent exactly that budget: its last
    evaluation (the policy at the stop, one update past the limit) counts at the limit, so that
    runs given equal seconds (``budget.wall_seconds``) are compared on their final policies."""
    column = f"budget_{axis}"
    if axis == "frames" or column not in runs or "stop_reason" not in runs:
        return evals
    stopped = runs[runs["stop_reason"] == axis].set_index("run_id")[column].dropna()
    if stopped.empty:
        return evals
    limit = evals["run_id"].map(stopped)
    return evals.assign(**{axis: evals[axis].where(limit.isna(), evals[axis].clip(upper=limit))})


def with_missing(values: pd.DataFrame, scope: Scope, runs: pd.DataFrame) -> pd.DataFrame:
    """Add a 0 for each recorded seed of a scope pair without a completed run."""
    have = set(zip(values["task"], values["algo"], strict=True))
    rows = []
    for task in scope.tasks:
        for algo in (a for a in scope.algos if (task, a) not in have):
            mine = runs[
                (runs["task"] == task) & (runs["algo"] == algo) & runs["status"].ne("skipped")
            ]
            seeds = sorted(mine["seed"].dropna().unique()) or [0]
            rows += [{"task": task, "algo": algo, "seed": s, "value": 0.0} for s in seeds]
    if not rows:
        return values
    return pd.concat([values, pd.DataFrame(rows, columns=values.columns)], ignore_index=True)


def _scope_rows(
    scope: Scope, scores: pd.DataFrame, evals: pd.DataFrame, runs: pd.DataFrame, cfg: Mapping
) -> list[pd.DataFrame]:
    a = cfg["aggregate"]
    mine = scores[scores["task"].isin(scope.tasks) & scores["algo"].isin(scope.algos)]
    ev = evals[evals["run_id"].isin(mine["run_id"])]
    out, done = [], {}
    for axis in AXES:
        values, budget = scores_at(mine, at_limits(ev, runs, axis), axis)
        if cfg["ranking"].get("missing", "zero") == "zero":
            values = with_missing(values, scope, runs)
        mats, _ = agg.score_matrices(values.dropna(subset=["value"]), "value", list(scope.tasks))
        if not mats:
            continue
        # Same matrices (e.g. wall-clock and CPU budgets in one evaluation interval), same
        # seeded bootstrap: reuse the estimates instead of resampling again.
        key = tuple((k, m.shape, m.tobytes()) for k, m in sorted(mats.items()))
        if key not in done:
            done[key] = agg.interval_estimates(
                mats, a["reps"], int(cfg["seed"]), a["confidence"], ("iqm",)
            )
        out.append(done[key].assign(scope=scope.name, axis=axis, budget=budget_text(budget, axis)))
    return out


def leaders(
    scopes: list[Scope],
    scores: pd.DataFrame,
    evals: pd.DataFrame,
    runs: pd.DataFrame,
    cfg: Mapping,
) -> pd.DataFrame:
    """Long table: scope, axis, budget, algo, IQM estimate and CI, runs and tasks per algo."""
    scored = scores.dropna(subset=["score_norm"])
    parts = [p for s in scopes for p in _scope_rows(s, scored, evals, runs, cfg)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(parts, ignore_index=True)[COLUMNS]


# END

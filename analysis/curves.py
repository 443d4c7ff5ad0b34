"""Learning curves on shared grids, fixed-budget scores and time to threshold.

Step interpolation: the value at grid point x is the last evaluation at or before x (what a
user stopping training at x would have). Runs that ended early:
- completed runs whose last evaluation lies before the grid's end (stopped by a wall-clock or
  CPU limit, or by the algorithm itself) keep their final evaluation from then on, since the
  final policy is what their budget bought; such points are flagged ``carried=True`` and
  counted in every table;
- failed, interrupted and malformed runs are left out of curves and statistics and are listed
  in the validation table (never dropped silently).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

RUN_KEYS = ["run_id", "task", "game", "algo", "algo_kind", "seed"]


def step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last ``y`` with ``x <= grid``; the first value before it. Returns (values, carried)."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    idx = np.searchsorted(x, grid, side="right") - 1
    # Before the first row: the first row is the initial policy (frame 0), evaluated after setup.
    values = y[np.clip(idx, 0, None)]
    carried = np.asarray(grid) > x[-1]
    return values, carried


def make_grid(stop: float, points: int) -> np.ndarray:
    return np.linspace(0.0, float(stop), int(points))


def curves_on_grid(
    evals: pd.DataFrame,
    axis: str = "frames",
    value: str = "eval_return_mean",
    points: int = 51,
    shared: bool = False,
) -> pd.DataFrame:
    """Long frame (one row per run x grid point) with ``x``, ``y`` and ``carried``.

    The grid runs from 0 to the longest run of each task (``shared=False``) or of all tasks
    (``shared=True``, for aggregates across tasks).
    """
    if evals.empty:
        return pd.DataFrame(columns=[*RUN_KEYS, "x", "y", "carried"])
    keys = [k for k in RUN_KEYS if k in evals]
    out = []
    global_stop = evals[axis].max()
    for _task, task_evals in evals.groupby("task"):
        grid = make_grid(global_stop if shared else task_evals[axis].max(), points)
        for ident, run in task_evals.groupby(keys, dropna=False):
            vals, carried = step_values(run[axis].to_numpy(), run[value].to_numpy(), grid)
            frame = pd.DataFrame({"x": grid, "y": vals, "carried": carried})
            out.append(frame.assign(**dict(zip(keys, ident, strict=True))))
    return pd.concat(out, ignore_index=True)[[*keys, "x", "y", "carried"]]


def values_at(
    evals: pd.DataFrame, axis: str, budgets: Sequence[float], value: str = "eval_return_mean"
) -> pd.DataFrame:
    """Per run: the (step-interpolated) value at each budget on ``axis``."""
    keys = [k for k in RUN_KEYS if k in evals]
    rows = []
    for ident, run in evals.groupby(keys, dropna=False):
        vals, carried = step_values(
            run[axis].to_numpy(), run[value].to_numpy(), np.asarray(budgets, float)
        )
        for b, v, c in zip(budgets, vals, carried, strict=True):
            rows.append(
                {
                    **dict(zip(keys, ident, strict=True)),
                    "axis": axis,
                    "budget": b,
                    "value": v,
                    "carried": bool(c),
                }
            )
    return pd.DataFrame(rows)


def fixed_budget_table(
    evals: pd.DataFrame, axis: str, budgets: Sequence[float], value: str = "eval_return_mean"
) -> pd.DataFrame:
    """Mean, std over seeds, runs and carried-forward count per (task, algo, budget)."""
    per_run = values_at(evals, axis, budgets, value)
    if per_run.empty:
        return per_run
    return (
        per_run.groupby(["task", "algo", "budget"])
        .agg(
            mean=("value", "mean"),
            std=("value", "std"),
            runs=("value", "size"),
            carried=("carried", "sum"),
        )
        .reset_index()
        .rename(columns={"budget": axis})
    )


def time_to_threshold(evals: pd.DataFrame, thresholds: pd.Series) -> pd.DataFrame:
    """Per run: first evaluation reaching ``thresholds[game]`` -> frames, wall and CPU seconds.

    Runs that never reach it are right-censored: ``reached=False`` and the ``*_censored``
    columns hold where the run ended (its budget).
    """
    keys = [k for k in RUN_KEYS if k in evals]
    rows = []
    for ident, run in evals.groupby(keys, dropna=False):
        row = dict(zip(keys, ident, strict=True))
        thr = thresholds.get(row["game"], np.nan)
        run = run.sort_values("frames")
        hit = run[run["eval_return_mean"] >= thr] if np.isfinite(thr) else run.iloc[:0]
        row.update(threshold=thr, reached=not hit.empty)
        for col in ("frames", "wall_seconds", "cpu_seconds"):
            row[col] = float(hit[col].iloc[0]) if not hit.empty else np.nan
            row[f"{col}_censored"] = float(run[col].iloc[-1])
        rows.append(row)
    return pd.DataFrame(rows)


def threshold_table(ttt: pd.DataFrame) -> pd.DataFrame:
    """Per (task, algo): runs reaching, median and min (Wong et al.'s metric) frames/seconds."""
    if ttt.empty:
        return ttt

    def summarise(g: pd.DataFrame) -> pd.Series:
        # Median over all seeds with never-reached runs as +inf: NaN when half or more never reach.
        fr = g["frames"].fillna(np.inf)
        med = float(np.median(fr))
        return pd.Series(
            {
                "threshold": g["threshold"].iloc[0],
                "reached": f"{int(g['reached'].sum())}/{len(g)}",
                "median_frames": med if np.isfinite(med) else np.nan,
                "min_frames": g["frames"].min(),
                "median_wall_seconds": float(np.median(g["wall_seconds"].fillna(np.inf)))
                if g["reached"].mean() > 0.5
                else np.nan,
                "censored_at_frames": g["frames_censored"].max(),
            }
        )

    return ttt.groupby(["task", "algo"]).apply(summarise, include_groups=False).reset_index()

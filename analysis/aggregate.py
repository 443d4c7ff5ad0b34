"""Aggregate statistics over (runs x tasks) matrices with rliable (Agarwal et al. 2021).

rliable's bootstrap draws from NumPy's *global* RNG (it ignores ``random_state`` in places),
so every call here runs inside :func:`seeded`, which seeds the global RNG and restores the
caller's state afterwards: same seed -> identical intervals, and no side effect.
Critical-difference tests (Friedman + Nemenyi, Wilcoxon-Holm as in Wong et al. 2024) use
scipy and scikit-posthocs over tasks (blocks) x algorithms (groups).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from rliable import library as rly
from rliable import metrics
from scipy import stats

Matrices = dict[str, np.ndarray]  # algo -> (num_runs x num_tasks)

AGGREGATES = {
    "mean": metrics.aggregate_mean,
    "median": metrics.aggregate_median,
    "iqm": metrics.aggregate_iqm,
    "optimality_gap": metrics.aggregate_optimality_gap,
}


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's global RNG for rliable, then restore the previous state."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def score_matrices(
    scores: pd.DataFrame, value: str = "score_norm", tasks: list[str] | None = None
) -> tuple[Matrices, dict[str, list[str]]]:
    """``scores`` has one row per run (task, algo, seed, value) -> per-algo (runs x tasks).

    Tasks without a value (no reference score) are left out. With unequal seed counts the
    matrix keeps the first ``k`` seeds of every task, ``k`` the smallest count (validation
    reports it). Returns the matrices and each algorithm's task list.
    """
    data = scores.dropna(subset=[value])
    if tasks is not None:
        data = data[data["task"].isin(tasks)]
    out: Matrices = {}
    covered: dict[str, list[str]] = {}
    for algo, grp in data.groupby("algo"):
        cols = sorted(grp["task"].unique())
        per_task = [grp[grp["task"] == t].sort_values("seed")[value].to_numpy() for t in cols]
        k = min(len(v) for v in per_task)
        out[algo] = np.stack([v[:k] for v in per_task], axis=1)
        covered[algo] = cols
    return out, covered


def interval_estimates(
    matrices: Mapping[str, np.ndarray],
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    names: Sequence[str] = tuple(AGGREGATES),
) -> pd.DataFrame:
    """Mean, median, IQM and optimality gap (or ``names`` of them) with stratified-bootstrap
    percentile CIs."""
    rows = []
    for name in names:
        fn = AGGREGATES[name]
        with seeded(seed):
            points, intervals = rly.get_interval_estimates(
                dict(matrices),
                lambda x, fn=fn: np.array([fn(x)]),
                reps=reps,
                confidence_interval_size=confidence,
            )
        for algo in matrices:
            rows.append(
                {
                    "algo": algo,
                    "metric": name,
                    "estimate": float(points[algo][0]),
                    "ci_low": float(intervals[algo][0, 0]),
                    "ci_high": float(intervals[algo][1, 0]),
                    "runs": matrices[algo].shape[0],
                    "tasks": matrices[algo].shape[1],
                }
            )
    return pd.DataFrame(rows)


def performance_profiles(
    matrices: Mapping[str, np.ndarray], taus: np.ndarray, reps: int = 500, seed: int = 0
) -> pd.DataFrame:
    """Fraction of runs with normalised score > tau, with bootstrap CIs (long format)."""
    with seeded(seed):
        dist, cis = rly.create_performance_profile(dict(matrices), taus, reps=reps)
    rows = []
    for algo in matrices:
        for i, tau in enumerate(taus):
            rows.append(
                {
                    "algo": algo,
                    "tau": float(tau),
                    "fraction": float(dist[algo][i]),
                    "ci_low": float(cis[algo][0, i]),
                    "ci_high": float(cis[algo][1, i]),
                }
            )
    return pd.DataFrame(rows)


def probability_of_improvement(
    scores: pd.DataFrame, value: str = "score_norm", reps: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """P(X > Y) for each ordered pair, over the tasks both algorithms have, with CIs."""
    algos = sorted(scores["algo"].unique())
    rows = []
    for i, x in enumerate(algos):
        for y in algos[i + 1 :]:
            common = sorted(
                set(scores.loc[scores.algo == x, "task"])
                & set(scores.loc[scores.algo == y, "task"])
            )
            mats, _ = score_matrices(scores[scores.algo.isin([x, y])], value, common)
            if len(mats) < 2 or not common:
                continue
            with seeded(seed):
                points, cis = rly.get_interval_estimates(
                    {"pair": [mats[x], mats[y]]}, metrics.probability_of_improvement, reps=reps
                )
            rows.append(
                {
                    "x": x,
                    "y": y,
                    "p_x_better": float(points["pair"]),
                    "ci_low": float(np.ravel(cis["pair"])[0]),
                    "ci_high": float(np.ravel(cis["pair"])[1]),
                    "tasks": len(common),
                }
            )
    return pd.DataFrame(rows)


def iqm_over_grid(curves: pd.DataFrame, reps: int = 200, seed: int = 0) -> pd.DataFrame:
    """Aggregate IQM (with CIs) at every grid point of normalised curves (column ``y``)."""
    rows = []
    for x, at in curves.groupby("x"):
        mats, _ = score_matrices(at.rename(columns={"y": "v"}), "v")
        if not mats:
            continue
        with seeded(seed):
            points, cis = rly.get_interval_estimates(
                mats, lambda m: np.array([metrics.aggregate_iqm(m)]), reps=reps
            )
        rows += [
            {
                "algo": a,
                "x": float(x),
                "iqm": float(points[a][0]),
                "ci_low": float(cis[a][0, 0]),
                "ci_high": float(cis[a][1, 0]),
            }
            for a in mats
        ]
    return pd.DataFrame(rows)


def complete_blocks(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Tasks x algos table -> the largest complete sub-table (drop algos or tasks with gaps)."""
    by_algo = table.dropna(axis=1)  # keep algos present on every task
    by_task = table.dropna(axis=0)  # keep tasks every algo has
    best = by_algo if by_algo.size >= by_task.size else by_task
    dropped = sorted(set(table.columns) - set(best.columns)) + sorted(
        set(table.index) - set(best.index)
    )
    return best, ("dropped for complete blocks: " + ", ".join(map(str, dropped))) if dropped else ""


def critical_difference(per_task: pd.DataFrame) -> dict[str, object]:
    """Friedman test, Nemenyi and Wilcoxon-Holm post-hocs over a tasks x algos table of means.

    Ranks are within tasks (1 = best), so scores need no normalisation across tasks.
    """
    table, note = complete_blocks(per_task)
    out: dict[str, object] = {"note": note, "tasks": len(table.index), "algos": len(table.columns)}
    if table.shape[1] < 3 or table.shape[0] < 2:
        out["skipped"] = (
            f"Friedman needs >= 3 algorithms and >= 2 tasks with complete results; "
            f"have {table.shape[1]} algorithms x {table.shape[0]} tasks"
        )
        return out
    out["avg_rank"] = table.rank(axis=1, ascending=False).mean().sort_values()
    stat, p = stats.friedmanchisquare(*[table[c].to_numpy() for c in table.columns])
    out.update(friedman_stat=float(stat), friedman_p=float(p))
    out["nemenyi"] = sp.posthoc_nemenyi_friedman(table.to_numpy())
    out["nemenyi"].index = out["nemenyi"].columns = table.columns
    long = table.reset_index().melt(id_vars=table.index.name or "index", var_name="algo")
    out["wilcoxon_holm"] = sp.posthoc_wilcoxon(
        long, val_col="value", group_col="algo", p_adjust="holm", zero_method="zsplit"
    )
    return out

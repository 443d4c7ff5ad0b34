"""Weighted multi-criteria ranking (in the spirit of BenchRL-QAS; the formula is ours).

Per run r of algorithm a on task e (criteria x in [0, 1], higher is better):
  score              clip(s_r, 0, 1), s_r = normalised final score
  sample_efficiency  (1/F) * integral_0^F clip(s_r(f), 0, 1) df over the task's frames grid
  wall_clock         threshold: 1 - t_r / T_e, t_r = wall seconds to reach the reference
                     score, censored at T_e = longest run of the task (never reached -> 0);
                     fixed: clip(s_r(W_e), 0, 1) at a fixed wall-clock W_e
Per (a, e), after the mean over seeds of the per-run criteria (min-max over algorithms):
  compute            (max_a' c - c_a) / (max c - min c), c = mean log10 CPU seconds
  policy_size        the same with log10 policy_parameters
  stability          the same with sd over seeds of s_r (undefined with one seed: left out)
  (all-equal -> 1)
Weighted score  S(a, e) = sum_c w_c x_c(a, e) / sum_{c defined} w_c
Aggregate score A(a) = sum_f v_f mean_{e in f} S(a, e) / sum_f v_f over suites f (env_family),
so a 13-game suite weighs as much as a 5-task suite unless v says otherwise. Ranks: 1 = best
(ties share the mean rank). Stability of the ranking: resample seeds with replacement within
every (a, e), recompute everything, report P(rank 1) and the mean aggregate rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis import curves as cv

CRITERIA = ("score", "sample_efficiency", "wall_clock", "compute", "stability", "policy_size")
LOWER_IS_BETTER = {"compute": "log_cpu", "policy_size": "log_params", "stability": "sd_score"}


def _minmax_lower_better(values: pd.Series) -> pd.Series:
    lo, hi = values.min(), values.max()
    if not np.isfinite(hi - lo) or hi == lo:
        return values.where(values.isna(), 1.0)
    return (hi - values) / (hi - lo)


def sample_efficiency(evals: pd.DataFrame, points: int) -> pd.Series:
    """Per run: the normalised area under its clipped score curve over frames (module docstring);
    on a uniform grid the area is the mean."""
    grid = cv.curves_on_grid(evals, "frames", "score_norm", points)
    grid["y"] = grid["y"].clip(0, 1)
    return grid.groupby("run_id")["y"].mean()


def wall_clock(
    scores: pd.DataFrame, ttt: pd.DataFrame, evals_norm: pd.DataFrame, cfg: dict[str, Any]
) -> tuple[pd.Series, dict[str, str]]:
    """Per-run wall-clock criterion (module docstring) and, per task, which mode was used."""
    out = pd.Series(np.nan, index=scores.index)
    modes: dict[str, str] = {}
    ttt = ttt.set_index("run_id")
    for task, idx in scores.groupby("task").groups.items():
        run_ids = scores.loc[idx, "run_id"]
        t = ttt.reindex(run_ids)
        mode = cfg["wall_clock_mode"]
        if mode == "auto":
            mode = "threshold" if t["reached"].fillna(False).astype(bool).any() else "fixed"
        if mode == "threshold":
            horizon = float(t["wall_seconds_censored"].max())
            secs = t["wall_seconds"].fillna(horizon).to_numpy()
            out.loc[idx] = 1.0 - secs / max(horizon, 1e-12)
            modes[task] = f"threshold (censored at {horizon:.3g} s)"
        else:
            fixed = cfg.get("fixed_wall_seconds") or float(t["wall_seconds_censored"].min())
            ev = evals_norm[evals_norm["run_id"].isin(run_ids)]
            vals = cv.values_at(ev, "wall_seconds", [fixed], "score_norm").set_index("run_id")
            out.loc[idx] = vals.reindex(run_ids)["value"].clip(0, 1).to_numpy()
            modes[task] = f"fixed (score at {fixed:.3g} s)"
    return out, modes


def criteria_table(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per-run criteria (task, env_family, algo, seed, score_norm, sample_efficiency, wall_clock,
    cpu_seconds, policy_parameters) -> per (task, algo) criteria in [0, 1]."""
    runs = per_run.assign(
        score=per_run["score_norm"].clip(0, 1),
        log_cpu=np.log10(per_run["cpu_seconds"].astype(float).clip(lower=1e-6)),
        log_params=np.log10(per_run["policy_parameters"].astype(float).clip(lower=1)),
    )
    table = (
        runs.groupby(["task", "env_family", "algo"])
        .agg(
            score=("score", "mean"),
            sample_efficiency=("sample_efficiency", "mean"),
            wall_clock=("wall_clock", "mean"),
            log_cpu=("log_cpu", "mean"),
            log_params=("log_params", "mean"),
            sd_score=("score_norm", "std"),
            seeds=("seed", "size"),
        )
        .reset_index()
    )
    for crit, raw in LOWER_IS_BETTER.items():
        table[crit] = table.groupby("task")[raw].transform(_minmax_lower_better)
    return table


def weighted_scores(
    table: pd.DataFrame,
    weights: Mapping[str, float],
    suite_weights: Mapping[str, float] | None = None,
    missing: str = "zero",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Criteria table -> (per-task weighted score and rank, aggregate score and rank)."""
    crits = [c for c in CRITERIA if weights.get(c, 0) > 0 and c in table]
    w = np.array([float(weights[c]) for c in crits])
    x = table[crits].to_numpy(float)
    defined = np.isfinite(x)
    # Renormalise over defined criteria so a missing one (e.g. stability with one seed) is neutral.
    score = np.nansum(x * w, axis=1) / np.maximum((defined * w).sum(axis=1), 1e-12)
    per_task = table[["task", "env_family", "algo"]].assign(weighted_score=score)
    if missing == "zero":
        full = pd.MultiIndex.from_product(
            [per_task["task"].unique(), per_task["algo"].unique()], names=["task", "algo"]
        )
        fam = per_task.drop_duplicates("task").set_index("task")["env_family"]
        per_task = (
            per_task.set_index(["task", "algo"])["weighted_score"].reindex(full).reset_index()
        )
        per_task["completed"] = per_task["weighted_score"].notna()  # False: scored 0 by rule
        per_task["weighted_score"] = per_task["weighted_score"].fillna(0.0)
        per_task["env_family"] = per_task["task"].map(fam)
    per_task["rank"] = per_task.groupby("task")["weighted_score"].rank(ascending=False)
    suite_weights = dict(suite_weights or {})
    fam_means = per_task.groupby(["algo", "env_family"])["weighted_score"].mean().reset_index()
    fam_means["v"] = fam_means["env_family"].map(lambda f: float(suite_weights.get(f, 1.0)))
    agg = (
        fam_means.groupby("algo")
        .apply(
            lambda g: float((g["weighted_score"] * g["v"]).sum() / max(g["v"].sum(), 1e-12)),
            include_groups=False,
        )
        .rename("aggregate_score")
        .reset_index()
    )
    agg["aggregate_rank"] = agg["aggregate_score"].rank(ascending=False)
    agg["mean_task_rank"] = agg["algo"].map(per_task.groupby("algo")["rank"].mean())
    return per_task, agg.sort_values("aggregate_rank", ignore_index=True)


def rank(per_run: pd.DataFrame, cfg: Mapping) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-run criteria -> (criteria table, per-task scores, aggregate) under config ``cfg``."""
    table = criteria_table(per_run)
    per_task, agg = weighted_scores(
        table, cfg["weights"], cfg.get("suite_weights"), cfg.get("missing", "zero")
    )
    return table, per_task, agg


def bootstrap_ranking(
    per_run: pd.DataFrame, cfg: Mapping, reps: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Resample seeds within each (task, algo); P(aggregate rank 1) and mean rank per algo."""
    rng = np.random.default_rng(seed)
    groups = [g.index.to_numpy() for _, g in per_run.groupby(["task", "algo"])]
    algos = sorted(per_run["algo"].unique())
    firsts = dict.fromkeys(algos, 0)
    ranks: dict[str, list[float]] = {a: [] for a in algos}
    for _ in range(reps):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        sample = per_run.loc[idx].assign(seed=np.arange(len(idx)))
        _, _, agg = rank(sample, cfg)
        for a, r in zip(agg["algo"], agg["aggregate_rank"], strict=True):
            ranks[a].append(r)
            firsts[a] += r == agg["aggregate_rank"].min()
    return pd.DataFrame(
        {
            "algo": algos,
            "p_rank_first": [firsts[a] / reps for a in algos],
            "mean_rank": [np.mean(ranks[a]) for a in algos],
            "rank_sd": [np.std(ranks[a]) for a in algos],
        }
    ).sort_values("mean_rank", ignore_index=True)

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
Comparability (analysis/comparable.py): algorithms are ranked only within a scope, a set of
tasks every algorithm of the scope can act on ("overall", then one scope per class of tasks
with the same capable algorithms, e.g. discrete vs continuous actions). A pair skipped as
incompatible is not ranked at all; a comparable pair without a completed run (failed,
interrupted, missing) scores S = 0 (ranking.missing: zero) or is left out (skip).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis import curves as cv
from analysis.comparable import OVERALL, Scope

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


def task_scores(
    table: pd.DataFrame,
    weights: Mapping[str, float],
    missing: str = "zero",
    pairs: pd.MultiIndex | None = None,
) -> pd.DataFrame:
    """Criteria table -> per (task, algo) weighted score S and its rank within the task.

    ``pairs`` (a MultiIndex of (task, algo)) are the comparable pairs; with ``missing='zero'``
    those without a completed run score 0 (``completed=False``). Default: every pair.
    """
    crits = [c for c in CRITERIA if weights.get(c, 0) > 0 and c in table]
    w = np.array([float(weights[c]) for c in crits])
    x = table[crits].to_numpy(float)
    defined = np.isfinite(x)
    # Renormalise over defined criteria so a missing one (e.g. stability with one seed) is neutral.
    score = np.nansum(x * w, axis=1) / np.maximum((defined * w).sum(axis=1), 1e-12)
    per_task = table[["task", "env_family", "algo"]].assign(weighted_score=score, completed=True)
    if pairs is None:
        pairs = pd.MultiIndex.from_product(
            [per_task["task"].unique(), per_task["algo"].unique()], names=["task", "algo"]
        )
    keep = per_task.set_index(["task", "algo"]).index.isin(pairs)
    per_task = per_task[keep]
    if missing == "zero":
        fam = table.drop_duplicates("task").set_index("task")["env_family"]
        per_task = per_task.set_index(["task", "algo"]).reindex(pairs).reset_index()
        per_task["completed"] = per_task["completed"].notna()  # False: scored 0 by rule
        per_task["weighted_score"] = per_task["weighted_score"].fillna(0.0)
        per_task["env_family"] = per_task["task"].map(fam)
    per_task["rank"] = per_task.groupby("task")["weighted_score"].rank(ascending=False)
    return per_task.reset_index(drop=True)


def _family_mean(scores: pd.DataFrame, suite_weights: Mapping[str, float]) -> pd.Series:
    """A(a) = sum_f v_f mean_{e in f} S(a, e) / sum_f v_f, per algorithm."""
    fam = scores.groupby(["algo", "env_family"])["weighted_score"].mean().reset_index()
    fam["v"] = fam["env_family"].map(lambda f: float(suite_weights.get(f, 1.0)))
    fam["vs"] = fam["weighted_score"] * fam["v"]
    sums = fam.groupby("algo")[["vs", "v"]].sum()
    return sums["vs"] / sums["v"].clip(lower=1e-12)


def _in_scope(per_task: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    return per_task[per_task["task"].isin(scope.tasks) & per_task["algo"].isin(scope.algos)]


def _scopes_and_pairs(
    table: pd.DataFrame, scopes: Sequence[Scope] | None
) -> tuple[Sequence[Scope], pd.MultiIndex]:
    """Default: every algorithm on every task (one ``overall`` scope); the pairs scopes cover."""
    if scopes is None:
        scopes = [Scope(OVERALL, tuple(table["task"].unique()), tuple(table["algo"].unique()))]
    pairs = pd.MultiIndex.from_tuples(
        sorted({(t, a) for s in scopes for t in s.tasks for a in s.algos}), names=["task", "algo"]
    )
    return scopes, pairs


def scope_ranking(
    per_task: pd.DataFrame, scope: Scope, suite_weights: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Aggregate score and rank of the scope's algorithms over the scope's tasks only."""
    sub = _in_scope(per_task, scope)
    agg = _family_mean(sub, dict(suite_weights or {})).rename("aggregate_score").reset_index()
    agg["aggregate_rank"] = agg["aggregate_score"].rank(ascending=False)
    within = sub.assign(r=sub.groupby("task")["weighted_score"].rank(ascending=False))
    zero = sub[~sub["completed"].astype(bool)].groupby("algo")["task"].agg(", ".join)
    return agg.assign(
        scope=scope.name,
        ranked=len(agg),
        mean_task_rank=agg["algo"].map(within.groupby("algo")["r"].mean()),
        tasks=", ".join(scope.tasks),
        scored_zero_on=agg["algo"].map(zero).fillna(""),
    )[["scope", "algo", "aggregate_score", "aggregate_rank", "ranked", "mean_task_rank",
       "tasks", "scored_zero_on"]]  # fmt: skip


def weighted_scores(
    table: pd.DataFrame,
    weights: Mapping[str, float],
    suite_weights: Mapping[str, float] | None = None,
    missing: str = "zero",
    scopes: Sequence[Scope] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Criteria table -> (per-task weighted score and rank, aggregate score and rank per scope).

    Without ``scopes`` every algorithm is compared on every task (one ``overall`` scope).
    """
    scopes, pairs = _scopes_and_pairs(table, scopes)
    per_task = task_scores(table, weights, missing, pairs)
    agg = pd.concat([scope_ranking(per_task, s, suite_weights) for s in scopes], ignore_index=True)
    order = agg["scope"].map({s.name: i for i, s in enumerate(scopes)})
    agg = agg.assign(order=order).sort_values(["order", "aggregate_rank"], kind="stable")
    return per_task, agg.drop(columns="order").reset_index(drop=True)


def rank(
    per_run: pd.DataFrame, cfg: Mapping, scopes: Sequence[Scope] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-run criteria -> (criteria table, per-task scores, aggregate per scope) under ``cfg``."""
    table = criteria_table(per_run)
    per_task, agg = weighted_scores(
        table, cfg["weights"], cfg.get("suite_weights"), cfg.get("missing", "zero"), scopes
    )
    return table, per_task, agg


def bootstrap_ranking(
    per_run: pd.DataFrame,
    cfg: Mapping,
    reps: int = 200,
    seed: int = 0,
    scopes: Sequence[Scope] | None = None,
) -> pd.DataFrame:
    """Resample seeds within each (task, algo); per scope, P(rank 1) and mean rank per algo."""
    rng = np.random.default_rng(seed)
    groups = [g.index.to_numpy() for _, g in per_run.groupby(["task", "algo"])]
    scopes, pairs = _scopes_and_pairs(per_run, scopes)
    suite_weights, draws = dict(cfg.get("suite_weights") or {}), []
    for _ in range(reps):
        idx = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        sample = per_run.loc[idx].assign(seed=np.arange(len(idx)))
        per_task = task_scores(
            criteria_table(sample), cfg["weights"], cfg.get("missing", "zero"), pairs
        )
        for scope in scopes:  # only the aggregate ranks: scope_ranking's detail is not needed
            ranks = _family_mean(_in_scope(per_task, scope), suite_weights).rank(ascending=False)
            draws.append(
                pd.DataFrame(
                    {"scope": scope.name, "algo": ranks.index, "aggregate_rank": ranks.to_numpy()}
                ).assign(first=ranks.to_numpy() == ranks.min())
            )
    out = (
        pd.concat(draws)
        .groupby(["scope", "algo"], sort=False)
        .agg(
            p_rank_first=("first", "mean"),
            mean_rank=("aggregate_rank", "mean"),
            rank_sd=("aggregate_rank", lambda r: float(np.std(r))),
        )
        .reset_index()
    )
    return out.sort_values(["scope", "mean_rank"], kind="stable", ignore_index=True)

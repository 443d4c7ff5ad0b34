"""From loaded results to every table and curve the report shows (pure computation, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis import aggregate as agg
from analysis import comparable as cmp
from analysis import curves as cv
from analysis import ranking as rk
from analysis.leaders import leaders
from analysis.load import Results
from analysis.normalize import add_normalised
from analysis.papers import paper_tables
from analysis.references import published_results, reference_table
from analysis.validate import check_protocols, validate


@dataclass
class Analysis:
    runs: pd.DataFrame
    problems: pd.DataFrame
    scores: pd.DataFrame  # one row per usable run, with score_norm and criteria inputs
    references: pd.DataFrame  # the references used, with sources
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    cd: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _budgets(evals: pd.DataFrame, axis: str, given: list[float] | None) -> list[float]:
    if given:
        return [float(b) for b in given]
    stop = float(evals[axis].max()) if len(evals) else 0.0
    return [round(stop * f, 3) for f in (0.25, 0.5, 1.0)]


def analyse(results: Results, cfg: dict[str, Any]) -> Analysis:
    """Validate, normalise, build curves, aggregates, critical differences and the ranking."""
    check_protocols(results.runs, cfg["mix_protocols"])
    problems = validate(results, cfg["mix_protocols"])
    usable = results.runs[results.runs["usable"]]
    scores = add_normalised(usable, {"final_eval_return": "score_norm"})
    refs = reference_table()
    out = Analysis(
        runs=results.runs,
        problems=problems,
        scores=scores,
        references=refs[refs["game"].isin(set(scores["game"]))],
    )
    if scores.empty:
        out.notes.append("no usable runs: nothing to analyse")
        return out
    evals = add_normalised(
        results.evals[results.evals["run_id"].isin(usable["run_id"])],
        {"eval_return_mean": "score_norm"},
    )
    _curves_and_tables(out, scores, evals, cfg)
    ttt = cv.time_to_threshold(evals, refs.set_index("game")["high"])
    out.tables["threshold"] = cv.threshold_table(ttt)
    _aggregates(out, scores.dropna(subset=["score_norm"]), cfg)
    _ranking(out, scores, evals, ttt, cfg)
    pub = published_results()
    out.tables["published"] = pub[pub["game"].isin(set(scores["game"]))].reset_index(drop=True)
    tables = paper_tables(results.runs, results.paper_scores, pub, results.evals)
    for rule, table in tables.items():
        out.tables[f"paper_{rule}"] = table
    return out


def _curves_and_tables(
    out: Analysis, scores: pd.DataFrame, evals: pd.DataFrame, cfg: dict[str, Any]
) -> None:
    """Curves over frames and wall-clock, final scores, fixed-budget tables."""
    pts = cfg["curves"]["points"]
    for axis in ("frames", "wall_seconds"):
        out.curves[axis] = cv.curves_on_grid(evals, axis, "eval_return_mean", pts)
        out.curves[f"{axis}_norm"] = cv.curves_on_grid(
            evals, axis, "score_norm", cfg["curves"]["aggregate_points"], True
        )
    out.tables["final_scores"] = (
        scores.groupby(["task", "algo"])
        .agg(
            algo_kind=("algo_kind", "first"),
            seeds=("seed", "nunique"),
            return_mean=("final_eval_return", "mean"),
            return_std=("final_eval_return", "std"),
            score_norm_mean=("score_norm", "mean"),
            frames=("frames", "mean"),
            wall_seconds=("wall_seconds", "mean"),
            cpu_seconds=("cpu_seconds", "mean"),
            policy_parameters=("policy_parameters", "first"),
        )
        .reset_index()
    )
    for axis in ("frames", "wall_seconds"):
        # Default budgets are per task (25/50/100 % of its longest run): budgets differ by suite.
        out.tables[f"fixed_{axis}"] = pd.concat(
            [
                cv.fixed_budget_table(ev, axis, _budgets(ev, axis, cfg["fixed_budget"][axis]))
                for _, ev in evals.groupby("task")
            ],
            ignore_index=True,
        )


def _aggregates(out: Analysis, scored: pd.DataFrame, cfg: dict[str, Any]) -> None:
    """rliable aggregates, profiles and IQM curves over normalised scores; critical difference."""
    seed, a = int(cfg["seed"]), cfg["aggregate"]
    mats, covered = agg.score_matrices(scored)
    if mats:
        out.tables["aggregates"] = agg.interval_estimates(mats, a["reps"], seed, a["confidence"])
        top = max(1.0, float(np.nanmax([m.max() for m in mats.values()])))
        out.curves["profiles"] = agg.performance_profiles(
            mats, np.linspace(0, top, a["taus"]), min(a["reps"], 1000), seed
        )
        out.tables["probability_of_improvement"] = agg.probability_of_improvement(
            scored, reps=a["poi_reps"], seed=seed
        )
        if len({tuple(v) for v in covered.values()}) > 1:
            out.notes.append(
                "algorithms cover different task sets: "
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in covered.items())
                + ". Aggregates over different tasks are not directly comparable; "
                "probability of improvement uses each pair's common tasks."
            )
    for axis in ("frames", "wall_seconds"):
        norm = out.curves[f"{axis}_norm"].dropna(subset=["y"])
        out.curves[f"iqm_{axis}"] = agg.iqm_over_grid(norm, a["curve_reps"], seed)
    per_task = scored.pivot_table(index="task", columns="algo", values="score_norm", aggfunc="mean")
    out.cd = agg.critical_difference(per_task)


def _ranking(
    out: Analysis,
    scores: pd.DataFrame,
    evals: pd.DataFrame,
    ttt: pd.DataFrame,
    cfg: dict[str, Any],
) -> None:
    """Per-run criteria inputs (ranking.py computes them), comparable scopes, then the ranking,
    its stability and who leads under each budget, per scope."""
    rcfg, seed = cfg["ranking"], int(cfg["seed"])
    scores = scores.assign(
        sample_efficiency=scores["run_id"].map(rk.sample_efficiency(evals, cfg["curves"]["points"]))
    )
    wall, modes = rk.wall_clock(scores, ttt, evals, rcfg)
    out.scores = scores.assign(wall_clock=wall)
    per_run = out.scores.dropna(subset=["score_norm"]).reset_index(drop=True)
    if per_run.empty:
        return
    scopes = cmp.scopes(out.runs, sorted(per_run["task"].unique()))
    out.tables["ranking_scopes"] = cmp.scope_table(scopes)
    if not scopes:
        out.notes.append("no two algorithms can act on the same task: nothing is ranked")
        return
    crit, per_task_rank, aggregate = rk.rank(per_run, rcfg, scopes)
    crit["wall_clock_mode"] = crit["task"].map(modes)
    out.tables["ranking_criteria"] = crit
    out.tables["ranking_per_task"] = per_task_rank
    boot = rk.bootstrap_ranking(per_run, rcfg, rcfg["bootstrap_reps"], seed, scopes)
    out.tables["ranking"] = aggregate.merge(boot, on=["scope", "algo"], how="left")
    out.tables["leaders"] = leaders(scopes, per_run, evals, out.runs, cfg)

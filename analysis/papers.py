"""Ours beside theirs: one table per paper, our figure computed by the paper's own rule.

A run records its paper's rule (``meta.paper_score``: ``wong2024`` or ``such2017``) and its
tests (``paper_scores.csv``); see bench/paper_scores.py for the rules. Per (task, algorithm):
the paper's figure (``data/published_results.csv``, with its certainty label), ours by the same
rule (mean and 95% CI over seeds; for thresholds the paper's min over runs and how many runs
reached it), and the budget and ``scale`` we ran at, so a scaled run is never read as one at the
paper's budget. Algorithms a paper scored by their own protocol (the gradient baselines) show
the harness's final evaluation, labelled so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

#: the published table that matches each rule's figure, and the threshold metric if any.
PUBLISHED = {
    "wong2024": {"source": "Wong et al. 2024", "score": "max_reward",
                 "steps": "timesteps_to_threshold"},
    "such2017": {"source": "Such et al. 2017", "score": "score", "steps": None},
}  # fmt: skip


def load_paper_scores(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run's ``paper_scores.csv`` rows (frames, score), with its ``run_id``."""
    parts = []
    for run_id, path in runs[["run_id", "path"]].itertuples(index=False):
        file = Path(str(path)) / "paper_scores.csv"
        if file.exists():
            parts.append(pd.read_csv(file).assign(run_id=run_id))
    if not parts:
        return pd.DataFrame(columns=["run_id", "frames", "score"])
    return pd.concat(parts, ignore_index=True)


def mean_ci(values: pd.Series, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and a Student-t interval over seeds (NaN bounds with one seed)."""
    x = values.dropna().to_numpy(float)
    if len(x) < 2:
        return (float(x.mean()) if len(x) else np.nan), np.nan, np.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean()), float(x.mean() - half), float(x.mean() + half)


def _steps_to_threshold(tests: pd.DataFrame, threshold: float, frame_skip: int) -> float:
    """Agent steps of a run's first paper test at or above ``threshold`` (NaN: never)."""
    hit = tests[tests["score"] >= threshold]
    return float(hit["frames"].min()) / frame_skip if len(hit) else np.nan


def paper_table(
    rule: str,
    runs: pd.DataFrame,
    tests: pd.DataFrame,
    published: pd.DataFrame,
    evals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (task, algo) of the runs that recorded ``rule`` (see module docstring)."""
    spec = PUBLISHED[rule]
    evals = _as_tests(evals)
    # The experiments that recorded the rule, baselines (scored by their own protocol) included.
    experiments = set(runs.loc[runs["paper_rule"] == rule, "experiment"])
    mine = runs[runs["usable"] & runs["experiment"].isin(experiments)]
    pub = published[published["source"].str.startswith(spec["source"])]
    thresholds = pub[pub["metric"] == "threshold"].set_index("game")["value"]
    rows = []
    for (task, algo), group in mine.groupby(["task", "algo"]):
        game, own_rule = group["game"].iloc[0], (group["paper_rule"] == rule).all()
        scores = group["paper_score"] if own_rule else group["final_eval_return"]
        mean, low, high = mean_ci(scores)
        row = {
            "task": task, "algo": algo, "seeds": len(group),
            "ours": mean, "ours_ci_low": low, "ours_ci_high": high,
            "our_rule": rule if own_rule else "harness protocol (final evaluation)",
            "budget_frames": float(group["budget_frames"].max()),
            "scale": float(group["scale"].fillna(1.0).max()),
        }  # fmt: skip
        paper = pub[
            (pub["game"] == game) & (pub["algo"] == algo) & (pub["metric"] == spec["score"])
        ]
        row.update(paper=paper["value"].iloc[0] if len(paper) else np.nan,
                   paper_certainty=paper["certainty"].iloc[0] if len(paper) else "")  # fmt: skip
        if spec["steps"] and game in thresholds.index:
            # Baselines: the harness protocol's evaluations (their papers' own protocol).
            source = tests if own_rule else evals
            row.update(_threshold_columns(group, source, float(thresholds[game]), pub, game, algo))
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["at_paper_budget"] = table["scale"] == 1.0
    return table


def _threshold_columns(
    group: pd.DataFrame, tests: pd.DataFrame, threshold: float, pub: pd.DataFrame, game: str,
    algo: str,
) -> dict[str, object]:  # fmt: skip
    """Wong et al.'s timesteps to threshold: the min over runs of the first hit; reached k/n."""
    steps = [
        _steps_to_threshold(tests[tests["run_id"] == r], threshold, int(fs or 1))
        for r, fs in group[["run_id", "frame_skip"]].itertuples(index=False)
    ]
    theirs = pub[(pub["game"] == game) & (pub["algo"] == algo)
                 & (pub["metric"] == "timesteps_to_threshold")]  # fmt: skip
    reached = [s for s in steps if np.isfinite(s)]
    return {
        "threshold": threshold,
        "paper_steps_to_threshold": theirs["value"].iloc[0] if len(theirs) else np.nan,
        "ours_steps_to_threshold": min(reached) if reached else np.nan,
        "reached": f"{len(reached)}/{len(steps)}",
    }


def paper_tables(
    runs: pd.DataFrame,
    tests: pd.DataFrame,
    published: pd.DataFrame,
    evals: pd.DataFrame | None = None,
) -> dict:
    """``{rule: table}`` for every rule some run recorded."""
    recorded = set(runs["paper_rule"].dropna()) if "paper_rule" in runs else set()
    return {
        rule: paper_table(rule, runs, tests, published, evals)
        for rule in PUBLISHED
        if rule in recorded
    }


def _as_tests(evals: pd.DataFrame | None) -> pd.DataFrame:
    """The harness's evaluations in the form of paper tests (run_id, frames, score)."""
    if evals is None or evals.empty:
        return pd.DataFrame(columns=["run_id", "frames", "score"])
    return evals[["run_id", "frames", "eval_return_mean"]].rename(
        columns={"eval_return_mean": "score"}
    )

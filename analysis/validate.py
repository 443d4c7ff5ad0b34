"""Validation of loaded results: every issue becomes a row of one table, never a silent drop.

Severities: ``error`` (the run or comparison cannot be used as is), ``warning`` (used, but
read the numbers with care), ``info`` (expected, e.g. an algorithm skipped on an env it
cannot act in). Mixing evaluation protocols raises :class:`MixedProtocolError` unless asked.
"""

from __future__ import annotations

import pandas as pd

from analysis.load import PROBLEM_COLUMNS, Results
from analysis.references import reference_table


class MixedProtocolError(ValueError):
    """Runs under different evaluation protocols would be pooled."""


def _row(severity: str, run_id: str, check: str, detail: str) -> dict[str, str]:
    return {"severity": severity, "run_id": run_id, "check": check, "detail": detail}


def status_problems(runs: pd.DataFrame) -> list[dict[str, str]]:
    """Failed, interrupted and skipped runs, each with the recorded reason."""
    rows = []
    for r in runs.itertuples():
        if r.status == "failed":
            rows.append(_row("error", r.run_id, "status: failed", str(getattr(r, "error", ""))))
        elif r.status == "interrupted":
            detail = (
                f"{getattr(r, 'error', '') or 'no error recorded'}; last evaluation at "
                f"{getattr(r, 'last_eval_frames', float('nan'))} frames"
            )
            rows.append(_row("warning", r.run_id, "status: interrupted", detail))
        elif r.status == "skipped":
            check = (
                "status: skipped (cannot act)"
                if getattr(r, "incompatible", False)
                else "status: skipped"
            )
            rows.append(_row("info", r.run_id, check, str(getattr(r, "reason", ""))))
        elif r.status not in ("completed", "malformed"):
            rows.append(_row("error", r.run_id, "status", f"unknown status {r.status!r}"))
    return rows


def _mixed(
    usable: pd.DataFrame, by: list[str], column: str, check: str, severity: str
) -> list[dict[str, str]]:
    rows = []
    if column not in usable:
        return rows
    for key, grp in usable.groupby(by, dropna=False):
        values = grp[column].astype(str).unique()
        if len(values) > 1:
            counts = grp[column].astype(str).value_counts().to_dict()
            rows.append(
                _row(
                    severity,
                    "/".join(map(str, key if isinstance(key, tuple) else [key])),
                    check,
                    f"{len(values)} values: {counts}",
                )
            )
    return rows


def comparison_problems(runs: pd.DataFrame, mix_protocols: bool = False) -> list[dict[str, str]]:
    """Unequal seeds, mixed budgets / protocols / versions, and games without references."""
    usable = runs[runs["usable"]]
    rows: list[dict[str, str]] = []
    if usable.empty:
        return [_row("error", "*", "no usable runs", "no completed run with readable files")]
    dup = usable[usable.duplicated(["task", "algo", "seed"], keep=False)]
    for (task, algo, seed), grp in dup.groupby(["task", "algo", "seed"]):
        rows.append(
            _row(
                "warning",
                f"{task}/{algo}/seed={seed}",
                "duplicate runs",
                f"{len(grp)} runs (from {sorted(grp['run_id'])}); all are used",
            )
        )
    seeds = usable.groupby(["task", "algo"]).size()
    if seeds.nunique() > 1:
        detail = ", ".join(f"{t}/{a}: {n}" for (t, a), n in seeds.items())
        rows.append(
            _row(
                "warning",
                "*",
                "unequal seed counts",
                f"{detail}; aggregates use the smallest common count per algorithm",
            )
        )
    budget_cols = ["budget", "budget_frames", "budget_wall_seconds", "budget_cpu_seconds"]
    usable = usable.assign(
        budget_id=usable[[c for c in budget_cols if c in usable]].astype(str).agg("|".join, axis=1)
    )
    rows += _mixed(usable, ["task"], "budget_id", "mixed budgets within a task", "warning")
    if "scale" in usable:  # a scaled run is another experiment, not a noisier one
        rows += _mixed(usable.assign(scale=usable["scale"].fillna(1.0).astype(str)), ["task"],
                       "scale", "mixed budget scales within a task", "error")  # fmt: skip
    for task, grp in usable.groupby("task"):
        used = grp.groupby("algo")["frames"].max()
        if used.max() > 1.1 * used.min():  # e.g. a generation overshooting the budget
            rows.append(
                _row(
                    "warning",
                    task,
                    "unequal frames used",
                    f"final frames per algorithm {used.to_dict()}; compare at fixed "
                    "frames or seconds (fixed-budget tables)",
                )
            )
    protocols = usable["eval_protocol"].astype(str).unique()
    if len(protocols) > 1:
        rows.append(
            _row(
                "warning" if mix_protocols else "error",
                "*",
                "mixed evaluation protocols",
                f"{sorted(protocols)}"
                + ("; mixing as asked" if mix_protocols else "; refused (use --mix-protocols)"),
            )
        )
    rows += _mixed(usable.assign(all="*"), ["all"], "versions", "mixed package versions", "warning")
    rows += _mixed(usable.assign(all="*"), ["all"], "git_commit", "mixed git commits", "info")
    known = set(reference_table()["game"])
    for game in sorted(set(usable["game"])):
        if game not in known:
            rows.append(
                _row(
                    "warning",
                    game,
                    "no reference score",
                    "no normalised score for this game: left out of aggregates",
                )
            )
    return rows


def validate(results: Results, mix_protocols: bool = False) -> pd.DataFrame:
    """All problems (load + status + comparison) as one table, most severe first."""
    rows = status_problems(results.runs) + comparison_problems(results.runs, mix_protocols)
    table = pd.concat(
        [results.problems, pd.DataFrame(rows, columns=PROBLEM_COLUMNS)], ignore_index=True
    )
    order = {"error": 0, "warning": 1, "info": 2}
    return table.sort_values(
        "severity", key=lambda s: s.map(order), kind="stable", ignore_index=True
    )


def check_protocols(runs: pd.DataFrame, mix_protocols: bool = False) -> None:
    """Refuse to pool numbers from different evaluation protocols unless asked."""
    protocols = sorted(runs.loc[runs["usable"], "eval_protocol"].astype(str).unique())
    if len(protocols) > 1 and not mix_protocols:
        raise MixedProtocolError(
            f"runs use {len(protocols)} evaluation protocols {protocols}; numbers under different "
            "protocols must not be pooled. Select one protocol's runs, or pass --mix-protocols "
            "(config: mix_protocols=true) to pool them anyway."
        )

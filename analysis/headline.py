"""The report's first section: who leads under which budget, per comparable scope."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import fmt
from analysis.comparable import incompatible
from analysis.document import Fold, Para, Section, Table
from analysis.leaders import AXES

AXIS_SHORT = {"frames": "frames", "wall_seconds": "wall-clock", "cpu_seconds": "CPU"}
LEADERS_NOTE = (
    "Interquartile mean (IQM) of normalised scores (0 = random policy, 1 = the reference "
    "threshold) with 95% stratified-bootstrap CIs, at three budgets per task: the frame budget "
    "(final score), and the wall-clock and CPU seconds of the task's shortest run (nothing is "
    "read past a run's end). Algorithms are compared only on tasks all of them can act on; a "
    "pair that could run but has no completed run counts as 0."
)


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """Per (scope, axis): the leader, its IQM [CI], and whether the runner-up's CI overlaps."""
    rows = []
    for (scope, axis), g in table.groupby(["scope", "axis"], sort=False):
        g = g.sort_values("estimate", ascending=False)
        top = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else None
        overlaps = second is not None and second["ci_high"] >= top["ci_low"]
        rows.append(
            {
                "scope": scope,
                "axis": axis,
                "budget": top["budget"],
                "leader": top["algo"],
                "iqm": fmt.interval(top["estimate"], top["ci_low"], top["ci_high"]),
                "runner_up": "" if second is None else second["algo"],
                "separated": not overlaps,
            }
        )
    return pd.DataFrame(rows)


def _bold_best(column: pd.Series, estimates: pd.Series) -> pd.Series:
    return column.where(estimates != estimates.max(), "**" + column + "**")


def _scope_table(lead: pd.DataFrame, ranking: pd.DataFrame, scope: str) -> pd.DataFrame:
    mine = lead[lead["scope"] == scope]
    rank = ranking[ranking["scope"] == scope].set_index("algo")
    out = pd.DataFrame({"algo": rank.index})
    out["weighted rank"] = [
        f"{r:g} of {int(n)}" for r, n in zip(rank["aggregate_rank"], rank["ranked"], strict=True)
    ]
    out["P(rank 1)"] = [fmt.cell(p, "p_rank_first") for p in rank["p_rank_first"]]
    for axis, label in AXES.items():
        at = mine[mine["axis"] == axis].set_index("algo").reindex(out["algo"])
        text = pd.Series(
            [
                fmt.interval(*v)
                for v in zip(at["estimate"], at["ci_low"], at["ci_high"], strict=True)
            ]
        )
        out[f"IQM at {label}"] = _bold_best(text, at["estimate"].reset_index(drop=True))
    out["scored 0 on"] = rank["scored_zero_on"].to_numpy()
    if not out["scored 0 on"].any():
        out = out.drop(columns="scored 0 on")
    return out


def _glance(lead: pd.DataFrame, ranking: pd.DataFrame, scopes: pd.DataFrame) -> Table:
    """One row per scope: who leads under each budget, and the weighted ranking's first."""
    head = headline(lead)
    rows = []
    for s in scopes.itertuples():
        row = {"scope": s.scope, "compared": f"{s.algorithms} on {s.tasks}"}
        for h in head[head["scope"] == s.scope].itertuples():
            tie = "" if h.separated else f" ≈ {h.runner_up}"
            row[AXES[h.axis]] = f"**{h.leader}** {h.iqm}{tie}"
        top = ranking[ranking["scope"] == s.scope].sort_values("aggregate_rank").iloc[0]
        p_first = fmt.cell(top.p_rank_first, "p_rank_first")
        row["weighted ranking"] = f"**{top.algo}** (P(rank 1) {p_first})"
        rows.append(row)
    note = (
        "Leader: the highest IQM [95% CI]; ≈ x: the runner-up x's CI overlaps the leader's "
        "(not separated). Each row compares only the algorithms and tasks it names."
    )
    return Table("leaders_glance", "Leaders at a glance", pd.DataFrame(rows).fillna(""), note)


def _incompatible_note(runs: pd.DataFrame) -> str:
    pairs = runs[incompatible(runs)].groupby("task")["algo"].unique()
    if pairs.empty:
        return ""
    text = "; ".join(f"{', '.join(sorted(a))} on {t}" for t, a in pairs.items())
    return f"Not ranked where they cannot act (skipped as incompatible, not failures): {text}."


def leaders_section(a: Any) -> Section:
    sec = Section("Who leads", [Para(LEADERS_NOTE)])
    lead, ranking = a.tables.get("leaders"), a.tables.get("ranking")
    scopes = a.tables.get("ranking_scopes")
    if lead is None or lead.empty or ranking is None:
        sec.blocks.append(Para("Nothing to rank: no two algorithms have scores on a common task."))
        return sec
    sec.blocks.append(_glance(lead, ranking, scopes))
    note = _incompatible_note(a.runs)
    if note:
        sec.blocks.append(Para(note))
    for i, s in enumerate(scopes.itertuples(), 1):
        budgets = lead[lead["scope"] == s.scope].drop_duplicates("axis")
        caption = f"{s.scope}, budgets: " + "; ".join(
            b.budget if b.axis == "frames" else f"{AXIS_SHORT[b.axis]} {b.budget}"
            for b in budgets.itertuples()
        )
        shown = _scope_table(lead, ranking, s.scope)
        data = lead[lead["scope"] == s.scope]
        sec.blocks.append(Table(f"leaders_{i}", caption, shown, data=data))
    sec.blocks.append(
        Fold(
            "Every IQM estimate (long format)",
            (Table("leaders", "IQM per scope, budget and algorithm", lead),),
        )
    )
    return sec

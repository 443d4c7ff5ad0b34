"""The report's section that sets our numbers beside published ones (never pooled)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.document import Section, Table

PUBLISHED_NOTE = (
    "Published results from the papers (source, budget, start condition and "
    "certainty label per row). They are shown for context only and are never "
    "part of our statistics; budgets and protocols differ from ours."
)
PAPER_TITLES = {"wong2024": "Wong et al. 2024", "such2017": "Such et al. 2017 (Table 1)"}


def ours_vs_published(a: Any) -> pd.DataFrame:
    """Our mean final returns (labelled OURS, with budget and scale) above the papers' rows."""
    ours = a.tables["final_scores"].merge(a.scores[["task", "game"]].drop_duplicates(), on="task")
    scales = a.scores.assign(scale=a.scores.get("scale", 1.0)).groupby(["task", "algo"])["scale"]
    ours = ours.merge(scales.max().fillna(1.0).reset_index(), on=["task", "algo"], how="left")
    protocol = ", ".join(sorted(a.scores["eval_protocol"].astype(str).unique()))
    ours = pd.DataFrame(
        {
            "origin": "OURS",
            "game": ours["game"],
            "task": ours["task"],
            "algo": ours["algo"],
            "metric": "final_eval_return (mean over seeds)",
            "value": ours["return_mean"],
            "budget": ours["frames"],
            # A scaled run is labelled so: never read as one at the paper's budget.
            "budget_unit": [
                "frames" if sc == 1 else f"frames (scale {sc:g})" for sc in ours["scale"]
            ],
            "start_condition": protocol,
            "certainty": "measured",
            "source": "this report",
        }
    )
    pub = a.tables["published"].assign(origin="PUBLISHED", task="")
    cols = list(ours.columns)
    return pd.concat([ours, pub[cols]], ignore_index=True).sort_values(
        ["game", "origin"], ignore_index=True
    )


def published_section(a: Any) -> Section:
    sec = Section("Beside published results")
    for name in sorted(k for k in a.tables if k.startswith("paper_")):
        caption = (
            f"Ours beside {PAPER_TITLES.get(name[6:], name[6:])}, by the paper's own rule "
            "(scale < 1: not at the paper's budget)"
        )
        sec.blocks.append(Table(name, caption, a.tables[name]))
    if "final_scores" in a.tables:
        caption = "Ours beside published results (never pooled)"
        sec.blocks.append(Table("published", caption, ours_vs_published(a), PUBLISHED_NOTE))
    return sec

"""The report's content, in reading order: who leads first, then figures, then the tables.

``sections(analysis, cfg, figure_names)`` -> the :class:`~analysis.document.Section` list both
report.md and index.html are rendered from (analysis/document.py).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import fmt
from analysis.comparable import status_labels
from analysis.document import Figure, Fold, Para, Pre, Section, Table
from analysis.headline import leaders_section
from analysis.published import published_section
from analysis.ranking import __doc__ as RANKING_DOC

KEY_FIGURES = ("iqm_vs_frames", "iqm_vs_wall_seconds", "performance_profiles", "returns_vs_frames")
EARLY_END = (
    "Curves use step interpolation (the last evaluation so far). Completed runs that "
    "ended before a grid point (wall-clock/CPU limit, or the algorithm stopped) keep "
    "their final evaluation from then on; the `carried` columns count such points. "
    "Failed, interrupted and malformed runs are excluded from curves and statistics "
    "and listed in the validation table."
)


def summary_line(a: Any) -> str:
    """``24 runs: 20 completed, 4 cannot act · 2 tasks · 4 algorithms · validation: ...``."""
    status = status_labels(a.runs)
    counts = ", ".join(f"{n} {s}" for s, n in status.value_counts().items())
    sev = a.problems["severity"].value_counts()
    checks = ", ".join(
        f"{sev.get(k, 0)} {label}"
        for k, label in (("error", "errors"), ("warning", "warnings"), ("info", "info rows"))
    )
    return (
        f"{len(a.runs)} runs ({counts}) · {a.runs['task'].nunique()} tasks · "
        f"{a.runs['algo'].nunique()} algorithms · validation: {checks} "
        "(see Runs and validation)"
    )


def figure_section(title: str, names: tuple[str, ...], figs: dict[str, str]) -> Section:
    return Section(title, [Figure(n, figs[n]) for n in names if n in figs])


def key_figures(a: Any, figs: dict[str, str]) -> Section:
    """The aggregate curves and profiles; a warning first when algorithms cover other tasks."""
    sec = figure_section("Key figures", KEY_FIGURES, figs)
    scored = a.scores.dropna(subset=["score_norm"])
    covered = scored.groupby("algo")["task"].agg(lambda t: ", ".join(sorted(set(t))))
    if sec.blocks and covered.nunique() > 1:
        text = "; ".join(f"{algo}: {tasks}" for algo, tasks in covered.items())
        sec.blocks.insert(0, Para(
            f"Aggregate curves and profiles pool each algorithm's own tasks ({text}): curves "
            "over different tasks are not comparable; Who leads compares like with like."
        ))  # fmt: skip
    return sec


def _interval_table(
    frame: pd.DataFrame, value: str, by: list[str], wide: str | None
) -> pd.DataFrame:
    text = frame.assign(
        v=[
            fmt.interval(*r)
            for r in zip(frame[value], frame["ci_low"], frame["ci_high"], strict=True)
        ]
    )
    if wide is None:
        return text.drop(columns=[value, "ci_low", "ci_high"]).rename(columns={"v": value})
    return text.pivot(index=by, columns=wide, values="v").reset_index().rename_axis(columns=None)


def ranking_section(a: Any, cfg: dict[str, Any], figs: dict[str, str]) -> Section:
    sec = Section("Weighted ranking")
    if "ranking" not in a.tables:
        return sec
    sec.blocks += [
        Para(
            "Each rank holds within its scope only: the tasks listed, on which every "
            "algorithm of the scope can act."
        ),
        Table(
            "ranking",
            "Weighted ranking per scope: aggregate score, rank, bootstrap stability",
            a.tables["ranking"],
        ),
        Table(
            "ranking_scopes",
            "Scopes: which algorithms are compared on which tasks",
            a.tables["ranking_scopes"],
        ),
        Table(
            "ranking_per_task",
            "Weighted score and rank per task (among the algorithms that can act on it)",
            a.tables["ranking_per_task"],
        ),
    ]
    sec.blocks += [Figure(n, figs[n]) for n in ("ranking_heatmap",) if n in figs]
    r = cfg["ranking"]
    weights = pd.DataFrame(
        [{"kind": "criterion", "name": k, "weight": v} for k, v in r["weights"].items()]
        + [{"kind": "suite", "name": k, "weight": v} for k, v in r["suite_weights"].items()]
    )
    sec.blocks.append(
        Fold(
            "Criteria, weights and formula",
            (
                Table(
                    "ranking_criteria",
                    "Ranking criteria per task (scaled to [0, 1], higher is better)",
                    a.tables["ranking_criteria"],
                ),
                Table("ranking_weights", "Ranking weights used", weights),
                Pre((RANKING_DOC or "").strip()),
            ),
        )
    )
    return sec


def scores_section(a: Any) -> Section:
    t, sec = a.tables, Section("Scores and budgets")
    if "final_scores" in t:
        sec.blocks.append(
            Table(
                "final_scores",
                "Final scores (completed runs, within the frame budget)",
                t["final_scores"],
            )
        )
    if "aggregates" in t:
        shown = _interval_table(t["aggregates"], "estimate", ["algo", "tasks", "runs"], "metric")
        sec.blocks.append(
            Table(
                "aggregates",
                "Aggregate normalised scores, estimate [95% CI] (rliable, stratified bootstrap)",
                shown,
                data=t["aggregates"],
            )
        )
    poi = t.get("probability_of_improvement")
    if poi is not None and len(poi):
        shown = _interval_table(poi, "p_x_better", [], None)
        sec.blocks.append(
            Table(
                "probability_of_improvement",
                "Probability of improvement P(x > y) [95% CI]",
                shown,
                data=poi,
            )
        )
    names = {
        "fixed_frames": "Return at fixed frames (step interpolation)",
        "fixed_wall_seconds": "Return at fixed wall-clock seconds (step interpolation)",
        "threshold": "Frames / seconds to reach the reference score",
    }
    sec.blocks += [Table(k, v, t[k]) for k, v in names.items() if k in t]
    return sec


def tests_section(a: Any, figs: dict[str, str]) -> Section:
    sec = Section("Statistical tests")
    if "avg_rank" in a.cd:
        ranks = (
            a.cd["avg_rank"].rename("avg_rank").reset_index().assign(friedman_p=a.cd["friedman_p"])
        )
        sec.blocks += [
            Table("cd_ranks", "Average rank over tasks (Friedman test)", ranks),
            Table("cd_nemenyi", "Nemenyi post-hoc p-values", a.cd["nemenyi"].reset_index()),
            Table(
                "cd_wilcoxon_holm", "Wilcoxon-Holm p-values", a.cd["wilcoxon_holm"].reset_index()
            ),
        ]
    sec.blocks += [Figure(n, figs[n]) for n in ("critical_difference",) if n in figs]
    return sec


def runs_section(a: Any) -> Section:
    runs = (
        a.runs.assign(status=status_labels(a.runs))
        .groupby(["task", "algo", "status"])
        .size()
        .unstack(fill_value=0)
    )
    order = ["completed", "failed", "interrupted", "malformed", "skipped", "cannot act"]
    runs = runs[sorted(runs.columns, key=lambda c: order.index(c) if c in order else 3)]
    runs = runs.assign(total=runs.sum(axis=1)).rename_axis(columns=None).reset_index()
    p = a.problems
    issues, info = p[p["severity"] != "info"], p[p["severity"] == "info"]
    sev = p["severity"].value_counts()
    sec = Section("Runs and validation", [Table("runs", "Runs by status", runs)])
    sec.blocks.append(Para(
        f"Validation: {sev.get('error', 0)} errors, {sev.get('warning', 0)} warnings, "
        f"{len(info)} informational rows (expected, e.g. pairs that cannot act)."
    ))  # fmt: skip
    if len(issues) or not len(info):
        caption = "Errors and warnings (tables/validation.csv has every row)"
        sec.blocks.append(Table("validation", caption, issues, data=p))
    if len(info):
        by_check = ", ".join(f"{c} ×{n}" for c, n in info["check"].value_counts().items())
        name, data = ("validation_info", None) if len(issues) else ("validation", p)
        table = Table(name, "Informational validation rows", info, data=data)
        sec.blocks.append(Fold(f"{len(info)} informational rows: {by_check}", (table,)))
    return sec


def notes_section(a: Any) -> Section:
    notes = [EARLY_END, *a.notes]
    if a.cd.get("note"):
        notes.append(f"Critical difference: {a.cd['note']}.")
    if "skipped" in a.cd:
        notes.append(f"Critical difference skipped: {a.cd['skipped']}.")
    return Section(
        "Notes and references",
        [
            *(Para(n) for n in notes),
            Table(
                "references",
                "Normalisation references (fixed data; 0 = low, 1 = high)",
                a.references,
            ),
        ],
    )


def sections(a: Any, cfg: dict[str, Any], figs: dict[str, str]) -> list[Section]:
    """Every section with content, in reading order; figures not placed elsewhere go last."""
    out = [
        leaders_section(a),
        key_figures(a, figs),
        ranking_section(a, cfg, figs),
        scores_section(a),
        tests_section(a, figs),
        published_section(a),
        runs_section(a),
        notes_section(a),
    ]
    placed = {b.name for s in out for b in s.blocks if isinstance(b, Figure)}
    out.insert(-2, figure_section("More figures", tuple(n for n in figs if n not in placed), figs))
    return [s for s in out if s.blocks]

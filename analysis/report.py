"""Write a report folder: index.html (self-contained), report.md, tables/*.csv|tex, figures/*."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from analysis import plots
from analysis.pipeline import Analysis
from analysis.ranking import __doc__ as RANKING_DOC
from analysis.tables import to_latex, to_markdown

EARLY_END = (
    "Curves use step interpolation (the last evaluation so far). Completed runs that "
    "ended before a grid point (wall-clock/CPU limit, or the algorithm stopped) keep "
    "their final evaluation from then on; the `carried` columns count such points. "
    "Failed, interrupted and malformed runs are excluded from curves and statistics "
    "and listed in the validation table."
)
PUBLISHED_NOTE = (
    "Published results from the papers (source, budget, start condition and "
    "certainty label per row). They are shown for context only and are never "
    "part of our statistics; budgets and protocols differ from ours."
)


def figures(a: Analysis, seed: int = 0) -> dict[str, tuple[str, Figure]]:
    """name -> (caption, Figure); only figures whose data exist."""
    colours = plots.palette(sorted(a.scores["algo"].unique()))
    kinds = plots._kinds(a.scores)
    out: dict[str, tuple[str, Figure]] = {}
    for axis in ("frames", "wall_seconds"):
        if axis in a.curves:
            out[f"returns_vs_{axis}"] = (
                f"Evaluation return vs {plots.AXIS_LABEL[axis]} per task "
                "(mean over seeds, 95% bootstrap CI)",
                plots.learning_curves(a.curves[axis], axis, colours, seed=seed),
            )
        iqm = a.curves.get(f"iqm_{axis}")
        if iqm is not None and len(iqm):
            out[f"iqm_vs_{axis}"] = (
                f"Aggregate IQM of normalised score vs "
                f"{plots.AXIS_LABEL[axis]} (stratified bootstrap 95% CI)",
                plots.iqm_curves(iqm, axis, colours, kinds),
            )
    if "profiles" in a.curves:
        out["performance_profiles"] = (
            "Performance profiles of normalised final scores",
            plots.performance_profiles(a.curves["profiles"], colours, kinds),
        )
    if "ranking_per_task" in a.tables:
        out["ranking_heatmap"] = (
            "Weighted ranking score and rank per task",
            plots.ranking_heatmap(a.tables["ranking_per_task"]),
        )
    usable = a.scores.dropna(subset=["score_norm"])
    if len(usable):
        out["pareto"] = (
            "Normalised final score vs time per run",
            plots.pareto(usable, colours, kinds),
        )
    if "avg_rank" in a.cd:
        out["critical_difference"] = (
            "Critical-difference diagram (Nemenyi post-hoc)",
            plots.critical_difference(
                a.cd["avg_rank"], a.cd["nemenyi"], "Average rank (1 = best)", colours
            ),
        )
    return out


def _ours_vs_published(a: Analysis) -> pd.DataFrame:
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


PAPER_TITLES = {"wong2024": "Wong et al. 2024", "such2017": "Such et al. 2017 (Table 1)"}


def report_tables(a: Analysis, cfg: dict[str, Any]) -> dict[str, tuple[str, pd.DataFrame]]:
    """name -> (title, table), in report order."""
    runs = a.runs.groupby(["task", "algo", "status"]).size().unstack(fill_value=0).reset_index()
    t: dict[str, tuple[str, pd.DataFrame]] = {
        "runs": ("Runs by status", runs),
        "validation": ("Validation (errors, warnings, info)", a.problems),
        "references": ("Normalisation references (fixed data; 0 = low, 1 = high)", a.references),
    }
    names = {
        "final_scores": "Final scores (completed runs)",
        "aggregates": "Aggregate normalised scores (rliable, stratified bootstrap CIs)",
        "probability_of_improvement": "Probability of improvement P(x > y)",
        "fixed_frames": "Return at fixed frames (step interpolation)",
        "fixed_wall_seconds": "Return at fixed wall-clock seconds (step interpolation)",
        "threshold": "Frames / seconds to reach the reference score",
        "ranking": "Weighted ranking: aggregate score, rank and bootstrap stability",
        "ranking_per_task": "Weighted ranking per task",
        "ranking_criteria": "Ranking criteria per task (scaled to [0, 1], higher is better)",
    }
    t.update({k: (v, a.tables[k]) for k, v in names.items() if k in a.tables})
    r = cfg["ranking"]
    t["ranking_weights"] = (
        "Ranking weights used",
        pd.DataFrame(
            [{"kind": "criterion", "name": k, "weight": v} for k, v in r["weights"].items()]
            + [{"kind": "suite", "name": k, "weight": v} for k, v in r["suite_weights"].items()]
        ),
    )
    if "avg_rank" in a.cd:
        t["cd_ranks"] = (
            "Average rank over tasks (Friedman test)",
            a.cd["avg_rank"].rename("avg_rank").reset_index().assign(friedman_p=a.cd["friedman_p"]),
        )
        t["cd_nemenyi"] = ("Nemenyi post-hoc p-values", a.cd["nemenyi"].reset_index())
        t["cd_wilcoxon_holm"] = ("Wilcoxon-Holm p-values", a.cd["wilcoxon_holm"].reset_index())
    for name in sorted(k for k in a.tables if k.startswith("paper_")):
        t[name] = (
            f"Ours beside {PAPER_TITLES.get(name[6:], name[6:])}, by the paper's own rule "
            "(scale < 1: not at the paper's budget)",
            a.tables[name],
        )
    if "final_scores" in a.tables:
        t["published"] = ("Ours beside published results (never pooled)", _ours_vs_published(a))
    return t


def _png_b64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _notes(a: Analysis) -> list[str]:
    notes = [EARLY_END, *a.notes]
    if "note" in a.cd and a.cd.get("note"):
        notes.append(f"Critical difference: {a.cd['note']}.")
    if "skipped" in a.cd:
        notes.append(f"Critical difference skipped: {a.cd['skipped']}.")
    return notes


def write_report(a: Analysis, cfg: dict[str, Any], out_dir: Path, title: str) -> Path:
    """Write everything; returns the path of index.html."""
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    tables, figs = report_tables(a, cfg), figures(a, int(cfg["seed"]))
    md = [f"# {title}\n", *[f"- {n}" for n in _notes(a)], ""]
    body = [
        f"<h1>{html.escape(title)}</h1><ul>",
        *[f"<li>{html.escape(n)}</li>" for n in _notes(a)],
        "</ul>",
    ]
    for name, (caption, table) in tables.items():
        table.to_csv(out_dir / "tables" / f"{name}.csv", index=False)
        (out_dir / "tables" / f"{name}.tex").write_text(to_latex(table, caption))
        note = PUBLISHED_NOTE if name == "published" else ""
        md += [f"## {caption}\n", note, to_markdown(table)]
        body += [
            f"<h2>{html.escape(caption)}</h2>",
            f"<p>{html.escape(note)}</p>" if note else "",
            table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}"),
        ]
        if name == "ranking":
            md += ["```", (RANKING_DOC or "").strip(), "```", ""]
            body.append(f"<pre>{html.escape((RANKING_DOC or '').strip())}</pre>")
    for name, (caption, fig) in figs.items():
        for ext in ("png", "pdf"):
            fig.savefig(out_dir / "figures" / f"{name}.{ext}", bbox_inches="tight")
        md += [f"## {caption}\n", f"![{caption}](figures/{name}.png)\n"]
        body += [
            f"<h2>{html.escape(caption)}</h2>",
            f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{_png_b64(fig)}">',
        ]
        plt.close(fig)
    (out_dir / "report.md").write_text("\n".join(md))
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:"
        "collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}"
    )
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
    index = out_dir / "index.html"
    index.write_text(page)
    return index


def terminal_summary(a: Analysis) -> str:
    lines = [f"runs: {len(a.runs)} ({a.runs['status'].value_counts().to_dict()})"]
    sev = a.problems["severity"].value_counts().to_dict()
    lines.append(f"validation: {sev or 'no problems'}")
    for _, p in a.problems[a.problems["severity"] != "info"].head(10).iterrows():
        lines.append(f"  [{p['severity']}] {p['run_id']}: {p['check']}: {p['detail']}")
    if len(a.references):
        lines.append("normalisation references (0 = low, 1 = high):")
        lines += [
            f"  {r.game:<22} low {r.low:g} ({r.low_source}); high {r.high:g} "
            f"({r.high_source}, {r.high_certainty})"
            for r in a.references.itertuples()
        ]
    if "aggregates" in a.tables:
        iqm = a.tables["aggregates"].query("metric == 'iqm'")
        lines.append("IQM normalised score (95% CI):")
        lines += [
            f"  {r.algo:<14} {r.estimate:8.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}] "
            f"({r.tasks} tasks x {r.runs} runs)"
            for r in iqm.itertuples()
        ]
    if "ranking" in a.tables:
        lines.append("weighted ranking (aggregate score, rank, P(rank 1) over seed bootstrap):")
        lines += [
            f"  {r.algo:<14} {r.aggregate_score:6.3f}  #{r.aggregate_rank:g}  "
            f"P1={r.p_rank_first:.2f}"
            for r in a.tables["ranking"].itertuples()
        ]
    lines += [f"note: {n}" for n in a.notes]
    return "\n".join(lines)

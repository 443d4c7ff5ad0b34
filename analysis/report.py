"""Write a report folder: index.html (self-contained), report.md, tables/*.csv|tex, figures/*.

What the report says and in which order is analysis/sections.py; how it looks,
analysis/document.py; number formats, analysis/fmt.py.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from analysis import fmt, plots
from analysis.document import Table, to_html_doc, to_markdown_doc, walk
from analysis.headline import AXIS_SHORT, headline
from analysis.pipeline import Analysis
from analysis.sections import sections, summary_line
from analysis.tables import to_latex


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


def _png_b64(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_report(a: Analysis, cfg: dict[str, Any], out_dir: Path, title: str) -> Path:
    """Write everything; returns the path of index.html."""
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    figs = figures(a, int(cfg["seed"]))
    doc = sections(a, cfg, {name: caption for name, (caption, _) in figs.items()})
    for block in (b for s in doc for b in walk(s.blocks)):
        if isinstance(block, Table):
            data = block.frame if block.data is None else block.data
            data.to_csv(out_dir / "tables" / f"{block.name}.csv", index=False)
            (out_dir / "tables" / f"{block.name}.tex").write_text(
                to_latex(block.frame, block.caption)
            )
    images = {}
    for name, (_, fig) in figs.items():
        for ext in ("png", "pdf"):
            fig.savefig(out_dir / "figures" / f"{name}.{ext}", bbox_inches="tight")
        images[name] = _png_b64(fig)
        plt.close(fig)
    summary = summary_line(a)
    (out_dir / "report.md").write_text(to_markdown_doc(title, summary, doc))
    index = out_dir / "index.html"
    index.write_text(to_html_doc(title, summary, doc, images))
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
        lines.append("weighted ranking per scope (rank, aggregate score, P(rank 1) over seeds):")
        for scope, g in a.tables["ranking"].groupby("scope", sort=False):
            lines.append(f"  {scope}: rests on {g['tasks'].iloc[0]}")
            lines += [
                f"    #{r.aggregate_rank:<4g} {r.algo:<14} {r.aggregate_score:6.3f}  "
                f"P1={fmt.number(r.p_rank_first, 2)}"
                for r in g.itertuples()
            ]
    if "leaders" in a.tables and len(a.tables["leaders"]):
        lines.append("who leads (IQM normalised score [95% CI]):")
        lines += [
            f"  {h.scope}: {AXIS_SHORT[h.axis]} ({h.budget}): {h.leader} {h.iqm}"
            + ("" if h.separated else f", CI overlaps {h.runner_up}")
            for h in headline(a.tables["leaders"]).itertuples()
        ]
    lines += [f"note: {n}" for n in a.notes]
    return "\n".join(lines)

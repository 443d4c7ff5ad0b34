"""Figures (matplotlib/seaborn). Every function returns a Figure and never writes files.

One colour per algorithm across all figures (:func:`palette`); gradient-free methods are drawn
dashed and with square markers, gradient-based solid with circles.
"""

from __future__ import annotations

import zlib

import matplotlib

matplotlib.use("Agg")  # headless: the report is written without a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scikit_posthocs as sp
import seaborn as sns
from matplotlib.figure import Figure

AXIS_LABEL = {
    "frames": "training frames",
    "wall_seconds": "wall-clock time [s]",
    "cpu_seconds": "CPU time [s]",
}
DASHES = {"gradient": "", "gradient_free": (4, 2)}
MARKERS = {"gradient": "o", "gradient_free": "s"}


def palette(algos: list[str]) -> dict[str, tuple[float, float, float]]:
    """Stable algo -> colour with no list of names (analysis never imports the registry).

    A name's slot in an 18-colour palette is its CRC-32 modulo 18, so an algorithm keeps its
    colour whichever subset a report shows; on a clash the name later in sorted order takes
    the next free slot.
    """
    colours = sns.color_palette("tab10", 10) + sns.color_palette("Dark2", 8)
    slots: dict[str, int] = {}
    for algo in sorted(set(algos)):
        slot = zlib.crc32(algo.encode()) % len(colours)
        while slot in slots.values() and len(slots) < len(colours):
            slot = (slot + 1) % len(colours)
        slots[algo] = slot
    return {a: colours[slots[a]] for a in algos}


def _kinds(frame: pd.DataFrame) -> dict[str, str]:
    if "algo_kind" not in frame:
        return {}
    return (
        frame.dropna(subset=["algo_kind"])
        .drop_duplicates("algo")
        .set_index("algo")["algo_kind"]
        .to_dict()
    )


def learning_curves(
    curves: pd.DataFrame, axis: str, colours: dict, ylabel: str = "evaluation return", seed: int = 0
) -> Figure:
    """One panel per task: mean over seeds with a 95 % bootstrap CI band."""
    tasks = sorted(curves["task"].unique())
    ncol = min(3, len(tasks))
    nrow = int(np.ceil(len(tasks) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.8 * ncol, 3.4 * nrow), squeeze=False)
    # An unknown or missing algo_kind is drawn solid (as gradient-based) rather than failing.
    curves = curves.assign(
        algo_kind=curves["algo_kind"].where(curves["algo_kind"].isin(list(DASHES)), "gradient")
    )
    kinds = _kinds(curves)
    for ax, task in zip(axes.flat, tasks, strict=False):
        data = curves[curves["task"] == task]
        sns.lineplot(
            data=data,
            x="x",
            y="y",
            hue="algo",
            palette=colours,
            ax=ax,
            style="algo_kind" if kinds else None,
            dashes=DASHES if kinds else True,
            errorbar=("ci", 95),
            n_boot=500,
            seed=seed,
            drawstyle="steps-post",
        )
        ax.set(title=task, xlabel=AXIS_LABEL.get(axis, axis), ylabel=ylabel)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def iqm_curves(iqm: pd.DataFrame, axis: str, colours: dict, kinds: dict[str, str]) -> Figure:
    """Aggregate IQM of normalised scores vs frames or wall-clock, with bootstrap CIs."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo, g in iqm.groupby("algo"):
        ls = "--" if kinds.get(algo) == "gradient_free" else "-"
        ax.plot(g["x"], g["iqm"], ls, color=colours[algo], label=algo, drawstyle="steps-post")
        ax.fill_between(
            g["x"], g["ci_low"], g["ci_high"], color=colours[algo], alpha=0.2, step="post"
        )
    ax.set(
        xlabel=AXIS_LABEL.get(axis, axis),
        ylabel="IQM normalised score",
        title=f"Aggregate IQM vs {AXIS_LABEL.get(axis, axis)}",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def performance_profiles(profiles: pd.DataFrame, colours: dict, kinds: dict[str, str]) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo, g in profiles.groupby("algo"):
        ls = "--" if kinds.get(algo) == "gradient_free" else "-"
        ax.plot(g["tau"], g["fraction"], ls, color=colours[algo], label=algo)
        ax.fill_between(g["tau"], g["ci_low"], g["ci_high"], color=colours[algo], alpha=0.2)
    ax.set(
        xlabel=r"normalised score $\tau$",
        ylabel=r"fraction of runs with score > $\tau$",
        title="Performance profiles",
        ylim=(0, 1.02),
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def ranking_heatmap(per_task: pd.DataFrame) -> Figure:
    """Algorithms x tasks weighted score (colour, 0-1), annotated with the per-task rank."""
    score = per_task.pivot(index="algo", columns="task", values="weighted_score")
    ranks = per_task.pivot(index="algo", columns="task", values="rank")
    order = score.mean(axis=1).sort_values(ascending=False).index
    score, ranks = score.loc[order], ranks.loc[order]
    annot = score.round(2).astype(str) + "\n#" + ranks.map(lambda r: f"{r:g}")
    if "completed" in per_task:  # pairs without a completed run (e.g. failed) scored 0 by rule
        done = per_task.pivot(index="algo", columns="task", values="completed").loc[order]
        annot = annot.where(done.isna() | done.eq(True), "no run\n(0)")
    annot = annot.where(score.notna(), "not\nranked")  # e.g. the algorithm cannot act there
    fig, ax = plt.subplots(figsize=(1.4 + 1.1 * score.shape[1], 1.0 + 0.55 * score.shape[0]))
    sns.heatmap(
        score,
        annot=annot,
        fmt="",
        vmin=0,
        vmax=1,
        cmap="viridis",
        ax=ax,
        cbar_kws={"label": "weighted score (0-1)"},
        annot_kws={"fontsize": 7},
    )
    ax.set(title="Weighted ranking per task", xlabel="task", ylabel="algorithm")
    fig.tight_layout()
    return fig


def pareto(final: pd.DataFrame, colours: dict, kinds: dict[str, str]) -> Figure:
    """Mean normalised final score vs mean wall-clock and CPU seconds per run (log x).

    One point per algorithm (means over its runs, all tasks); the non-dominated set (less
    time, higher score) is joined by a line.
    """
    per_algo = (
        final.groupby("algo")
        .agg(
            score=("score_norm", "mean"),
            wall_seconds=("wall_seconds", "mean"),
            cpu_seconds=("cpu_seconds", "mean"),
        )
        .reset_index()
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, col in zip(axes, ("wall_seconds", "cpu_seconds"), strict=True):
        for r in per_algo.itertuples():
            ax.scatter(
                getattr(r, col),
                r.score,
                color=colours[r.algo],
                s=60,
                marker=MARKERS.get(kinds.get(r.algo, "gradient"), "o"),
                label=r.algo,
            )
        pts = per_algo.sort_values([col, "score"], ascending=[True, False])
        front = pts[pts["score"] >= pts["score"].cummax()]
        ax.plot(front[col], front["score"], "k:", lw=1, label="Pareto front")
        ax.set(
            xscale="log",
            xlabel=f"mean {AXIS_LABEL[col]} per run (log)",
            ylabel="mean normalised final score",
            title=f"Score vs {AXIS_LABEL[col]}",
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def critical_difference(
    avg_rank: pd.Series, sig: pd.DataFrame, title: str, colours: dict | None = None
) -> Figure:
    """Average ranks over tasks; a bar joins algorithms whose difference is not significant."""
    fig, ax = plt.subplots(figsize=(7, 2.5))
    palette_ = {a: matplotlib.colors.to_hex(c) for a, c in (colours or {}).items()} or None
    sp.critical_difference_diagram(avg_rank, sig, ax=ax, color_palette=palette_)
    ax.set_title(title)
    fig.tight_layout()
    return fig

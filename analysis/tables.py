"""Table writers without extra dependencies (pandas to_latex needs jinja2, to_markdown tabulate).

Cells are formatted for reading by :mod:`analysis.fmt`; the CSV files keep raw values.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis import fmt

LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "∞": r"$\infty$",
}


def display_cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and cells as text for reading (analysis.fmt: 30,752; 0.763; 1.2e-05)."""
    head = [str(c) for c in frame.columns]
    return head, [
        [fmt.cell(v, h) for v, h in zip(row, head, strict=True)]
        for row in frame.itertuples(index=False)
    ]


def to_markdown(frame: pd.DataFrame) -> str:
    head, rows = display_cells(frame)
    esc = [[c.replace("|", r"\|").replace("\n", " ") for c in r] for r in [head, *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in esc[1:]]) + "\n"


def latex_escape(text: str) -> str:
    """Escape LaTeX specials; ``**x**`` (bold in report.md) becomes ``\\textbf{x}``."""
    escaped = "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)
    return re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", escaped)


def to_latex(frame: pd.DataFrame, caption: str = "") -> str:
    head, rows = display_cells(frame)
    out = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\begin{tabular}{" + "l" * len(head) + "}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in head) + r" \\",
        r"\midrule",
    ]
    out += [" & ".join(latex_escape(c) for c in r) + r" \\" for r in rows]
    out += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        out.append(r"\caption{" + latex_escape(caption) + "}")
    return "\n".join([*out, r"\end{table}"]) + "\n"

"""Table writers without extra dependencies (pandas to_latex needs jinja2, to_markdown tabulate)."""

from __future__ import annotations

import math

import pandas as pd

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
}


def fmt(value: object) -> str:
    """Numbers to 4 significant digits; NaN/None as an empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    return [str(c) for c in frame.columns], [
        [fmt(v) for v in row] for row in frame.itertuples(index=False)
    ]


def to_markdown(frame: pd.DataFrame) -> str:
    head, rows = _cells(frame)
    esc = [[c.replace("|", r"\|").replace("\n", " ") for c in r] for r in [head, *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in esc[1:]]) + "\n"


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(frame: pd.DataFrame, caption: str = "") -> str:
    head, rows = _cells(frame)
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

"""A report as sections of blocks, rendered to Markdown (report.md) and one HTML page.

Both renderers walk the same sections in the same order and format every number with
:mod:`analysis.fmt`, so report.md and index.html say the same thing. ``**x**`` in a cell or a
paragraph is bold in both. The HTML page is self-contained: inline CSS (light, print-friendly),
figures as base64 PNGs, a table of contents, folds (``<details>``) opened for printing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from analysis import fmt
from analysis.tables import display_cells, to_markdown


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    name: str  # tables/<name>.csv (``data``, raw) and .tex (``frame``, as displayed)
    caption: str
    frame: pd.DataFrame
    note: str = ""
    data: pd.DataFrame | None = None  # raw values for the CSV when ``frame`` is for reading


@dataclass(frozen=True)
class Figure:
    name: str  # figures/<name>.png|pdf
    caption: str


@dataclass(frozen=True)
class Pre:
    text: str


@dataclass(frozen=True)
class Fold:
    summary: str
    blocks: tuple = ()


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return slug(self.title)


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-")


def walk(blocks: list | tuple) -> Iterator[object]:
    """Every block, folds opened."""
    for b in blocks:
        yield b
        if isinstance(b, Fold):
            yield from walk(b.blocks)


BOLD = re.compile(r"\*\*(.+?)\*\*")
INTERVAL = re.compile(r"^\**-?[\d,.]+(e-?\d+)?( \[.*\])?\**$")


def _inline(text: str) -> str:
    return BOLD.sub(r"<strong>\1</strong>", html.escape(text))


# ---- Markdown -------------------------------------------------------------------------------


def _md_block(b: object) -> list[str]:
    if isinstance(b, Para):
        return [b.text, ""]
    if isinstance(b, Table):
        note = [b.note, ""] if b.note else []
        return [f"### {b.caption}", "", *note, to_markdown(b.frame)]
    if isinstance(b, Figure):
        return [f"### {b.caption}", "", f"![{b.caption}](figures/{b.name}.png)", ""]
    if isinstance(b, Pre):
        return ["```", b.text, "```", ""]
    if isinstance(b, Fold):
        inner = [line for x in b.blocks for line in _md_block(x)]
        return [
            f"<details><summary>{html.escape(b.summary)}</summary>",
            "",
            *inner,
            "</details>",
            "",
        ]
    raise TypeError(f"unknown block {type(b).__name__}")


def to_markdown_doc(title: str, summary: str, sections: list[Section]) -> str:
    lines = [f"# {title}", "", summary, "", "## Contents", ""]
    lines += [f"{i}. [{s.title}](#{s.id})" for i, s in enumerate(sections, 1)] + [""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        lines += [line for b in s.blocks for line in _md_block(b)]
    return "\n".join(lines)


# ---- HTML -----------------------------------------------------------------------------------

STYLE = """
:root{--fg:#1d2433;--muted:#5b6473;--line:#d9dee7;--alt:#f4f6f9;--accent:#2458a6}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);max-width:1180px;margin:0 auto;padding:12px 24px 48px}
h1{font-size:1.55em;margin:.3em 0 .15em}
h2{font-size:1.3em;border-bottom:2px solid var(--line);padding-bottom:.15em;margin:1.5em 0 .5em}
h3{font-size:1.02em;margin:1.1em 0 .3em}
p.summary{color:var(--muted);margin:.2em 0 .6em}
nav.toc{background:var(--alt);border:1px solid var(--line);border-radius:6px;padding:.35em .8em}
nav.toc ol{display:flex;flex-wrap:wrap;gap:.15em 1.3em;margin:0;padding-left:1.2em}
nav.toc li{padding-right:.2em}
a{color:var(--accent);text-decoration:none} a:hover{text-decoration:underline}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:.2em 0 .9em;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:3px 9px;text-align:left;vertical-align:top}
th{background:var(--alt);font-weight:600;white-space:nowrap}
td.num{text-align:right;white-space:nowrap}
tbody tr:hover{background:#fafbfd}
figure{margin:.8em 0 1.2em} figure img{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.92em;margin-bottom:.3em}
details{margin:.4em 0 .8em} summary{cursor:pointer;color:var(--accent)}
p.note{color:var(--muted);font-size:.92em}
pre{background:var(--alt);padding:.6em .8em;overflow-x:auto;font-size:12px}
@media print{body{max-width:none;padding:0;font-size:10.5pt}
.scroll{overflow:visible} table,figure,pre{break-inside:avoid} h2,h3{break-after:avoid}
summary{color:var(--fg)} a{color:inherit}}
"""
#: print the folded details too
SCRIPT = (
    "addEventListener('beforeprint',()=>document.querySelectorAll('details')"
    ".forEach(d=>d.open=true))"
)


def _html_table(t: Table) -> str:
    head, rows = display_cells(t.frame)
    raw = [list(t.frame[c]) for c in t.frame.columns]
    num = [
        fmt.is_numeric_column(vals) or all(INTERVAL.match(r[i]) for r in rows if r[i])
        for i, vals in enumerate(raw)
    ]
    ths = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if n else ''}>{_inline(c)}</td>" for c, n in zip(r, num, strict=True)
        )
        + "</tr>"
        for r in rows
    )
    return (
        f"<div class=scroll><table><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _html_block(b: object, images: Mapping[str, str]) -> str:
    if isinstance(b, Para):
        return f"<p>{_inline(b.text)}</p>"
    if isinstance(b, Table):
        note = f"<p class=note>{_inline(b.note)}</p>" if b.note else ""
        return f"<h3 id='t-{b.name}'>{html.escape(b.caption)}</h3>{note}{_html_table(b)}"
    if isinstance(b, Figure):
        cap = html.escape(b.caption)
        src = f"data:image/png;base64,{images[b.name]}"
        img = f"<img alt='{cap}' src='{src}'>"
        return f"<figure id='f-{b.name}'><figcaption>{cap}</figcaption>{img}</figure>"
    if isinstance(b, Pre):
        return f"<pre>{html.escape(b.text)}</pre>"
    if isinstance(b, Fold):
        inner = "".join(_html_block(x, images) for x in b.blocks)
        return f"<details><summary>{html.escape(b.summary)}</summary>{inner}</details>"
    raise TypeError(f"unknown block {type(b).__name__}")


def to_html_doc(
    title: str, summary: str, sections: list[Section], images: Mapping[str, str]
) -> str:
    toc = "".join(f"<li><a href='#{s.id}'>{html.escape(s.title)}</a></li>" for s in sections)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class=summary>{_inline(summary)}</p>",
        f"<nav class=toc aria-label='Contents'><ol>{toc}</ol></nav>",
    ]
    for s in sections:
        body.append(f"<section id='{s.id}'><h2>{html.escape(s.title)}</h2>")
        body += [_html_block(b, images) for b in s.blocks]
        body.append("</section>")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset='utf-8'>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}<script>{SCRIPT}</script></body></html>"
    )

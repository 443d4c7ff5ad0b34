"""Report from a real tiny sweep: every output written; the package never imports bench."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.__main__ import main

from . import chromium

FAST = [
    "aggregate.reps=100",
    "aggregate.curve_reps=20",
    "ranking.bootstrap_reps=10",
    "curves.points=11",
    "curves.aggregate_points=6",
]


@pytest.fixture(scope="module")
def report(smoke_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main([str(smoke_results), "--out", str(out), *FAST]) == 0
    return out


def test_report_outputs(report: Path) -> None:
    html = (report / "index.html").read_text()
    assert "data:image/png;base64," in html and "<table" in html
    assert "gymnasium 1.4.0 spec reward_threshold" in html  # reference source printed
    assert (report / "report.md").read_text().count("![") >= 5
    for name in (
        "final_scores",
        "aggregates",
        "ranking",
        "validation",
        "references",
        "fixed_frames",
        "fixed_wall_seconds",
        "threshold",
        "published",
    ):
        assert (report / "tables" / f"{name}.csv").stat().st_size > 0
        assert "\\begin{tabular}" in (report / "tables" / f"{name}.tex").read_text()
    for name in (
        "returns_vs_frames",
        "returns_vs_wall_seconds",
        "iqm_vs_frames",
        "iqm_vs_wall_seconds",
        "performance_profiles",
        "ranking_heatmap",
        "pareto",
    ):
        for ext in ("png", "pdf"):
            assert (report / "figures" / f"{name}.{ext}").stat().st_size > 1000


class _TagBalance(HTMLParser):
    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "img":
            self.images += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_html_is_well_formed(report: Path) -> None:
    """Runs everywhere (Chromium is optional): every tag closes in order, figures are inline."""
    parser = _TagBalance()
    parser.feed((report / "index.html").read_text())
    assert not parser.errors and not parser.stack
    assert parser.images == len(list((report / "figures").glob("*.png")))


def test_console_script_and_weight_override(smoke_results: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("bench-report")
    proc = subprocess.run(
        [
            str(exe),
            str(smoke_results),
            "--out",
            str(tmp_path / "r"),
            *FAST,
            "ranking.weights.wall_clock=0.5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "report: " in proc.stdout and "IQM" in proc.stdout
    assert "reward_threshold" in proc.stdout  # references and their sources printed
    weights = (tmp_path / "r" / "tables" / "ranking_weights.csv").read_text()
    assert "criterion,wall_clock,0.5" in weights


def test_analysis_never_imports_bench() -> None:
    code = (
        "import sys, analysis.__main__, analysis.report, analysis.pipeline;"
        "bad=[m for m in sys.modules if m=='bench' or m.startswith('bench.')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    src = Path(__file__).resolve().parents[2] / "analysis"
    for path in src.glob("*.py"):
        text = path.read_text()
        assert "import bench" not in text and "from bench" not in text, path


@pytest.mark.skipif(not chromium.CHROMIUM.exists(), reason=chromium.SKIP_REASON)
def test_html_opens_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    """Opens, and its first screen (saved as a test artefact) shows the TOC and who leads."""
    page = report / "index.html"
    dom = chromium.run(["--dump-dom", page.as_uri()], tmp_path / "profile").stdout
    assert "<h1>" in dom and "Weighted ranking" in dom
    chromium.screenshot(page, tmp_path / "smoke_report_first_screen.png", tmp_path / "profile")
    where = chromium.layout(page, tmp_path)
    top = dict(where["headings"])
    assert where["nav"] < top["Who leads"] < top["Leaders at a glance"] < where["screen"]
    assert top["Who leads"] < top["Key figures"] < top["Runs and validation"]
    assert min(where["tables"]) > top["Who leads"]  # no table before who leads

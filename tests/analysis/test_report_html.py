"""The report leads with who leads, formats numbers for reading and folds the expected noise.

Built from hand-written records of the demo's trap (SAC best on Pendulum, unable to act on
CartPole; PPO failing on CartPole), 30,000 frames per run: fast, and every section has data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main

from . import chromium
from .conftest import write_sac_case

FAST = [
    "aggregate.reps=100",
    "aggregate.curve_reps=20",
    "aggregate.poi_reps=20",
    "ranking.bootstrap_reps=10",
    "curves.points=11",
    "curves.aggregate_points=6",
]
ORDER = ["Who leads", "Key figures", "Weighted ranking", "Scores and budgets"]
ORDER += ["Runs and validation", "Notes and references"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("records")
    write_sac_case(root, failed_ppo=True, every=15_000)  # evaluations at 0, 15,000, 30,000
    out = tmp_path_factory.mktemp("report")
    assert main([str(root / "exp"), "--out", str(out), *FAST]) == 0
    return out


def _text(report: Path) -> tuple[str, str]:
    page = (report / "index.html").read_text()
    return re.sub(r"data:image/png;base64,[^'\"]+", "", page), (report / "report.md").read_text()


def _in_order(text: str, needles: list[str]) -> bool:
    at = [text.find(n) for n in needles]
    return -1 not in at and at == sorted(at)


def test_md_and_html_lead_with_who_leads_in_the_same_order(report: Path) -> None:
    page, md = _text(report)
    h2_md = re.findall(r"^## (.+)$", md, re.M)
    h2_html = re.findall(r"<h2>(.+?)</h2>", page)
    assert h2_md[0] == "Contents" and h2_md[1:] == h2_html
    assert [h for h in h2_html if h in ORDER] == ORDER
    assert _in_order(
        page, ["<nav", "id='who-leads'", "Leaders at a glance", "<img", "Runs by status"]
    )
    assert "<a href='#who-leads'>Who leads</a>" in page and "1. [Who leads](#who-leads)" in md
    first_table = re.search(r"^### (.+)$", md[md.index("## Who leads") :], re.M)
    assert first_table and first_table.group(1) == "Leaders at a glance"


def test_numbers_are_formatted_for_reading(report: Path) -> None:
    page, md = _text(report)
    for text in (page, md):
        assert "30,000 frames" in text  # the frame budget, with its separator
        assert re.search(r"-?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\]", text)  # 0.76 [0.62, 0.85]
        assert not re.search(r"\de[+-]\d", text), "scientific notation in the report"
    final = pd.read_csv(report / "tables" / "final_scores.csv")
    assert final["frames"].max() == 30_000  # the CSV keeps raw numbers


def test_sac_leads_where_it_can_act_and_is_never_a_zero(report: Path) -> None:
    _, md = _text(report)
    row = next(line for line in md.splitlines() if line.startswith("| pendulum (dqn cannot act)"))
    assert row.split("|")[3].strip().startswith("**sac**")  # frame budget column
    assert "sac on cartpole" in md and "dqn on pendulum" in md  # not ranked there, and said so
    overall = next(line for line in md.splitlines() if line.startswith("| overall |"))
    assert "ga, ppo on cartpole, pendulum" in overall
    ranking = pd.read_csv(report / "tables" / "ranking.csv")
    assert not ranking.query("scope == 'overall'")["algo"].isin(["sac", "dqn"]).any()
    assert ranking.query("scope == 'overall' and algo == 'ppo'")["scored_zero_on"].item() == (
        "cartpole"
    )  # failed everywhere on cartpole: a failure, kept as 0


def test_validation_shows_problems_and_folds_information(report: Path) -> None:
    page, md = _text(report)
    validation = pd.read_csv(report / "tables" / "validation.csv")
    info = validation[validation["severity"] == "info"]
    assert len(info) == 6 and len(validation) > len(info)  # the csv keeps every row
    runs_section = page[page.index("id='runs-and-validation'") :]
    assert "status: failed" in runs_section.split("<details>")[0]  # errors are shown
    fold = runs_section[runs_section.index("<details>") :]
    assert "6 informational rows: status: skipped (cannot act) ×6" in fold
    assert "status: skipped (cannot act)" not in runs_section.split("<details>")[0]
    assert "<details><summary>6 informational rows" in md
    header = re.search(r"### Runs by status\n\n(\|.+\|)\n", md)
    assert header and header.group(1) == "| task | algo | completed | failed | cannot act | total |"


@pytest.mark.skipif(not chromium.CHROMIUM.exists(), reason=chromium.SKIP_REASON)
def test_first_screen_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    """Screenshot of the first screen (a test artefact); what it shows is measured, not assumed."""
    shot = chromium.screenshot(
        report / "index.html", tmp_path / "report_first_screen.png", tmp_path / "profile"
    )
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == chromium.SCREEN
    where = chromium.layout(report / "index.html", tmp_path)
    top = {text: y for text, y in where["headings"]}
    # --dump-dom's viewport is shorter than the screenshot's: "on screen" uses the shorter one.
    shown, screen = min(where["screen"], chromium.SCREEN[1]), chromium.SCREEN[1]
    assert where["width"] == chromium.SCREEN[0]
    assert where["nav"] < top["Who leads"] < top["Leaders at a glance"] < shown
    assert top["Leaders at a glance"] < min(where["tables"]) < shown  # the glance table is seen
    assert top["Runs and validation"] > screen and top["Key figures"] < min(where["images"])
    assert top["Who leads"] < top["Key figures"] < top["Scores and budgets"]

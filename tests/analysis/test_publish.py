"""Published results (docs/results/): the page is rebuilt from the committed tables and equals
the committed page, and the compute it states is measured from the records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import fmt
from analysis.publish import INDEX, PROVENANCE, build_index, provenance, publish
from tests.analysis.conftest import write_run, write_sac_case

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = REPO / "docs" / "results"


def test_committed_page_is_rebuilt_from_the_committed_tables() -> None:
    assert (PUBLISHED / INDEX).exists(), "docs/results/README.md: run bench-publish"
    experiments = list(PUBLISHED.glob(f"*/{PROVENANCE}"))
    assert experiments, "no published experiment"
    assert build_index(PUBLISHED) == (PUBLISHED / INDEX).read_text()


def test_provenance_sums_each_runs_seconds_on_its_core(fake_root: Path) -> None:
    machine, git = {"cpu_model": "Xeon", "cpu_count": 2}, {"commit": "abc", "dirty": True}
    write_run(fake_root, algo="ga", seed=0, kind="gradient_free", argv=["/x/bench", "a=1"],
              machine=machine, git=git)  # fmt: skip
    write_run(fake_root, algo="ppo", seed=1, argv=["/x/bench", "a=1"])
    write_run(fake_root, algo="sac", seed=0, status="skipped", reason="cannot act")
    summaries = [json.loads(p.read_text()) for p in fake_root.rglob("summary.json")]
    for path in fake_root.rglob("summary.json"):  # evaluation and paper tests count too
        summary = json.loads(path.read_text())
        summary.update(eval_wall_seconds=30.0, paper_score_test_wall_seconds=6.0)
        path.write_text(json.dumps(summary))
    prov = provenance([fake_root])
    seconds = sum(s["wall_seconds"] + 36.0 for s in summaries)
    assert prov["core_hours"] == pytest.approx(seconds / 3600, abs=1e-3)
    assert prov["runs"] == {"completed": 2, "skipped": 1}
    expected = {s["algo"]: s["wall_seconds"] + 36.0 for s in summaries}
    ga = prov["core_seconds_by_algo"]["ga"]
    assert ga["runs"] == 1 and ga["core_seconds"] == pytest.approx(expected["ga"], abs=0.1)
    assert "sac" not in prov["core_seconds_by_algo"]  # skipped: no compute
    assert prov["commands"] == ["bench a=1"]
    assert "abc (uncommitted changes)" in prov["commits"]


def test_publish_writes_the_report_and_a_page_with_its_numbers(
    fake_root: Path, tmp_path: Path
) -> None:
    write_sac_case(fake_root)
    root = tmp_path / "docs"
    page = publish([fake_root / "exp"], "sac_case", root).read_text()
    assert (root / "sac_case" / "report.md").exists()
    assert not list((root / "sac_case" / "figures").glob("*.pdf"))
    assert "## sac_case" in page and "Who leads at equal frames" in page
    hours = json.loads((root / "sac_case" / PROVENANCE).read_text())["core_hours"]
    assert f"| {fmt.number(hours)} |" in page
    (root / "sac_case" / "notes.md").write_text("A gap: the budget is scaled.")
    assert "A gap: the budget is scaled." in build_index(root)

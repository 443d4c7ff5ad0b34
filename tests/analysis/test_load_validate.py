"""Loading reports corrupted, failed, interrupted and skipped runs; comparisons are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.__main__ import load_config, main
from analysis.load import load_results
from analysis.pipeline import analyse
from analysis.validate import MixedProtocolError, check_protocols, validate

from .conftest import write_run


def _problems(root: Path, **kw: bool):
    res = load_results([root / "exp"])
    return res, validate(res, **kw)


def test_corrupted_failed_interrupted_skipped(fake_root: Path) -> None:
    write_run(fake_root, seed=0)
    bad = write_run(fake_root, seed=1)
    (bad / "meta.json").write_text("{not json")
    write_run(fake_root, seed=2, status="failed", error="RuntimeError: boom")
    write_run(fake_root, seed=3, status="running")  # process gone: read as interrupted
    write_run(fake_root, seed=4, status="interrupted", error="SIGTERM")
    write_run(fake_root, algo="sac", status="skipped", reason="continuous actions only")
    no_summary = write_run(fake_root, seed=5)
    (no_summary / "summary.json").unlink()
    broken_csv = write_run(fake_root, seed=6)
    (broken_csv / "metrics.csv").write_text("frames,oops\n1,2\n")
    res, probs = _problems(fake_root)
    status = res.runs.set_index("run_id")["status"]
    assert status["exp/cartpole/ppo/seed=0"] == "completed"
    assert status["exp/cartpole/ppo/seed=1"] == "malformed"
    assert status["exp/cartpole/ppo/seed=2"] == "failed"
    assert status["exp/cartpole/ppo/seed=3"] == "interrupted"
    assert status["exp/cartpole/ppo/seed=4"] == "interrupted"
    assert status["exp/cartpole/sac/seed=0"] == "skipped"
    assert status["exp/cartpole/ppo/seed=5"] == "malformed"
    assert status["exp/cartpole/ppo/seed=6"] == "malformed"
    assert res.runs["usable"].sum() == 1
    by_run = probs.groupby("run_id")["check"].apply(set)
    assert "meta.json" in by_run["exp/cartpole/ppo/seed=1"]
    assert "status: failed" in by_run["exp/cartpole/ppo/seed=2"]
    assert "status: interrupted" in by_run["exp/cartpole/ppo/seed=3"]
    assert "status: skipped" in by_run["exp/cartpole/sac/seed=0"]
    assert "summary.json" in by_run["exp/cartpole/ppo/seed=5"]
    assert "metrics.csv" in by_run["exp/cartpole/ppo/seed=6"]
    failed = probs[probs.run_id == "exp/cartpole/ppo/seed=2"]
    assert "boom" in failed["detail"].item() and failed["severity"].item() == "error"
    assert len(res.runs) == 8  # nothing dropped


def test_records_of_a_newer_schema_are_refused(fake_root: Path) -> None:
    """Version 1 (no field) and 2 are read; a newer record is malformed, with the reason."""
    write_run(fake_root, seed=0)  # no schema_version: version 1
    write_run(fake_root, seed=1, schema_version=2, env_observation="vector")
    write_run(fake_root, seed=2, schema_version=99)
    res, probs = _problems(fake_root)
    status = res.runs.set_index("run_id")["status"]
    assert status["exp/cartpole/ppo/seed=0"] == status["exp/cartpole/ppo/seed=1"] == "completed"
    assert status["exp/cartpole/ppo/seed=2"] == "malformed"
    refused = probs[probs["check"] == "schema_version"]
    assert refused["run_id"].tolist() == ["exp/cartpole/ppo/seed=2"]
    assert "99" in refused["detail"].item() and refused["severity"].item() == "error"


def test_unequal_seeds_mixed_budgets_and_versions(fake_root: Path) -> None:
    write_run(fake_root, algo="ppo", seed=0)
    write_run(fake_root, algo="ppo", seed=1)
    write_run(fake_root, algo="a2c", seed=0, returns=[1.0, 2.0], versions={"numpy": "1.0"})
    _, probs = _problems(fake_root)
    checks = set(probs["check"])
    assert {
        "unequal seed counts",
        "mixed budgets within a task",
        "mixed package versions",
    } <= checks


def test_mixed_protocols_refused_unless_asked(fake_root: Path) -> None:
    write_run(fake_root, algo="ppo")
    write_run(
        fake_root, algo="a2c", protocol="default:ep10:det:seed1000000:noop30:sticky0:cap108000"
    )
    res, probs = _problems(fake_root)
    row = probs[probs.check == "mixed evaluation protocols"]
    assert row["severity"].item() == "error"
    with pytest.raises(MixedProtocolError):
        check_protocols(res.runs)
    check_protocols(res.runs, mix_protocols=True)
    _, probs = _problems(fake_root, mix_protocols=True)
    assert probs.loc[probs.check == "mixed evaluation protocols", "severity"].item() == "warning"
    with pytest.raises(MixedProtocolError):
        analyse(res, load_config())


def test_gradient_free_runs_load_generations(fake_root: Path) -> None:
    for seed in (0, 1):
        write_run(fake_root, algo="ga", kind="gradient_free", seed=seed, returns=[10, 200, 480])
        write_run(fake_root, algo="ppo", seed=seed, returns=[10, 50, 100])
    res = load_results([fake_root / "exp"])
    assert set(res.generations["algo"]) == {"ga"} and len(res.generations) == 6
    cfg = load_config(
        None, ["aggregate.reps=50", "aggregate.curve_reps=20", "ranking.bootstrap_reps=10"]
    )
    a = analyse(res, cfg)
    assert a.tables["ranking"]["algo"].iloc[0] == "ga"
    thr = a.tables["threshold"].set_index("algo")
    assert thr.loc["ga", "reached"] == "2/2" and thr.loc["ga", "min_frames"] == 2000


def test_reports_without_usable_runs(fake_root: Path, tmp_path: Path) -> None:
    """Only broken runs, or no runs at all: a report with the validation table, no crash."""
    bad = write_run(fake_root)
    (bad / "meta.json").write_text("garbage")
    write_run(fake_root, seed=1, status="failed", error="boom")
    assert main([str(fake_root / "exp"), "--out", str(tmp_path / "a")]) == 0
    validation = (tmp_path / "a" / "tables" / "validation.csv").read_text()
    assert "meta.json" in validation and "boom" in validation
    assert main([str(tmp_path / "absent"), "--out", str(tmp_path / "b")]) == 1
    assert (tmp_path / "b" / "index.html").exists()


def test_atari_ram_task_joins_game_reference(fake_root: Path) -> None:
    for algo in ("ga", "ppo", "es"):
        write_run(
            fake_root,
            env="pong_ram",
            env_id="ALE/Pong-v5",
            family="atari_ram",
            algo=algo,
            returns=[-21.0, -20.7, 14.6],
        )
    res = load_results([fake_root / "exp"])
    assert set(res.runs["task"]) == {"pong_ram"} and set(res.runs["game"]) == {"pong"}
    cfg = load_config(
        None,
        [
            "aggregate.reps=50",
            "aggregate.curve_reps=10",
            "aggregate.poi_reps=20",
            "ranking.bootstrap_reps=5",
        ],
    )
    a = analyse(res, cfg)
    assert a.scores["score_norm"].tolist() == pytest.approx([1.0, 1.0, 1.0])  # human score
    assert a.references["kind"].item() == "human-normalised"


def test_run_past_its_budget_is_scored_within_it(fake_root: Path) -> None:
    """A generation that overshoots the budget does not buy a better final score."""
    path = write_run(fake_root, algo="ga", kind="gradient_free", returns=[10.0, 100.0, 500.0])
    meta_path = path / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["budget_limits"]["frames"] = 1500  # evaluations at 0, 1000 and 2000 frames
    meta_path.write_text(json.dumps(meta))
    runs = load_results([fake_root]).runs
    row = runs.iloc[0]
    assert row["final_eval_return"] == 100.0 and row["final_eval_return_recorded"] == 500.0
    assert row["frames_over_budget"] == 500
    _, problems = _problems(fake_root)
    assert "ran 500 frames past its 1500 frame budget" in " ".join(problems["detail"])


def test_runs_at_different_scales_are_flagged(fake_root: Path) -> None:
    """A run at scale 0.02 of a paper's budget is another experiment, not a noisier seed."""
    write_run(fake_root, seed=0, scale=1.0)
    write_run(fake_root, seed=1, scale=0.02)
    _, probs = _problems(fake_root)
    flagged = probs[probs["check"] == "mixed budget scales within a task"]
    assert flagged["severity"].tolist() == ["error"] and "0.02" in flagged["detail"].item()

"""Sweeps: one folder per job, local launchers, and nothing lost when a sweep or run is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.records import RunFolder
from bench.run import run, run_dir_of
from tests.conftest import BENCH, run_bench

SMOKE = ["budget=smoke", "eval.episodes=2", "env=cartpole"]


def _folders(results: Path) -> list[RunFolder]:
    return [RunFolder(p.parent) for p in sorted(results.rglob("meta.json"))]


def _wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.2)


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_multirun_of_two_seeds_gives_two_run_folders(tmp_path, launcher):
    result = run_bench(["-m", "algo=ppo", "seed=0,1", *SMOKE, f"results_dir={tmp_path}",
                        f"hydra/launcher={launcher}"], cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    folders = _folders(tmp_path / "default")
    assert [f.path.name for f in folders] == ["seed=0", "seed=1"]
    assert all(f.is_complete() for f in folders)


def test_sweep_records_incompatible_pairs_as_skipped_and_goes_on(tmp_path):
    result = run_bench(["-m", "algo=dqn", "env=cartpole,pendulum", "budget=smoke",
                        "eval.episodes=2", f"results_dir={tmp_path}"], cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    status = {f.path.parts[-3]: f.status() for f in _folders(tmp_path)}
    assert status == {"cartpole": "completed", "pendulum": "skipped"}
    assert "sweep done: 1 completed, 1 skipped" in result.stderr + result.stdout


def test_killed_sweep_rerun_skips_completed_and_finishes_the_rest(tmp_path):
    args = ["-m", "algo=ppo", "seed=0,1,2", *SMOKE, "budget.frames=8000", f"results_dir={tmp_path}"]
    proc = subprocess.Popen([BENCH, *args], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for(lambda: any(f.is_complete() for f in _folders(tmp_path)))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # as a scheduler or an OOM killer would
        proc.wait()
    done = {f.path for f in _folders(tmp_path) if f.is_complete()}
    assert 1 <= len(done) < 3, "the sweep finished before it was killed: raise the budget"
    before = {p: json.loads((p / "meta.json").read_text())["started_at"] for p in done}

    result = run_bench(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    folders = _folders(tmp_path)
    assert len(folders) == 3 and all(f.is_complete() for f in folders)
    for path, started in before.items():  # completed runs were skipped, not rerun
        meta = json.loads((path / "meta.json").read_text())
        assert meta["started_at"] == started and meta["attempts"] == 1


def test_interrupted_sb3_run_resumes_from_its_checkpoint(tmp_path):
    args = ["algo=dqn", *SMOKE, "budget.frames=16000", "budget.eval_every_frames=2000",
            "checkpoint.every_frames=2000", f"results_dir={tmp_path}"]  # fmt: skip
    folder = RunFolder(tmp_path / "default" / "cartpole" / "dqn" / "seed=0")
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen([BENCH, *args], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: (folder.checkpoints / "latest.json").exists() or proc.poll() is not None)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    meta = json.loads(folder.meta.read_text())
    assert meta["status"] == "interrupted", (tmp_path / "first.log").read_text()[-3000:]
    assert "SIGTERM" in meta["error"]

    result = run_bench(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads(folder.meta.read_text())
    assert meta["status"] == "completed" and meta["attempts"] == 2
    assert meta["resumed_from_frames"] >= 2000
    metrics = pd.read_csv(folder.metrics)
    assert metrics["frames"].is_unique and metrics["frames"].is_monotonic_increasing
    assert 16000 <= metrics["frames"].iloc[-1] < 16000 + 256  # DQN's train_freq chunk (rl-zoo3)
    assert (folder.path / "replay_buffer.pkl").exists() is False  # lives in checkpoints/ only


def test_corrupted_or_partial_record_is_detected_and_rerun(make_cfg):
    cfg = make_cfg("algo=ppo", "env=cartpole")
    run(cfg)
    folder = RunFolder(run_dir_of(cfg))
    assert folder.is_complete()
    assert run(cfg)["attempts"] == 1  # complete: skipped, not rerun

    folder.summary.write_text('{"final_eval_return": 1')  # cut off mid-write by hand
    assert not folder.is_complete()
    assert run(cfg)["attempts"] == 2

    meta = json.loads(folder.meta.read_text())
    folder.meta.write_text(json.dumps({**meta, "status": "running"}))  # process died mid-run
    assert folder.status() == "interrupted" and not folder.is_complete()
    folder.meta.write_text("not json")
    assert folder.status() is None and not folder.is_complete()
    assert not list(folder.path.glob(".*.tmp"))  # atomic writes leave no temp files


def test_overwrite_reruns_a_completed_run(make_cfg):
    cfg = make_cfg("algo=ppo", "env=cartpole")
    run(cfg)
    assert run(make_cfg("algo=ppo", "env=cartpole", "overwrite=true"))["attempts"] == 1


def test_crash_in_sweep_is_recorded_failed_and_raises_alone(make_cfg):
    cfg = make_cfg("algo=ppo", "env=cartpole", "algo.params.batch_size=0")
    meta = run(cfg, in_sweep=True)
    assert meta["status"] == "failed" and "batch_size" in meta["traceback"]
    recorded = json.loads(RunFolder(run_dir_of(cfg)).meta.read_text())
    assert recorded["status"] == "failed" and recorded["error"]
    with pytest.raises(AssertionError):
        run(cfg)

"""``logger=``: TensorBoard and W&B mirror the CSV record, and both survive a resume."""

from __future__ import annotations

import importlib.util
import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from omegaconf import OmegaConf

from bench.interface import ConfigError
from bench.loggers import open_loggers
from bench.recorder import Recorder
from bench.records import RunFolder
from bench.run import Interrupted, run, run_dir_of
from tests.conftest import compose_config

SB3_RUN = ["algo=ppo", "env=cartpole"]
GA_RUN = ["algo=ga", "env=cartpole", "budget.frames=3000", "algo.params.population_size=10",
          "algo.params.elite_candidates=2", "algo.params.elite_eval_episodes=2"]  # fmt: skip
# PPO (8 envs) evaluates at about 0, 500, 1000, 1500, 2000 frames and checkpoints at about 750.
# Killed at its 4th evaluation, a run resumes from 750 and redoes the 3rd: the first is stale.
RESUMABLE = [*SB3_RUN, "budget.frames=2000", "budget.eval_every_frames=500",
             "checkpoint.every_frames=750"]  # fmt: skip


needs_tensorboard = pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None,
    reason="logger=tensorboard needs the tensorboard package: pip install -e '.[loggers]'",
)
needs_wandb = pytest.mark.skipif(
    importlib.util.find_spec("wandb") is None,
    reason="logger=wandb needs the wandb package: pip install -e '.[loggers]'",
)


def _events(folder: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return events


def _steps(events: Any, tag: str) -> list[int]:
    return [event.step for event in events.Scalars(tag)]


def _assert_series(events: Any, tag: str, steps: Any, values: Any) -> None:
    """The tag holds exactly these (step, value) points, in order (values as float32)."""
    assert _steps(events, tag) == [int(step) for step in steps], tag
    assert [event.value for event in events.Scalars(tag)] == pytest.approx(list(values)), tag


def _crash_at_evaluation(monkeypatch, n: int, error: BaseException) -> None:
    """The next run dies at its ``n``-th evaluation (as if killed there)."""
    original = Recorder.evaluate

    def crash(self: Recorder, policy: Any) -> Any:
        if len(self.rows) == n - 1:
            monkeypatch.setattr(Recorder, "evaluate", original)
            raise error
        return original(self, policy)

    monkeypatch.setattr(Recorder, "evaluate", crash)


def test_logger_group_defaults_to_csv_and_combines_backends():
    assert OmegaConf.to_container(compose_config([]).logger) == {"csv": {}}
    both = compose_config(["logger=[tensorboard,wandb]", "experiment_name=x"]).logger
    assert set(both) == {"tensorboard", "wandb"}
    assert both.wandb.mode == "offline" and both.wandb.group == "x"


def test_an_unknown_logger_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="nope"):
        open_loggers(OmegaConf.create({"logger": {"nope": {}}}), tmp_path, resumed=False)


@pytest.fixture(scope="module")
def tensorboard_run(tmp_path_factory) -> RunFolder:
    """One PPO smoke run with ``logger=tensorboard``, shared by the tests that read it."""
    results = tmp_path_factory.mktemp("tensorboard") / "results"
    cfg = compose_config(["budget=smoke", "eval.episodes=2", *SB3_RUN, "logger=tensorboard",
                          f"results_dir={results}"])  # fmt: skip
    run(cfg)
    return RunFolder(run_dir_of(cfg))


def test_csv_alone_writes_no_logger_folders(make_cfg):
    cfg = make_cfg(*GA_RUN)
    meta = run(cfg)
    folder = RunFolder(run_dir_of(cfg))
    assert meta["loggers"] == {"csv": {}}
    assert not folder.tensorboard.exists() and not folder.wandb.exists()


@needs_tensorboard
def test_tensorboard_events_hold_the_evaluations_against_frames_and_wall_clock(tensorboard_run):
    folder = tensorboard_run
    metrics = pd.read_csv(folder.metrics)
    by_wall, wall_ms = _assert_evals_mirror_metrics(folder, metrics)
    _assert_series(by_wall, "eval_by_wall_ms/frames", wall_ms, metrics["frames"])


@needs_tensorboard
def test_tensorboard_gets_stable_baselines3_own_training_scalars(tensorboard_run):
    folder = tensorboard_run
    sb3 = _events(folder.tensorboard / "sb3")
    assert {"train/loss", "train/value_loss", "rollout/ep_rew_mean"} <= set(sb3.Tags()["scalars"])
    hyper = json.loads(folder.meta.read_text())["hyperparameters"]
    rollout = hyper["n_steps"] * hyper["n_envs"]  # PPO dumps its scalars once per rollout
    steps = _steps(sb3, "time/fps")  # SB3's num_timesteps
    assert steps == list(range(rollout, steps[-1] + 1, rollout))
    assert steps[-1] == pd.read_csv(folder.metrics)["env_steps"].iloc[-1]


@needs_tensorboard
def test_tensorboard_gets_each_generation_row(make_cfg):
    cfg = make_cfg(*GA_RUN, "logger=tensorboard")
    run(cfg)
    folder = RunFolder(run_dir_of(cfg))
    generations = pd.read_csv(folder.generations)
    assert len(generations) >= 2
    by_frames = _events(folder.tensorboard / "frames")
    tags = set(by_frames.Tags()["scalars"])
    numeric = [c for c in generations.columns if c != "frames" and generations[c].notna().all()]
    assert {f"generation/{c}" for c in numeric if generations[c].dtype.kind in "if"} <= tags
    _assert_series(
        by_frames, "generation/generation", generations["frames"], generations["generation"]
    )
    by_wall = _events(folder.tensorboard / "wall_ms")
    wall_ms = [round(s * 1000) for s in generations["wall_seconds"]]
    assert _steps(by_wall, "generation_by_wall_ms/frames") == wall_ms


@needs_tensorboard
def test_overwrite_starts_the_logger_folders_afresh(make_cfg):
    run(make_cfg(*GA_RUN, "logger=tensorboard"))
    cfg = make_cfg(*GA_RUN, "logger=tensorboard", "overwrite=true")
    folder = RunFolder(run_dir_of(cfg))
    old = set(folder.tensorboard.rglob("events.out.tfevents.*"))
    assert run(cfg)["attempts"] == 1
    new = set(folder.tensorboard.rglob("events.out.tfevents.*"))
    assert old and new and not old & new  # the old run's events went with its record


@needs_tensorboard
def test_resumed_run_appends_events_and_hides_what_the_killed_attempt_logged(make_cfg, monkeypatch):
    cfg = make_cfg(*RESUMABLE, "logger=tensorboard")
    folder = RunFolder(run_dir_of(cfg))
    _crash_at_evaluation(monkeypatch, 4, RuntimeError("simulated kill"))
    with pytest.raises(RuntimeError, match="simulated kill"):
        run(cfg)
    first = _steps(_events(folder.tensorboard / "frames"), "eval/eval_return_mean")
    # A real resume is a later process. Within one second and one process, TensorBoard orders
    # the two attempts' event files by a writer counter compared as text ("10" < "9").
    time.sleep(1.1)

    meta = run(cfg)
    assert meta["status"] == "completed" and meta["attempts"] == 2
    metrics = pd.read_csv(folder.metrics)
    assert first == list(metrics["frames"][:3])
    assert 0 < meta["resumed_from_frames"] < first[-1]  # the first attempt's last row is stale
    for axis in ("frames", "wall_ms", "sb3"):
        assert len(list((folder.tensorboard / axis).glob("events.out.tfevents.*"))) == 2, axis

    _assert_evals_mirror_metrics(folder, metrics)
    sb3_steps = _steps(_events(folder.tensorboard / "sb3"), "train/loss")
    assert sb3_steps == sorted(set(sb3_steps))  # the stale updates are hidden, not doubled


# -- W&B ----------------------------------------------------------------------------------------
def _wandb_records(path: Path) -> Iterator[Any]:
    """The records of an offline ``run-<id>.wandb`` file (a LevelDB log of protobufs)."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, chunk = path.read_bytes(), 32768, 7, b""  # 7: the W&B file header
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        chunk += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(chunk)
            chunk = b""
            yield record


def _wandb_history(path: Path) -> tuple[str, list[dict[str, Any]]]:
    run_id, rows = "", []
    for record in _wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run_id = record.run.run_id
        elif kind == "history":
            items = record.history.item
            rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items})
    return run_id, rows


def _offline_runs(folder: RunFolder) -> list[Path]:
    return sorted(folder.wandb.glob("offline-run-*/run-*.wandb"))


@needs_wandb
def test_wandb_offline_run_keeps_its_id_across_a_resume(make_cfg, monkeypatch, tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))  # W&B must write nothing outside the run folder
    monkeypatch.chdir(cwd)
    for name in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_MODE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    cfg = make_cfg(*RESUMABLE, "logger=wandb")
    folder = RunFolder(run_dir_of(cfg))
    _crash_at_evaluation(monkeypatch, 4, Interrupted("signal SIGTERM"))
    with pytest.raises(Interrupted):
        run(cfg)
    first = json.loads(folder.meta.read_text())
    assert first["status"] == "interrupted"
    run_id = first["loggers"]["wandb"]["id"]
    assert first["loggers"]["wandb"]["mode"] == "offline"

    meta = run(cfg)
    assert meta["status"] == "completed" and meta["attempts"] == 2
    assert meta["loggers"]["wandb"]["id"] == run_id  # the same W&B run continues
    offline = _offline_runs(folder)
    assert [p.name for p in offline] == [f"run-{run_id}.wandb"] * 2

    (first_id, before), (resumed_id, after) = map(_wandb_history, offline)
    assert first_id == resumed_id == run_id
    metrics = pd.read_csv(folder.metrics)
    assert [row["frames"] for row in before] == list(metrics["frames"][:3])
    redone = metrics[metrics["frames"] > meta["resumed_from_frames"]]
    assert [row["frames"] for row in after] == list(redone["frames"])
    assert [row["eval/eval_return_mean"] for row in after] == pytest.approx(
        list(redone["eval_return_mean"])
    )
    assert [row["eval/wall_seconds"] for row in after] == pytest.approx(
        list(redone["wall_seconds"])
    )
    assert not [p for p in home.rglob("*") if "wandb" in str(p.relative_to(home))]
    assert not list(cwd.iterdir())


def _assert_evals_mirror_metrics(folder, metrics: pd.DataFrame):
    """The evaluation rows in TensorBoard against frames and against wall-clock milliseconds
    equal metrics.csv; returns the wall-clock events and steps for further checks."""
    by_frames = _events(folder.tensorboard / "frames")
    _assert_series(
        by_frames, "eval/eval_return_mean", metrics["frames"], metrics["eval_return_mean"]
    )
    _assert_series(by_frames, "eval/wall_seconds", metrics["frames"], metrics["wall_seconds"])
    by_wall = _events(folder.tensorboard / "wall_ms")
    wall_ms = [round(s * 1000) for s in metrics["wall_seconds"]]
    _assert_series(
        by_wall, "eval_by_wall_ms/eval_return_mean", wall_ms, metrics["eval_return_mean"]
    )
    return by_wall, wall_ms

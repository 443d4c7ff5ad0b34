"""Every SB3 algorithm runs end to end through the runner and writes complete records."""

from __future__ import annotations

import json
import tempfile

import pandas as pd
import pytest

from bench.envs import EnvFactory, EnvSpec, random_policy_return
from bench.interface import IncompatibleError
from bench.records import METRICS_COLUMNS, RunFolder
from bench.registry import algo_class, names
from bench.run import run, run_dir_of
from bench.sb3.adapter import SB3Algorithm

SB3_ALGOS = names(SB3Algorithm)

# A compatible env for each algorithm: discrete-only ones on CartPole, the rest on Pendulum.
ENV_FOR = {name: "cartpole" if "continuous" not in algo_class(name).action_kinds else "pendulum"
           for name in SB3_ALGOS}  # fmt: skip


@pytest.mark.parametrize("algo", SB3_ALGOS)
def test_sb3_algorithm_writes_complete_records(make_cfg, algo, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    # Off-policy continuous methods do a gradient step per frame: fewer frames keep it quick.
    frames = 600 if algo in ("sac", "td3", "ddpg") else 2000
    cfg = make_cfg(f"algo={algo}", f"env={ENV_FOR[algo]}", f"budget.frames={frames}")
    meta = run(cfg)
    folder = RunFolder(run_dir_of(cfg))
    assert meta["status"] == "completed" and folder.is_complete()
    summary = json.loads(folder.summary.read_text())
    assert summary["stop_reason"] == "frames"
    # Frames are counted exactly; SB3 stops as bare learn(n) does: on-policy methods finish
    # their rollout (n_envs * n_steps), off-policy ones their train_freq chunk, and
    # sb3-contrib's ARS its update (2 * n_delta episodes).
    hyper = meta["hyperparameters"]
    overshoot = {"ars": 2 * hyper.get("n_delta", 0) * 500,
                 "ppo": hyper["n_envs"] * hyper.get("n_steps", 2048),
                 "a2c": hyper["n_envs"] * hyper.get("n_steps", 5)}.get(
        algo, hyper["n_envs"] * hyper.get("train_freq", 1))  # fmt: skip
    assert cfg.budget.frames <= summary["frames"] < cfg.budget.frames + overshoot
    assert summary["policy_parameters"] > 0
    metrics = pd.read_csv(folder.metrics)
    assert list(metrics.columns) == METRICS_COLUMNS
    assert metrics["frames"].iloc[0] == 0 and metrics["frames"].is_monotonic_increasing
    assert metrics["frames"].iloc[-1] == summary["frames"]
    assert (metrics["eval_episodes"] == 2).all()
    meta = json.loads(folder.meta.read_text())
    for key in ("versions", "git", "machine", "started_at", "ended_at", "hyperparameters"):
        assert key in meta
    assert meta["machine"]["torch_threads"] >= 1 and meta["versions"]["stable-baselines3"]
    assert (folder.path / "config.yaml").exists()
    assert not folder.checkpoints.exists()  # removed on completion
    # SB3 would leave an empty SB3-<date> folder in the system temp folder per learn() call.
    assert not list((tmp_path / "tmp").glob("SB3-*"))


def test_ppo_learns_cartpole(make_cfg):
    """PPO (rl-zoo3 CartPole settings) goes from a poor start to near the 500 cap.

    Seed 1's untrained policy scores ~9; uniform random actions score ~22 with a 10-episode
    standard error of ~3, so a final mean above 300 is a margin of ~90 standard errors that
    no policy gets without learning.
    """
    cfg = make_cfg("algo=ppo", "env=cartpole", "seed=1", "budget.frames=25000",
                   "budget.eval_every_frames=5000", "eval.episodes=10")  # fmt: skip
    run(cfg)
    metrics = pd.read_csv(RunFolder(run_dir_of(cfg)).metrics)
    random_mean = random_policy_return(EnvFactory(EnvSpec("cartpole", "CartPole-v1", "classic")))
    assert random_mean < 40
    assert metrics["eval_return_mean"].iloc[0] < 100
    assert metrics["eval_return_mean"].iloc[-1] > max(300, 10 * random_mean)


@pytest.mark.parametrize(("algo", "env"), [("dqn", "pendulum"), ("sac", "cartpole"),
                                           ("td3", "cartpole"), ("ddpg", "pong")])  # fmt: skip
def test_incompatible_pair_is_refused_before_work(make_cfg, algo, env):
    cfg = make_cfg(f"algo={algo}", f"env={env}")
    with pytest.raises(IncompatibleError) as info:
        run(cfg)
    message = str(info.value)
    assert algo in message and env in message
    assert "actions" in message or "observations" in message
    assert not RunFolder(run_dir_of(cfg)).metrics.exists()


def test_incompatible_pair_in_sweep_is_recorded_skipped(make_cfg):
    cfg = make_cfg("algo=dqn", "env=pendulum")
    meta = run(cfg, in_sweep=True)
    assert meta["status"] == "skipped" and "continuous" in meta["reason"]
    assert RunFolder(run_dir_of(cfg)).status() == "skipped"


def test_user_override_beats_tuned_value(make_cfg):
    cfg = make_cfg("algo=dqn", "env=cartpole", "algo.params.learning_rate=0.0005")
    meta = run(cfg)
    assert meta["hyperparameters"]["learning_rate"] == 0.0005  # rl-zoo3 tuned: 0.0023
    assert meta["hyperparameters"]["train_freq"] == 256  # the rest stays tuned


def test_short_mujoco_run(make_cfg):
    cfg = make_cfg("algo=sac", "env=hopper", "budget.frames=600")
    meta = run(cfg)
    assert meta["status"] == "completed"
    summary = json.loads(RunFolder(run_dir_of(cfg)).summary.read_text())
    assert summary["env_id"] == "Hopper-v5" and summary["frames"] == 600

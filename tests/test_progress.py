"""Long runs show progress: plain log lines with frames, eval return and ETA off a terminal."""

from __future__ import annotations

import logging

import numpy as np

from bench.recorder import Progress


def test_progress_logs_plain_lines_when_not_a_terminal(caplog):
    progress = Progress(total_frames=1000, label="cartpole/ppo/seed=0", log_every_seconds=0.0)
    assert progress._bar is None  # pytest captures stderr: not a terminal
    with caplog.at_level(logging.INFO, logger="bench.recorder"):
        progress.update(250, eval_mean=42.5, wall=5.0)
    line = caplog.records[-1].getMessage()
    assert "250/1000 frames (25%)" in line and "eval 42.50" in line
    assert "50 frames/s" in line and "ETA 15s" in line


def test_progress_before_the_first_charge_says_eta_unknown(caplog):
    progress = Progress(total_frames=1000, label="cartpole/ppo/seed=0", log_every_seconds=0.0)
    with caplog.at_level(logging.INFO, logger="bench.recorder"):
        progress.update(0, eval_mean=None, wall=0.0)
    line = caplog.records[-1].getMessage()
    assert "ETA unknown" in line and "nan" not in line


def test_a_long_evaluation_logs_where_it_is(caplog):
    """A policy that never loses can spend an hour in one evaluation: it must not look hung."""
    from bench.envs import EnvFactory, EnvSpec, EvalProtocol
    from bench.evaluation import evaluate

    class Noop:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return np.zeros(len(observation), dtype=np.int64), None

    protocol = EvalProtocol(name="short", episodes=2, noop_max=0, max_episode_frames=400)
    factory = EnvFactory(EnvSpec("pong_ram", "ALE/Pong-v5", "atari_ram"), protocol)
    with caplog.at_level(logging.INFO, logger="bench.evaluation"):
        result = evaluate(Noop(), factory, log_every_seconds=0.0)
    lines = [r.getMessage() for r in caplog.records if r.name == "bench.evaluation"]
    assert len(lines) == result.lengths.sum() == 2 * 100  # every step, at log_every_seconds=0
    assert (
        lines[0] == "pong_ram: evaluating, episode 1/2 at step 1 (cap 100 steps), return so far 0.0"
    )
    assert lines[-1].startswith("pong_ram: evaluating, episode 2/2 at step 100 ")


def test_the_runs_progress_cadence_reaches_its_evaluations(tmp_path, caplog):
    """``progress.log_every_seconds`` sets the evaluation's lines too, not a default of its own."""
    from bench.budget import Budget, BudgetLimits
    from bench.envs import EnvFactory, EnvSpec, EvalProtocol
    from bench.recorder import Recorder
    from bench.records import RunFolder

    class Left:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return np.zeros(len(observation), dtype=np.int64), None

    factory = EnvFactory(EnvSpec("cartpole", "CartPole-v1", "classic"), EvalProtocol(episodes=1))
    budget = Budget(BudgetLimits(frames=100, eval_every_frames=50))
    progress = Progress(total_frames=100, label="cartpole/x/seed=0", log_every_seconds=0.0)
    recorder = Recorder(RunFolder(tmp_path), factory, budget, progress)
    with caplog.at_level(logging.INFO, logger="bench.evaluation"):
        result = recorder.evaluate(Left())
    lines = [r.getMessage() for r in caplog.records if r.name == "bench.evaluation"]
    # a line every step: the default cadence (LOG_EVERY_SECONDS, 30 s) would log none
    assert len(lines) == result.lengths.sum() > 0
    assert lines[0] == "cartpole: evaluating, episode 1/1 at step 1, return so far 1.0"


def test_the_runs_progress_cadence_reaches_its_generations(tmp_path, caplog):
    """A population run's rollouts log at ``progress.log_every_seconds`` too (in-process)."""
    from tests.algos.conftest import run_job

    with caplog.at_level(logging.INFO, logger="bench.population.slot_table"):
        meta, _ = run_job(
            tmp_path, "algo=csa_es", "env=cartpole", "budget.frames=300", "eval.episodes=1",
            "algo.params.backend=vector", "progress.log_every_seconds=0",
        )  # fmt: skip
    lines = [r.getMessage() for r in caplog.records if r.name == "bench.population.slot_table"]
    assert meta["status"] == "completed"
    assert lines and lines[0].startswith("cartpole: rollouts, 0/")

"""Long runs show progress: plain log lines with frames, eval return and ETA off a terminal."""

from __future__ import annotations

import logging

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

"""Shared fixtures: compose the real Hydra config and run jobs into a temporary results dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from bench import CONFIG_DIR as CONFIGS  # the packaged configs (bench/conf/)

BENCH = str(Path(sys.executable).with_name("bench"))


def compose_config(overrides: Sequence[str], with_hydra: bool = False) -> DictConfig:
    """The composed config; ``with_hydra``: with its ``hydra`` node (sweeper params)."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("bench", overrides=list(overrides), return_hydra_config=with_hydra)


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_cfg("algo=ppo", "env=cartpole")``: a composed config writing under tmp_path."""

    def make(*overrides: str) -> DictConfig:
        return compose_config(["budget=smoke", "eval.episodes=2", *overrides,
                               f"results_dir={tmp_path / 'results'}"])  # fmt: skip

    return make


def run_bench(args: Sequence[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed ``bench`` console script (the way users run it)."""
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    return subprocess.run(
        [BENCH, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def on_one_worker(backend: str) -> tuple[pytest.MarkDecorator, ...]:
    """Tests that start a Ray cluster run on one pytest-xdist worker (``--dist loadgroup``),
    so two local clusters never start side by side."""
    return (pytest.mark.xdist_group("ray"),) if backend == "ray" else ()

"""Fixtures for the gradient-free core: env factories, net specs and a runner helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra import compose, initialize_config_dir

from bench import CONFIG_DIR as CONFIGS
from bench.envs import EnvFactory, EnvSpec
from bench.population.networks import NetSpec
from bench.records import read_json
from bench.run import run

torch.set_num_threads(1)  # other jobs share the machine; small nets are fastest on one thread


def make_factory(name: str, env_id: str, family: str) -> EnvFactory:
    return EnvFactory(EnvSpec(name, env_id, family))


@pytest.fixture(scope="session")
def cartpole() -> EnvFactory:
    return make_factory("cartpole", "CartPole-v1", "classic")


@pytest.fixture(scope="session")
def pendulum() -> EnvFactory:
    return make_factory("pendulum", "Pendulum-v1", "classic")


def net_spec(factory: EnvFactory, kind: str = "mlp", **kwargs: Any) -> NetSpec:
    spec = factory.spec
    return NetSpec.for_env(kind, spec.observation_space, spec.action_space, spec.family, **kwargs)


def run_job(results: Path, *overrides: str) -> tuple[dict[str, Any], Path]:
    """Compose ``bench/conf/bench.yaml`` with overrides, run the job, return (meta, run folder)."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("bench", overrides=[*overrides, f"results_dir={results}"])
    meta = run(cfg)
    folder = results / cfg.experiment_name / cfg.env.name / cfg.algo.name / f"seed={cfg.seed}"
    return meta, folder


@pytest.fixture
def job(tmp_path: Path) -> Callable[..., tuple[dict[str, Any], Path]]:
    """``job("algo=ga", "env=cartpole", sub="a")``: run into ``tmp_path / sub``."""

    def go(*overrides: str, sub: str = "results") -> tuple[dict[str, Any], Path]:
        return run_job(tmp_path / sub, "eval.episodes=5", *overrides)

    return go


def summary(folder: Path) -> dict[str, Any]:
    return read_json(folder / "summary.json")


# The only columns allowed to differ between two runs of the same seed.
CLOCKS = frozenset({"wall_seconds", "cpu_seconds", "eval_wall_seconds"})


def table(path: Path) -> list[dict[str, str]]:
    """CSV rows without the clock columns."""
    import csv

    with path.open() as handle:
        return [{k: v for k, v in row.items() if k not in CLOCKS} for row in csv.DictReader(handle)]

"""Fixtures for the analysis tests: hand-written run folders (RESULTS.md) and a real sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

PROTOCOL = "default:ep2:det:seed1000000:noop30:sticky0:cap108000"
BENCH = str(Path(sys.executable).with_name("bench"))


def write_run(
    root: Path,
    env: str = "cartpole",
    env_id: str = "CartPole-v1",
    algo: str = "ppo",
    seed: int = 0,
    status: str = "completed",
    returns: list[float] | None = None,
    kind: str = "gradient",
    protocol: str = PROTOCOL,
    every: int = 1000,
    family: str = "classic",
    **meta_extra: Any,
) -> Path:
    """Write one run folder; ``returns`` are the evaluation means at frames 0, every, 2*every..."""
    path = root / "exp" / env / algo / f"seed={seed}"
    path.mkdir(parents=True, exist_ok=True)
    returns = [10.0, 100.0, 300.0] if returns is None else returns
    frames = np.arange(len(returns)) * every
    meta = {
        "experiment": "exp",
        "env": env,
        "env_id": env_id,
        "env_family": family,
        "algo": algo,
        "algo_kind": kind,
        "seed": seed,
        "budget": "smoke",
        "status": status,
        "eval_protocol": protocol,
        "frame_skip": 1,
        "budget_limits": {
            "frames": int(frames[-1]),
            "wall_seconds": None,
            "cpu_seconds": None,
            "eval_every_frames": every,
        },
        "versions": {"python": "3.11.7", "numpy": "2.4.6"},
        "git": {"commit": "abc"},
        **meta_extra,
    }
    (path / "meta.json").write_text(json.dumps(meta))
    if status == "skipped":
        return path
    wall = frames / 1000.0 + 0.01
    pd.DataFrame(
        {
            "frames": frames,
            "env_steps": frames,
            "episodes": frames // 20,
            "wall_seconds": wall,
            "cpu_seconds": wall * 0.9,
            "eval_return_mean": returns,
            "eval_return_std": 0.0,
            "eval_episodes": 2,
            "eval_protocol": protocol,
        }
    ).to_csv(path / "metrics.csv", index=False)
    if kind == "gradient_free":
        pd.DataFrame(
            {
                "generation": np.arange(len(returns)),
                "return_best": returns,
                "frames": frames,
                "env_steps": frames,
                "wall_seconds": wall,
                "cpu_seconds": wall,
            }
        ).to_csv(path / "generations.csv", index=False)
    if status == "completed":
        summary = {
            k: meta[k]
            for k in (
                "experiment",
                "env",
                "env_id",
                "algo",
                "algo_kind",
                "seed",
                "budget",
                "eval_protocol",
            )
        }
        summary.update(
            final_eval_return=returns[-1],
            final_eval_return_std=0.0,
            max_eval_return_optimistic=max(returns),
            evaluations=len(returns),
            frames=int(frames[-1]),
            env_steps=int(frames[-1]),
            wall_seconds=float(wall[-1]),
            cpu_seconds=float(wall[-1] * 0.9),
            generations=len(returns) if kind == "gradient_free" else 0,
            stop_reason="frames",
            policy_parameters=1000 if kind == "gradient" else 10,
        )
        (path / "summary.json").write_text(json.dumps(summary))
    return path


CANNOT = "algorithm '{a}' cannot act in env '{e}' ({e}): it supports {k} actions"


def write_sac_case(root: Path, failed_ppo: bool = False, every: int = 1000) -> None:
    """The demo's trap: SAC is best on Pendulum and cannot act on CartPole; DQN the reverse.

    Three seeds; GA and PPO run on both tasks (``failed_ppo``: PPO fails every CartPole seed).
    """
    pendulum = {"env": "pendulum", "env_id": "Pendulum-v1", "every": every}
    sac_skip = CANNOT.format(a="sac", e="cartpole", k="['continuous']")
    dqn_skip = CANNOT.format(a="dqn", e="pendulum", k="['discrete']")
    for seed in (0, 1, 2):
        for algo, final in {"ga": -900.0, "ppo": -1000.0, "sac": -150.0}.items():
            returns = [-1200.0, final - 50 * seed, final + 10 * seed]
            kind = "gradient_free" if algo == "ga" else "gradient"
            write_run(root, algo=algo, seed=seed, returns=returns, kind=kind, **pendulum)
        for algo, final in {"ga": 400.0, "ppo": 450.0, "dqn": 300.0}.items():
            status = "failed" if failed_ppo and algo == "ppo" else "completed"
            returns = [20.0, final / 2, final - 5 * seed]
            kind = "gradient_free" if algo == "ga" else "gradient"
            write_run(root, algo=algo, seed=seed, status=status, error="boom", returns=returns,
                      kind=kind, every=every)  # fmt: skip
        write_run(root, algo="sac", seed=seed, status="skipped", reason=sac_skip, every=every)
        write_run(root, algo="dqn", seed=seed, status="skipped", reason=dqn_skip, **pendulum)


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    return tmp_path / "results"


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny sweep made by the runner (test code may use bench; analysis may not)."""
    root = tmp_path_factory.mktemp("smoke")
    proc = subprocess.run(
        [BENCH, "-m", "suite=smoke", "algo=ppo,a2c", "seed=0,1", f"results_dir={root}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HYDRA_FULL_ERROR": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "smoke"

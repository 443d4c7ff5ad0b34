"""An installed package: the wheel runs from any folder, users add config folders, and a copy
that is not a git checkout records no commit.

The wheel test builds and installs offline: the wheel is built with this environment's
setuptools (no build isolation), and the fresh virtual environment reaches the project's
dependencies through a ``.pth`` line naming this environment's site-packages (a plain path: the
editable install's finder there is not activated), so ``bench`` itself comes from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bench import CONFIG_DIR
from bench.records import RunFolder, git_state, read_json
from tests.conftest import compose_config, run_bench

REPO = Path(__file__).resolve().parents[1]
# Generated or local-only folders: not part of a build.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", "results", "reports", "multirun", "outputs",
)  # fmt: skip

MY_PPO = """\
# My PPO: the packaged algo/ppo.yaml with a larger learning rate.
defaults:
  - /algo/ppo@_here_
  - _self_
params:
  learning_rate: 1.0e-3
"""
MY_EXP = """\
# @package _global_
defaults:
  - override /budget: smoke
experiment_name: my_exp
eval: {episodes: 2}
hydra:
  mode: MULTIRUN
  sweeper:
    params:
      algo: my_ppo,a2c
      env: cartpole
      seed: 0
"""


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the source tree (the build writes build/ and egg-info)."""
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-w", tmp_path / "wheel", src], cwd=tmp_path)  # fmt: skip
    (wheel,) = (tmp_path / "wheel").glob("neuroevo_bench-*.whl")
    return wheel


def test_wheel_installs_and_runs_from_an_empty_folder(tmp_path):
    """The wheel ships every config and the report's data: a smoke run and ``bench-report``
    work in an empty folder, outside the repository, and write there."""
    pytest.importorskip("setuptools")  # builds the wheel without network access
    wheel = _wheel(tmp_path)
    shipped = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"bench/conf/{p.relative_to(CONFIG_DIR)}" for p in CONFIG_DIR.rglob("*.yaml")}
    assert configs <= shipped
    assert {"analysis/conf/report.yaml", "analysis/data/env_references.csv"} <= shipped
    # Only the two packages: not tests/, benchmarks/ or tools/ (``bench*`` once matched benchmarks).
    assert {n.split("/")[0] for n in shipped if ".dist-info/" not in n} == {"bench", "analysis"}

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cwd=tmp_path).stdout.strip()  # fmt: skip
    (Path(site) / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          wheel], cwd=tmp_path)  # fmt: skip

    work = tmp_path / "work"  # an empty folder, outside the repository
    work.mkdir()
    where = json.loads(_run([python, "-c", "import json, bench, analysis, hydra; print(json.dumps("
                             "[bench.__file__, analysis.__file__, hydra.__file__]))"],
                            cwd=work).stdout)  # fmt: skip
    assert [Path(p).is_relative_to(site) for p in where] == [True, True, False], where

    _run([venv / "bin" / "bench", "algo=ppo", "env=cartpole", "budget=smoke"], cwd=work)
    folder = RunFolder(work / "results" / "default" / "cartpole" / "ppo" / "seed=0")
    assert folder.is_complete()
    assert (folder.path / "config.yaml").exists()
    meta = read_json(folder.meta)
    assert meta["status"] == "completed"
    assert meta["git"] == {"commit": None, "dirty": None, "reason": "not a git checkout"}
    assert meta["versions"]["neuroevo-bench"] == wheel.name.split("-")[1]

    _run([venv / "bin" / "bench-report", "results/default"], cwd=work)
    report = work / "reports" / "default"
    assert (report / "index.html").stat().st_size > 0
    assert (report / "report.md").stat().st_size > 0
    assert sorted(p.name for p in work.iterdir()) == ["reports", "results"]


@pytest.fixture
def my_configs(tmp_path: Path) -> Path:
    """A user's own config folder: a PPO variant and an experiment that sweeps it."""
    root = tmp_path / "my_configs"
    (root / "algo").mkdir(parents=True)
    (root / "experiment").mkdir()
    (root / "algo" / "my_ppo.yaml").write_text(MY_PPO)
    (root / "experiment" / "my_exp.yaml").write_text(MY_EXP)
    return root


def test_user_config_folder_on_the_searchpath_composes(my_configs):
    cfg = compose_config([f"hydra.searchpath=[file://{my_configs}]", "algo=my_ppo"])
    assert cfg.algo.name == "ppo"  # the registered algorithm; the folder of its records
    assert cfg.algo.params.learning_rate == 1e-3
    assert cfg.algo.params.n_steps is None  # the rest is the packaged ppo.yaml


def test_user_algo_by_searchpath_runs(tmp_path, my_configs):
    work = tmp_path / "work"
    work.mkdir()
    result = run_bench([f"hydra.searchpath=[file://{my_configs}]", "algo=my_ppo",
                        "env=cartpole", "budget=smoke", "eval.episodes=2"], cwd=work)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    folder = RunFolder(work / "results" / "default" / "cartpole" / "ppo" / "seed=0")
    assert folder.is_complete()
    assert read_json(folder.meta)["hyperparameters"]["learning_rate"] == 1e-3


def test_user_experiment_by_config_dir_sweeps(tmp_path, my_configs):
    """``--config-dir`` adds the folder for the sweep's own checks too (bench/validate.py)."""
    work = tmp_path / "work"
    work.mkdir()
    result = run_bench(["--config-dir", str(my_configs), "experiment=my_exp"], cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    results = work / "results" / "my_exp" / "cartpole"
    assert sorted(p.name for p in results.iterdir()) == ["a2c", "ppo"]
    assert RunFolder(results / "a2c" / "seed=0").is_complete()
    ppo = RunFolder(results / "ppo" / "seed=0")
    assert ppo.is_complete()
    assert read_json(ppo.meta)["hyperparameters"]["learning_rate"] == 1e-3


def test_user_algo_by_searchpath_sweeps(tmp_path, my_configs):
    args = ["-m", f"hydra.searchpath=[file://{my_configs}]", "algo=my_ppo,a2c", "env=cartpole",
            "budget=smoke", "eval.episodes=2"]  # fmt: skip
    result = run_bench(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_records_no_commit_outside_a_checkout(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None, "reason": "not a git checkout"}
    # An environment inside another project's repository: that repository's commit is not ours.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    site = tmp_path / ".venv" / "lib" / "site-packages"
    site.mkdir(parents=True)
    assert git_state(site)["reason"] == "not a git checkout"


def test_git_state_of_this_checkout_names_its_commit():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the tests do not run from a git checkout")
    assert git_state()["commit"] == head.stdout.strip()

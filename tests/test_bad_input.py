"""Every bad input is one line on stderr that names the setting, exit status 2, and no folder:
a config error is not a run (bench/validate.py checks where the config is composed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra._internal.logging_config as hydra_logging
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from bench.run import main

BASE = ("algo=ga", "env=cartpole", "budget=smoke")

# (command-line arguments, what the line must name)
BAD_INPUTS: list[tuple[tuple[str, ...], str]] = [
    (("budget.frames=-5",), "budget.frames=-5"),
    (("budget.frames=abc",), "budget.frames='abc'"),
    (("budget.frames=0",), "budget.frames=0"),
    (("budget.wall_seconds=-1",), "budget.wall_seconds=-1"),
    (("budget.cpu_seconds=abc",), "budget.cpu_seconds='abc'"),
    (("budget.eval_every_frames=-10",), "budget.eval_every_frames=-10"),
    (("seed=-1",), "seed=-1"),
    (("seed=x",), "seed='x'"),
    (("seed=1.5",), "seed=1.5"),
    (("eval.episodes=0",), "eval.episodes=0"),
    (("eval.episodes=-3",), "eval.episodes=-3"),
    (("eval.sticky_actions=abc",), "eval.sticky_actions='abc'"),
    (("eval.noop_max=-1",), "eval.noop_max=-1"),
    (("device=tpu",), "device='tpu'"),
    (("scale=0",), "scale=0"),
    (("scale=abc",), "scale='abc'"),
    (("torch_threads=-2",), "torch_threads=-2"),
    (("paper_score=nature2015",), "paper_score='nature2015'"),
    (("overwrite=maybe",), "overwrite='maybe'"),
    (("checkpoint.every_seconds=-1",), "checkpoint.every_seconds=-1"),
    (("env.id=NoSuchEnv-v0",), "env.id='NoSuchEnv-v0'"),
    (("env=nosuch",), "env/nosuch"),
    (("algo=nosuch",), "algo/nosuch"),
    (("budget=nosuch",), "budget/nosuch"),
    (("eval=nosuch",), "eval/nosuch"),
    (("no_such_setting=1",), "no_such_setting"),
    (("algo.params.no_such_knob=1",), "algo.params.no_such_knob"),
    (("algo.params.mutation_power=abc",), "algo.params.mutation_power='abc'"),
    (("algo.params.population_size=many",), "algo.params.population_size='many'"),
    (("algo.params.truncation=-1",), "algo.params: truncation (-1)"),
    (("algo=ppo", "algo.params.learning_rate=abc"), "algo.params.learning_rate='abc'"),
    (("algo=ppo", "algo.params.n_steps=2.5"), "algo.params.n_steps=2.5"),
    (("algo=ppo", "algo.params.learning_rate=lin_fast"), "lin_fast"),
    (("algo=dqn", "env=pendulum"), "cannot act"),
    (("algo.params.backend=ray", "algo.params.ray_address=127.0.0.1:1"), "ray_address"),
    (("--cfg", "nonsense"), "--cfg"),
]
# A sweep is checked job by job before any starts (``-m`` comes first on the command line).
BAD_SWEEPS: list[tuple[tuple[str, ...], str]] = [
    (("-m", "seed=0,-1"), "seed=-1"),
    (("-m", "algo=ga,ppo", "algo.params.population_size=abc"), "population_size"),
    (("-m", "env=cartpole,nosuch"), "env/nosuch"),
]


def keep_pytest_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in this process, Hydra's logging set-up would close every logging handler ever made,
    and absl's (imported by rliable in the analysis tests) closes its stream on close: pytest's
    capture of an earlier test, which breaks every test after it on the worker."""
    monkeypatch.setattr(hydra_logging, "configure_logging", lambda config: None)


@pytest.fixture
def bench_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``bench`` in this process; return (exit status, stderr lines)."""
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")  # main() sets it; restored after the test
    keep_pytest_logging(monkeypatch)

    def call(*args: str) -> tuple[int, list[str]]:
        GlobalHydra.instance().clear()
        monkeypatch.setattr(sys, "argv", ["bench", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        GlobalHydra.instance().clear()
        return exit_info.value.code, capsys.readouterr().err.strip().splitlines()

    return call


def _ids(value: object) -> str | None:
    return " ".join(value) if isinstance(value, tuple) else None


@pytest.mark.parametrize(("args", "named"), BAD_INPUTS + BAD_SWEEPS, ids=_ids)
def test_bad_input_is_one_line_and_no_run(
    bench_cli, tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    results = tmp_path / "results"
    sweep = args[:1] == ("-m",)  # the flag comes first on a command line
    argv = ("-m", *BASE, *args[1:]) if sweep else (*BASE, *args)
    code, lines = bench_cli(*argv, f"results_dir={results}")
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], lines
    assert not results.exists()


def test_cuda_without_a_gpu_is_refused(bench_cli, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: device=cuda is valid here")
    code, lines = bench_cli(*BASE, "device=cuda", f"results_dir={tmp_path / 'r'}")
    assert code == 2 and len(lines) == 1 and "torch sees no CUDA device" in lines[0]


def test_results_dir_under_a_file_is_refused(bench_cli, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    code, lines = bench_cli(*BASE, f"results_dir={tmp_path / 'a_file' / 'results'}")
    assert code == 2 and len(lines) == 1 and "results_dir=" in lines[0]
    assert "is a file" in lines[0]


def test_a_good_sweep_still_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The checks refuse nothing valid: an incompatible pair in a sweep is a skip."""
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    keep_pytest_logging(monkeypatch)
    argv = ["bench", "-m", "algo=ga,dqn", "env=pendulum", "budget=smoke", "budget.frames=300"]
    monkeypatch.setattr(sys, "argv", [*argv, f"results_dir={tmp_path}"])
    GlobalHydra.instance().clear()
    main()
    GlobalHydra.instance().clear()
    metas = {p.parent.parent.name: json.loads(p.read_text()) for p in tmp_path.rglob("meta.json")}
    assert metas["ga"]["status"] == "completed"
    assert metas["dqn"]["status"] == "skipped" and "cannot act" in metas["dqn"]["reason"]

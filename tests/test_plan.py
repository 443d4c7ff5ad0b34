"""``bench ... plan=true``: the jobs, frames and predicted cost of a run or sweep, printed
without training or making a folder, from rates that are calibrated once and cached.

Most tests inject rates (``bench.plan.calibrate`` replaced by a fake that counts its calls),
so they take seconds; ``test_real_calibration_gives_rates`` runs a tiny real calibration."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from bench.plan import calibrate as calibration
from bench.plan.model import balance, makespan
from bench.plan.planner import make_plan
from bench.plan.rates import Rates, Scaling
from bench.run import main
from tests.conftest import compose_config
from tests.test_bad_input import keep_pytest_logging

SWEEP = ("-m", "algo=es,ppo", "env=cartpole,pendulum", "seed=0,1,2", "budget=smoke")
FAKE = {"es": Rates(train_fps=20_000, eval_fps=5_000, population=40),
        "ppo": Rates(train_fps=2_000, eval_fps=4_000)}  # fmt: skip
CAPS = {"cartpole": 500, "pendulum": 200}  # their time limits


@pytest.fixture
def calibrations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Fake rates, a fresh cache under tmp_path; returns the jobs calibrated, in order."""
    calls: list[str] = []

    def fake(cfg: DictConfig, seconds: float) -> Rates:
        calls.append(f"{cfg.algo.name}/{cfg.env.name}")
        return replace(FAKE[cfg.algo.name], episode_cap_frames=CAPS[cfg.env.name])

    monkeypatch.setattr(calibration, "calibrate", fake)
    monkeypatch.setattr(calibration, "measure_scaling", lambda seconds: Scaling(0.9, 1.8))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return calls


@pytest.fixture
def bench_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``bench`` in this process; return (exit status, stdout, stderr)."""
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    keep_pytest_logging(monkeypatch)

    def call(*args: str) -> tuple[int, str, str]:
        GlobalHydra.instance().clear()
        monkeypatch.setattr(sys, "argv", ["bench", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        GlobalHydra.instance().clear()
        out = capsys.readouterr()
        return exit_info.value.code, out.out, out.err

    return call


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match is not None, (pattern, text)
    return float(match.group(1).replace(",", ""))


def test_sweep_plan_prints_jobs_and_frames_and_makes_no_folder(
    bench_cli, calibrations: list[str], tmp_path: Path
) -> None:
    results = tmp_path / "results"
    code, out, _ = bench_cli(*SWEEP, "plan=true", f"results_dir={results}")
    assert code == 0, out
    assert "12 jobs to run over 4 algo x env pairs, 0 skipped" in out
    assert _number(r"Frames: ([\d,]+) training", out) == 12 * 2_000  # smoke: 2,000 a job
    # evaluation: 1 + 2,000 / 1,000 evaluations x 10 episodes x the episode cap, per job
    assert _number(r"at most ([\d,]+) evaluation", out) == 3 * 3 * 10 * (500 + 200) * 2
    assert re.search(r"es\s+cartpole\s+3\s+1\s+2,000\s+6,000", out), out
    assert "Wall-clock on 1 core (" in out  # the basic launcher runs one job at a time
    assert sorted(calibrations) == ["es/cartpole", "es/pendulum", "ppo/cartpole", "ppo/pendulum"]
    assert not results.exists()


def test_cache_is_reused_and_recalibrate_measures_again(
    bench_cli, calibrations: list[str], tmp_path: Path
) -> None:
    args = (*SWEEP, "plan=true", f"results_dir={tmp_path / 'results'}")
    assert bench_cli(*args)[0] == 0
    assert len(calibrations) == 4
    code, out, _ = bench_cli(*args)
    assert code == 0 and len(calibrations) == 4  # nothing measured again
    assert "0 calibrated now (0.0 s), 4 from" in out
    assert (tmp_path / "cache" / "neuroevo-bench" / "rates.json").exists()
    assert bench_cli(*args, "plan.recalibrate=true")[0] == 0
    assert len(calibrations) == 8


def test_a_failed_plan_is_one_line_and_starts_nothing(
    bench_cli, calibrations: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(cfg: DictConfig, seconds: float) -> Rates:
        raise RuntimeError("no env here")

    monkeypatch.setattr(calibration, "calibrate", broken)
    results = tmp_path / "results"
    code, out, err = bench_cli(*SWEEP, "plan=true", f"results_dir={results}")
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1] == "error: the plan failed: no env here"
    assert not results.exists()  # Hydra would have turned the error into a warning and run


def _plan(calibrations: list[str], *overrides: str, jobs: int = 1):
    """make_plan of ``jobs`` seeds of one composed job (the callback's inputs)."""
    config = compose_config(["plan.run=true", *overrides], with_hydra=True)
    cfgs = [compose_config([*overrides, f"seed={s}"]) for s in range(jobs)]
    return make_plan(config, cfgs)


def test_predictions_scale_with_frames_and_cores(calibrations: list[str], tmp_path: Path) -> None:
    base = ("algo=ppo", "env=cartpole", "budget=smoke", f"results_dir={tmp_path}")
    small = _plan(calibrations, *base, "plan.cores=1", jobs=4)
    big = _plan(calibrations, *base, "plan.cores=1", "budget.frames=4000", jobs=4)
    train = [sum(c.train_core_seconds for c in p.costs) for p in (small, big)]
    assert train[1] == pytest.approx(2 * train[0])  # PPO: 2,000 frames a core-second
    assert train[0] == pytest.approx(4 * 2_000 / 2_000)
    wide = _plan(calibrations, *base, "plan.cores=4", jobs=4)
    assert small.slots == 1 and wide.slots == 4
    assert small.wall_seconds == pytest.approx(sum(c.wall_seconds for c in small.costs))
    assert wide.wall_seconds == pytest.approx(max(c.wall_seconds for c in wide.costs))
    assert wide.wall_seconds < small.wall_seconds / 3
    # side by side, a core does 0.9 of a lone core's work (the faked two-worker measurement)
    assert sum(c.train_core_seconds for c in wide.costs) == pytest.approx(train[0] / 0.9)


def test_a_population_run_splits_its_generation_over_the_cores(
    calibrations: list[str], tmp_path: Path
) -> None:
    base = ("algo=es", "env=cartpole", "budget=smoke", f"results_dir={tmp_path}")
    one = _plan(calibrations, *base).costs[0]
    many = _plan(calibrations, *base, "plan.cores=16").costs[0]
    assert (one.cores, many.cores) == (1, 16)
    # 40 genomes over 16 workers: the busiest has 3, the mean 2.5; two workers ran at 0.9
    assert many.train_core_seconds == pytest.approx(one.train_core_seconds / 0.9)
    expected = many.train_core_seconds / (16 * 2.5 / 3)
    assert many.train_wall_seconds == pytest.approx(expected)


def test_makespan_follows_the_sweep_order() -> None:
    assert makespan([1, 1, 2], slots=2) == 3  # the 2 waits for a free slot
    assert makespan([2, 1, 1], slots=2) == 2  # longest first
    assert makespan([5], slots=720) == 5
    assert balance(Rates(1, 1, population=1000).rounds(), 720) == pytest.approx(1000 / 720 / 2)
    # the Deep GA: 1,000 children, then 10 elite candidates x 30 episodes, each on one worker
    deep_ga = Rates(1, 1, population=1000, validation_genomes=10, validation_episodes=30)
    assert balance(deep_ga.rounds(), 720) == pytest.approx(1300 / 720 / (2 + 30))
    assert balance(deep_ga.rounds(), 1) == 1.0


def test_rates_invert_with_a_warmup() -> None:
    rates = Rates(train_fps=50, eval_fps=1, warmup_fps=5_000, warmup_frames=10_000)
    assert rates.train_core_seconds(10_000) == pytest.approx(2)
    assert rates.train_core_seconds(15_000) == pytest.approx(102)
    assert rates.frames_in(102) == pytest.approx(15_000)


@pytest.mark.parametrize("algo", ["ga", "ppo", "dqn"])
def test_real_calibration_gives_rates(algo: str) -> None:
    rates = calibration.calibrate(compose_config([f"algo={algo}", "env=cartpole"]), 0.1)
    assert math.isfinite(rates.train_fps) and rates.train_fps > 0
    assert math.isfinite(rates.eval_fps) and rates.eval_fps > 0
    assert rates.episode_cap_frames == 500  # CartPole-v1's time limit
    assert rates.warmup_frames == (1_000 if algo == "dqn" else 0)  # rl-zoo3's learning_starts
    assert (rates.population > 0) == (algo == "ga")
    if algo == "ga":  # its classic tuning: 5 elite candidates x 5 validation episodes
        assert rates.rounds() == [(50, 1), (5, 5)]

"""The contract every registered algorithm keeps, checked for every entry of the registry.

Nothing here names an algorithm: each declares next to itself (``Algorithm.contract``) the
small settings these runs use, the task it claims to solve, the settings it must refuse and
whether it resumes exactly. Registering a new algorithm is enough to have it checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import pytest

from bench.envs import EnvFactory
from bench.interface import Algorithm, ConfigError
from bench.recorder import Recorder
from bench.records import METRICS_COLUMNS, SCHEMA_VERSION
from bench.registry import ALGOS, build, names
from tests.algos.conftest import run_job, summary, table
from tests.conftest import on_one_worker

ALL = names()
CLASSES: dict[str, type[Algorithm]] = {name: ALGOS[name] for name in ALL}


def declared(field: str) -> list[str]:
    """Algorithms whose contract sets ``field`` (truthy)."""
    return [n for n in ALL if getattr(CLASSES[n].contract, field)]


def env_for(name: str) -> str:
    return "cartpole" if "discrete" in CLASSES[name].action_kinds else "pendulum"


def override(key: str, value: Any) -> str:
    return f"algo.params.{key}={json.dumps(value) if not isinstance(value, str) else value}"


def contract_args(name: str, *extra: str) -> list[str]:
    """A small run of ``name`` as its contract declares it."""
    contract = CLASSES[name].contract
    return [
        f"algo={name}", f"env={env_for(name)}", "budget=smoke", "eval.episodes=2",
        f"budget.frames={contract.frames}", f"budget.eval_every_frames={contract.frames // 4}",
        *(override(k, v) for k, v in contract.params.items()), *extra,
    ]  # fmt: skip


class StepCounter(gym.Wrapper):
    """Counts every step of a training-form env (shared counter across envs)."""

    counts: ClassVar[dict[str, int]] = {"steps": 0}

    def step(self, action):
        StepCounter.counts["steps"] += 1
        return self.env.step(action)


@pytest.fixture(scope="module")
def first_runs(tmp_path_factory) -> Callable[[str], tuple[dict[str, Any], Path, int]]:
    """Each algorithm's contract run, once per module: (meta, folder, training steps taken)."""
    cache: dict[str, tuple[dict[str, Any], Path, int]] = {}
    root = tmp_path_factory.mktemp("contract")

    def get(name: str) -> tuple[dict[str, Any], Path, int]:
        if name not in cache:
            original = EnvFactory.make

            def counted(self, seed=None, train=True, **kwargs):
                env = original(self, seed, train, **kwargs)
                return StepCounter(env) if train else env

            StepCounter.counts["steps"] = 0
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(EnvFactory, "make", counted)
                meta, folder = run_job(root / name, *contract_args(name))
            cache[name] = meta, folder, StepCounter.counts["steps"]
        return cache[name]

    return get


@pytest.mark.parametrize("name", ALL)
def test_every_training_step_is_charged(first_runs, name: str) -> None:
    """Every env step taken in training form (elite validation included) is on the budget."""
    meta, folder, steps = first_runs(name)
    result = summary(folder)
    assert meta["status"] == "completed"
    assert steps > 0 and result["env_steps"] == steps
    assert result["frames"] == steps  # classic control: one frame a step
    assert result["frames"] >= CLASSES[name].contract.frames


@pytest.mark.parametrize("name", ALL)
def test_records_are_complete(first_runs, name: str) -> None:
    meta, folder, _ = first_runs(name)
    assert meta["schema_version"] == SCHEMA_VERSION and meta["algo"] == name
    assert meta["algo_kind"] == CLASSES[name].kind in ("gradient", "gradient_free")
    assert set(meta["hyperparameters"]) == set(CLASSES[name].hyperparameter_names())
    for key in ("versions", "git", "machine", "started_at", "ended_at", "env_observation"):
        assert meta[key] is not None, key
    result = summary(folder)
    assert result["stop_reason"] == "frames" and result["policy_parameters"] > 0
    rows = table(folder / "metrics.csv")
    assert list(rows[0]) == [c for c in METRICS_COLUMNS if c not in ("wall_seconds",
                             "cpu_seconds", "eval_wall_seconds")]  # fmt: skip
    assert int(rows[0]["frames"]) == 0 and int(rows[-1]["frames"]) == result["frames"]
    assert (folder / "config.yaml").exists() and not (folder / "checkpoints").exists()
    if CLASSES[name].kind == "gradient_free" and (folder / "generations.csv").exists():
        assert int(table(folder / "generations.csv")[-1]["env_steps"]) == result["env_steps"]


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_run(first_runs, tmp_path, name: str) -> None:
    _, first, _ = first_runs(name)
    again = run_job(tmp_path / "again", *contract_args(name))[1]
    other = run_job(tmp_path / "other", *contract_args(name, "seed=1"))[1]
    tables = [n for n in ("generations.csv", "metrics.csv") if (first / n).exists()]
    for table_name in tables:
        assert table(again / table_name) == table(first / table_name)
    assert any(table(other / n) != table(first / n) for n in tables)


@pytest.mark.parametrize("name", declared("exact_resume"))
def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path, monkeypatch, name) -> None:
    """Killed after two generations (after their work, before their rows land: the worst
    point), resumed from the checkpoint, a run writes the same tables as an uninterrupted one."""
    args = [*contract_args(name), "checkpoint.every_frames=1"]
    whole = run_job(tmp_path / "whole", *args)[1]
    assert len(table(whole / "generations.csv")) >= 3
    original = Recorder.log_generation

    def crash(self: Recorder, row: Any) -> None:
        if len(self.generation_rows) == 2:
            raise RuntimeError("simulated kill")
        original(self, row)

    monkeypatch.setattr(Recorder, "log_generation", crash)
    with pytest.raises(RuntimeError, match="simulated kill"):
        run_job(tmp_path / "resumed", *args)
    monkeypatch.setattr(Recorder, "log_generation", original)
    meta, resumed = run_job(tmp_path / "resumed", *args)
    assert meta["status"] == "completed" and meta["attempts"] == 2
    assert meta["resumed_from_frames"] > 0  # from the checkpoint, not from scratch
    for table_name in ("generations.csv", "metrics.csv"):
        assert table(resumed / table_name) == table(whole / table_name)
    assert summary(resumed)["final_eval_return"] == summary(whole)["final_eval_return"]


@pytest.mark.parametrize("name", [n for n in ALL if not CLASSES[n].contract.exact_resume])
def test_crashed_run_resumes_from_its_checkpoint(tmp_path, monkeypatch, name) -> None:
    """Methods that cannot resume bit for bit still continue from their last checkpoint."""
    frames = CLASSES[name].contract.frames
    args = [*contract_args(name), f"checkpoint.every_frames={frames // 4}"]
    original = Recorder.evaluate

    def crash(self: Recorder, policy: Any) -> Any:
        if len(self.rows) == 3:
            raise RuntimeError("simulated kill")
        return original(self, policy)

    monkeypatch.setattr(Recorder, "evaluate", crash)
    with pytest.raises(RuntimeError, match="simulated kill"):
        run_job(tmp_path, *args)
    monkeypatch.setattr(Recorder, "evaluate", original)
    meta, folder = run_job(tmp_path, *args)
    assert meta["status"] == "completed" and meta["attempts"] == 2
    assert meta["resumed_from_frames"] > 0 and summary(folder)["frames"] >= frames


@pytest.mark.parametrize(
    ("name", "backend"),
    [pytest.param(n, b, marks=on_one_worker(b)) for n in ALL for b in CLASSES[n].contract.backends],
)
def test_backends_give_the_vector_run(tmp_path, name: str, backend: str) -> None:
    """Training, validation, caches and routing are backend-independent (workers: 2)."""
    same = [override(k, v) for k, v in CLASSES[name].contract.backend_params.items()]
    vector = run_job(tmp_path / "vector", *contract_args(name, *same))[1]
    other = run_job(tmp_path / backend, *contract_args(
        name, *same, f"algo.params.backend={backend}", "algo.params.workers=2"))[1]  # fmt: skip
    for table_name in ("generations.csv", "metrics.csv"):
        assert table(other / table_name) == table(vector / table_name)


@pytest.mark.parametrize(
    ("name", "bad"),
    [(n, b) for n in ALL for b in (*CLASSES[n].contract.bad_params, {"no_such_knob": 1})],
    ids=lambda x: x if isinstance(x, str) else ",".join(f"{k}={v}" for k, v in x.items()),
)
def test_nonsense_settings_are_config_errors(name: str, bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        build(name, bad)


@pytest.mark.parametrize("name", declared("solves"))
def test_solves_its_declared_task(tmp_path, name: str) -> None:
    """With its shipped config, an evaluation reaches the declared threshold within the
    declared frames (the figures sit next to the algorithm: ``contract.solves``)."""
    contract = CLASSES[name].contract
    assert contract.solves is not None
    env, frames, threshold = contract.solves
    meta, folder = run_job(
        tmp_path, f"algo={name}", f"env={env}", f"budget.frames={frames}",
        f"budget.eval_every_frames={frames // 20}", "eval.episodes=5",
        *(override(k, v) for k, v in contract.solve_params.items()),
    )  # fmt: skip
    assert meta["status"] == "completed"
    reached = [int(r["frames"]) for r in table(folder / "metrics.csv")
               if float(r["eval_return_mean"]) >= threshold]  # fmt: skip
    assert reached and reached[0] <= frames

"""Every config composes, config groups mirror the registry, and bad names list the choices."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bench.envs import EnvSpec
from bench.families import FAMILIES
from bench.interface import ConfigError
from bench.registry import ALGOS, algo_class, build
from bench.run import algorithm_params
from tests.conftest import CONFIGS, compose_config, run_bench

ENV_NAMES = sorted(p.stem for p in (CONFIGS / "env").glob("*.yaml"))
ALGO_NAMES = sorted(p.stem for p in (CONFIGS / "algo").glob("*.yaml"))
SUITES = sorted(p.stem for p in (CONFIGS / "suite").glob("*.yaml"))


def test_algo_configs_mirror_the_registry():
    algo_class("ppo")  # loads every algorithm module
    assert set(ALGO_NAMES) == set(ALGOS)


@pytest.mark.parametrize("algo", ALGO_NAMES)
def test_algo_params_are_the_constructor_parameters(algo):
    """Every knob is listed (so ``algo.params.x=...`` needs no ``+``) and none is invented."""
    cfg = compose_config([f"algo={algo}"])
    assert sorted(cfg.algo.params) == sorted(ALGOS[algo].hyperparameter_names())


@pytest.mark.parametrize("budget", sorted(p.stem for p in (CONFIGS / "budget").glob("*.yaml")))
def test_budgets_cover_exactly_the_env_families(budget):
    assert set(OmegaConf.load(CONFIGS / "budget" / f"{budget}.yaml").by_family) == set(FAMILIES)


@pytest.mark.parametrize("algo", ALGO_NAMES)
def test_tuned_entries_name_families_or_env_ids(algo):
    """``tuned`` keys are merged by name (bench/registry.py resolve_params): a typo is silent."""
    env_ids = {OmegaConf.load(p).id for p in (CONFIGS / "env").glob("*.yaml")}
    tuned = compose_config([f"algo={algo}"]).algo.get("tuned") or {}
    assert set(tuned) <= {"default", *FAMILIES, *env_ids}


def test_env_configs_name_known_families():
    used = {OmegaConf.load(p).family for p in (CONFIGS / "env").glob("*.yaml")}
    assert used == set(FAMILIES)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_env_config_builds_a_spec(env):
    cfg = compose_config([f"env={env}"])
    spec = EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))
    assert spec.name == env
    assert spec.action_kind in ("discrete", "continuous")
    assert spec.observation_kind == ("image" if spec.family == "atari" else "vector")
    assert cfg.budget.frames > 0  # the budget resolves for every env family


@pytest.mark.parametrize("algo", ALGO_NAMES)
@pytest.mark.parametrize("env", ["cartpole", "pendulum"])
def test_every_algo_config_builds(algo, env):
    cfg = compose_config([f"algo={algo}", f"env={env}"])
    params = algorithm_params(cfg, EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True)))
    assert build(algo, params).hyperparameters() is not None


@pytest.mark.parametrize("suite", SUITES)
def test_every_suite_sets_a_sweep(suite):
    cfg = compose_config([f"suite={suite}"])  # compose() drops the hydra node: see next test
    assert cfg.experiment_name == suite


def test_suites_name_only_existing_envs():
    for path in (CONFIGS / "suite").glob("*.yaml"):  # composed: a suite may inherit its sweep
        params = compose_config([f"suite={path.stem}"], with_hydra=True).hydra.sweeper.params
        assert set(str(params.env).split(",")) <= set(ENV_NAMES), path.name


def test_unknown_algorithm_lists_valid_choices():
    with pytest.raises(ConfigError, match=r"valid choices: .*ppo"):
        algo_class("nope")


@pytest.mark.parametrize("override", ["env=nope", "algo=nope"])
def test_unknown_name_on_command_line_lists_choices(tmp_path: Path, override):
    result = run_bench([override, f"results_dir={tmp_path}"], cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "Available options" in result.stderr
    assert ("cartpole" if override.startswith("env") else "ppo") in result.stderr


def test_unknown_hyperparameter_is_a_config_error():
    with pytest.raises(ConfigError, match=r"PPO has no hyperparameter.*learning_rat"):
        build("ppo", {"learning_rat": 1e-3})


def test_bad_budget_is_refused(make_cfg):
    from bench.run import run

    with pytest.raises(ValueError, match=r"budget\.frames must be > 0"):
        run(make_cfg("budget.frames=0"))

"""Every paper experiment (bench/conf/experiment/) composes with its paper's budgets, seeds,
protocol and scoring rule, and ``scale`` shrinks budgets only, recorded in every record."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bench.envs import EvalProtocol
from bench.paper_scores import RULES
from bench.registry import names
from bench.run import scaled_limits
from tests.algos.conftest import run_job
from tests.conftest import CONFIGS, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
ENVS = {p.stem for p in (CONFIGS / "env").glob("*.yaml")}


def sweep(name: str) -> dict[str, list[str]]:
    params = OmegaConf.load(CONFIGS / "experiment" / f"{name}.yaml").hydra.sweeper.params
    return {k: str(v).split(",") for k, v in params.items()}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_for_each_of_its_jobs(name: str) -> None:
    grid = sweep(name)
    assert set(grid["algo"]) <= set(names()) and set(grid["env"]) <= ENVS
    for algo in grid["algo"]:
        for env in grid["env"][:2] + grid["env"][-1:]:
            cfg = compose_config([f"experiment={name}", f"algo={algo}", f"env={env}"])
            assert cfg.experiment_name == name and cfg.budget.frames > 0
            assert cfg.paper_score in (None, *RULES)
            EvalProtocol(**OmegaConf.to_container(cfg.eval, resolve=True))


def test_wong_experiments_carry_their_budgets_seeds_and_protocol() -> None:
    expected = {("wong2024_classic", "cartpole"): 500_000, ("wong2024_classic", "bipedalwalker"):
                2_000_000, ("wong2024_mujoco", "hopper"): 1_000_000, ("wong2024_mujoco", "ant"):
                10_000_000, ("wong2024_atari_ram", "pong_ram"): 80_000_000}  # fmt: skip
    for (name, env), frames in expected.items():
        cfg = compose_config([f"experiment={name}", "algo=csa_es", f"env={env}"])
        assert cfg.budget.frames == frames and cfg.paper_score == "wong2024"
        assert cfg.eval.episodes == 10 and cfg.eval.noop_max == 0
        assert cfg.seeds_per_algo.default == 10 and cfg.seeds_per_algo.get("ppo") == 5
        assert sweep(name)["seed"] == ["range(0", "10)"]  # 10 seeds swept, baselines skip 5-9


def test_such_experiment_is_the_papers_protocol() -> None:
    cfg = compose_config(["experiment=such2017_atari13", "algo=ga", "env=frostbite"])
    assert cfg.budget.frames == 1_000_000_000 and cfg.paper_score == "such2017"
    assert cfg.eval.episodes == 200 and cfg.eval.max_episode_frames == 400_000
    assert len(sweep("such2017_atari13")["env"]) == 13


def test_scale_shrinks_the_budget_only_and_is_recorded(tmp_path: Path) -> None:
    meta, folder = run_job(
        tmp_path, "experiment=wong2024_classic", "algo=csa_es", "env=cartpole", "scale=0.004",
        "seed=0", "eval.episodes=3", "hydra.mode=RUN",
    )  # fmt: skip
    assert meta["status"] == "completed" and meta["scale"] == 0.004
    assert meta["budget_limits"]["frames"] == 2_000  # 500k x 0.004
    assert meta["hyperparameters"]["sigma0"] == 0.1 and meta["hyperparameters"]["popsize"] == 4
    summary = (folder / "summary.json").read_text()
    assert '"scale": 0.004' in summary and '"paper_score_rule": "Wong' in summary
    # The rule's text names the run's own test episodes beside the paper's.
    assert "test episodes (3; the paper's 10)" in summary
    assert (folder / "paper_scores.csv").exists()


@pytest.mark.parametrize(
    ("scale", "frames", "eval_every"),
    [(1.0, 500_000, 10_000), (0.5, 250_000, 10_000), (0.1, 50_000, 5_000), (0.02, 10_000, 1_000)],
)
def test_scaled_budgets_evaluate_fewer_times(scale: float, frames: int, eval_every: int) -> None:
    """50 points at the paper's budget; scaled, the points shrink with it, down to 10."""
    cfg = compose_config(["experiment=wong2024_classic", "algo=csa_es", "env=cartpole",
                          f"scale={scale}"])  # fmt: skip
    limits = scaled_limits(cfg)
    assert (limits.frames, limits.eval_every_frames) == (frames, eval_every)


def test_seeds_beyond_the_papers_count_are_recorded_skipped(tmp_path: Path) -> None:
    meta, _ = run_job(
        tmp_path, "experiment=wong2024_classic", "algo=ppo", "env=cartpole", "scale=0.004",
        "seed=7", "hydra.mode=RUN",
    )  # fmt: skip
    assert meta["status"] == "skipped" and "5 seeds of ppo" in meta["reason"]

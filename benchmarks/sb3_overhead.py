"""Benchmark 4: stable-baselines3 adapter overhead, bare SB3 vs the same run through the harness.

Both sides build the same DummyVecEnv of Monitor-wrapped envs, the same model with the same
hyperparameters and seed, and train for the same number of steps; the harness adds its
callback (budget charging, evaluation check, checkpoint check). Evaluation and checkpoints
are off on both sides: the harness's training clock (``summary.json: wall_seconds``, which
starts before the env and model are built) is compared with the bare side's
construct-plus-learn time. Cases alternate A/B and the median of ``--repeats`` is reported.

    python benchmarks/sb3_overhead.py            # ~2 minutes on 2 cores
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, timed, write

from bench import CONFIG_DIR
from bench.envs import EnvFactory, EnvSpec
from bench.registry import algo_class, build, resolve_params
from bench.run import run
from bench.sb3.adapter import SB3Algorithm

CASES = [("ppo", "cartpole"), ("dqn", "cartpole")]


def _cfg(algo: str, env: str, steps: int, results: Path):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("bench", overrides=[
            f"algo={algo}", f"env={env}", f"budget.frames={steps}", "budget.eval_every_frames=0",
            "eval.episodes=1", "checkpoint.every_frames=0", "checkpoint.every_seconds=null",
            f"results_dir={results}", "overwrite=true",
        ])  # fmt: skip


def bare(cfg, steps: int) -> float:
    """Seconds for SB3 alone: build the same venv and model, learn ``steps``."""
    spec = EnvSpec(**OmegaConf.to_container(cfg.env, resolve=True))
    params = resolve_params(OmegaConf.to_container(cfg.algo.tuned), {}, spec.family, spec.id)
    adapter: SB3Algorithm = build(cfg.algo.name, params)  # only to reuse its kwargs conversion
    factory = EnvFactory(spec)

    def go() -> None:
        venv = DummyVecEnv(
            [lambda i=i: Monitor(factory.make(seed=i)) for i in range(adapter.n_envs)]
        )
        model = algo_class(cfg.algo.name).sb3_class(
            adapter.policy or "MlpPolicy", venv, seed=0, device="cpu", **adapter._kwargs(venv)
        )
        # No outputs, as the adapter sets: the same (negligible) logging work, and no empty
        # SB3-<date> folder left in the system temp folder per call.
        model.set_logger(Logger(folder=None, output_formats=[]))
        model.learn(total_timesteps=steps)

    return timed(go)


def harness(cfg) -> float:
    run(cfg)
    summary = Path(cfg.results_dir) / "default" / cfg.env.name / cfg.algo.name / "seed=0"
    return json.loads((summary / "summary.json").read_text())["wall_seconds"]


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    steps = 2_000 if args.tiny else 30_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for algo, env in CASES:
            cfg = _cfg(algo, env, steps, Path(tmp))
            warm = _cfg(algo, env, 500, Path(tmp))  # first calls pay torch/SB3 warm-up
            bare(warm, 500), harness(warm)
            bare_s, harness_s = [], []
            for _ in range(1 if args.tiny else args.repeats):  # interleaved A/B
                bare_s.append(bare(cfg, steps))
                harness_s.append(harness(cfg))
            b, h = sorted(bare_s)[len(bare_s) // 2], sorted(harness_s)[len(harness_s) // 2]
            # Run-to-run spread of the bare side: an overhead inside it is not resolved.
            spread = 100 * (max(bare_s) - min(bare_s)) / b
            rows.append({
                "algo": algo, "env": env, "steps": steps,
                "bare_steps_per_s": steps / b, "harness_steps_per_s": steps / h,
                "harness_over_bare": b / h, "overhead_pct": 100 * (h / b - 1),
                "bare_spread_pct": spread, "bare_s": bare_s, "harness_s": harness_s,
            })  # fmt: skip
    print(table(rows, ["algo", "env", "steps", "bare_steps_per_s", "harness_steps_per_s",
                       "harness_over_bare", "overhead_pct", "bare_spread_pct"]))  # fmt: skip
    write("sb3_overhead", rows, args.out, target="overhead_pct <= 3")


if __name__ == "__main__":
    main()

"""Budgets stop on frames, wall-clock and CPU; Atari frames count the frame skip; envs differ
between training and evaluation exactly where the protocol says."""

from __future__ import annotations

import json
import time

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from stable_baselines3.common.atari_wrappers import ClipRewardEnv, EpisodicLifeEnv

from bench.budget import Budget, BudgetLimits
from bench.envs import EnvFactory, EnvSpec, EvalProtocol
from bench.records import RunFolder
from bench.run import run, run_dir_of


def _has_wrapper(env: gym.Env, cls: type) -> bool:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, cls):
            return True
        env = env.env
    return False


def test_budget_stops_on_frames_with_frame_skip():
    budget = Budget(BudgetLimits(frames=100), frame_skip=4)
    budget.charge(24)
    assert budget.frames == 96 and budget.exhausted() is None
    budget.charge(1, episodes=1)
    assert budget.exhausted() == "frames" and budget.episodes == 1


def test_budget_clock_pauses_during_evaluation():
    budget = Budget(BudgetLimits(frames=10, wall_seconds=100))
    budget.pause()
    time.sleep(0.2)
    budget.resume()
    assert budget.wall_seconds() < 0.15


def test_run_stops_on_wall_clock(make_cfg):
    cfg = make_cfg("algo=ppo", "env=cartpole", "budget.frames=100000000",
                   "budget.wall_seconds=3", "budget.eval_every_frames=0")  # fmt: skip
    started = time.perf_counter()
    meta = run(cfg)
    assert meta["stop_reason"] == "wall_seconds"
    summary = json.loads(RunFolder(run_dir_of(cfg)).summary.read_text())
    assert 3 <= summary["wall_seconds"] < 6
    assert time.perf_counter() - started < 30
    assert summary["frames"] < 100_000_000


def test_run_stops_on_cpu_seconds(make_cfg):
    cfg = make_cfg("algo=a2c", "env=cartpole", "budget.frames=100000000",
                   "budget.cpu_seconds=2", "budget.eval_every_frames=0")  # fmt: skip
    meta = run(cfg)
    assert meta["stop_reason"] == "cpu_seconds"


def test_atari_frames_count_the_frame_skip(make_cfg):
    """4,000 emulator frames = 1,000 agent steps; evaluation reports unclipped scores."""
    cfg = make_cfg("algo=ppo", "env=pong", "budget.frames=4000", "algo.params.n_envs=2",
                   "algo.params.n_steps=64", "algo.params.batch_size=64",
                   "budget.eval_every_frames=0", "eval.episodes=1",
                   "eval.max_episode_frames=2000")  # fmt: skip
    run(cfg)
    folder = RunFolder(run_dir_of(cfg))
    summary = json.loads(folder.summary.read_text())
    assert summary["frames"] == 4 * summary["env_steps"]
    # SB3 ends frame budgets as bare learn() does: PPO finishes its 2 x 64-step rollout.
    assert summary["frames"] >= 4000 and summary["env_steps"] <= 1000 + 2 * 64
    metrics = pd.read_csv(folder.metrics)
    # Eval episodes are capped at 2,000 emulator frames = 500 agent steps.
    assert metrics["eval_frames"].iloc[-1] <= 2 * 2000


def test_atari_training_wrappers_only_in_training():
    factory = EnvFactory(EnvSpec("pong", "ALE/Pong-v5", "atari"))
    train, raw, evaluation = (
        factory.make(seed=0, train=True),
        factory.make(seed=0, train=True, atari_training_wrappers=False),
        factory.make(seed=0, train=False),
    )
    assert _has_wrapper(train, ClipRewardEnv) and _has_wrapper(train, EpisodicLifeEnv)
    for env in (raw, evaluation):
        assert not _has_wrapper(env, ClipRewardEnv) and not _has_wrapper(env, EpisodicLifeEnv)
    assert train.observation_space.shape == (4, 84, 84)
    ram = EnvFactory(EnvSpec("pong_ram", "ALE/Pong-v5", "atari_ram")).make(seed=0, train=False)
    assert ram.observation_space.shape == (128,)


def test_eval_protocol_sets_sticky_actions_and_cap():
    protocol = EvalProtocol(name="sticky", noop_max=0, sticky_actions=0.25, max_episode_frames=400)
    env = EnvFactory(EnvSpec("pong_ram", "ALE/Pong-v5", "atari_ram"), protocol).make(
        seed=0, train=False
    )
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps, done = steps + 1, terminated or truncated
    assert steps == 400 // 4  # the cap is in emulator frames
    assert np.isclose(env.unwrapped.ale.getFloat("repeat_action_probability"), 0.25)
    assert "sticky0.25" in protocol.id and "cap400" in protocol.id


@pytest.mark.parametrize("bad", [{"episodes": 0}, {"sticky_actions": 1.0}])
def test_bad_eval_protocol_is_refused(bad):
    with pytest.raises(ValueError, match="eval"):
        EvalProtocol(**bad)


@pytest.mark.parametrize("name", ["pong_ram", "pong"])
def test_seeded_atari_reset_without_rom_reload_gives_the_same_episode(name):
    """An episode depends only on its seed, whatever ran before, and matches a fresh env.
    (No-op starts on: they are what a seed changes without sticky actions; RAM envs have
    none by default, so every RAM episode of a deterministic policy is the same.)"""
    family = "atari_ram" if name.endswith("_ram") else "atari"
    factory = EnvFactory(EnvSpec(name, "ALE/Pong-v5", family, train_noop_max=30))
    actions = np.random.default_rng(0).integers(0, 6, size=300)

    def episode(env: gym.Env, seed: int) -> list[float]:
        obs, _ = env.reset(seed=seed)
        trace = [float(np.asarray(obs, dtype=np.float64).sum())]
        for action in actions:
            obs, reward, terminated, truncated, _ = env.step(int(action))
            trace.append(float(np.asarray(obs, dtype=np.float64).sum()) + float(reward))
            if terminated or truncated:
                break
        return trace

    reused = factory.make(seed=0, train=True, atari_training_wrappers=False)
    loads = []
    original_load = reused.unwrapped.load_game
    reused.unwrapped.load_game = lambda: (loads.append(1), original_load())[1]
    first, other, again = episode(reused, 11), episode(reused, 12), episode(reused, 11)
    fresh = episode(factory.make(seed=0, train=True, atari_training_wrappers=False), 11)
    assert first == again == fresh
    assert first != other
    assert loads == []  # seeded resets reused the loaded ROM

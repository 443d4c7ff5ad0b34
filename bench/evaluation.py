"""Scores a policy under an evaluation protocol: fixed episode seeds, never-clipped rewards."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from bench.budget import Budget
from bench.envs import EnvFactory
from bench.interface import Policy

log = logging.getLogger(__name__)
# How often a long loop logs where it is when no run config says (``progress.log_every_seconds``).
LOG_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class EvalResult:
    returns: np.ndarray  # one unclipped return per episode
    lengths: np.ndarray  # agent steps per episode
    frames: int  # emulator frames spent (steps x frame skip)

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))


def evaluate(
    policy: Policy, factory: EnvFactory, log_every_seconds: float = LOG_EVERY_SECONDS
) -> EvalResult:
    """Run ``factory.protocol.episodes`` episodes; episode ``i`` is reset with ``seed + i``.

    Every run and every algorithm sees the same episode seeds, so differences between
    evaluations come from the policies, not from the draw of start states. An evaluation that
    takes longer than ``log_every_seconds`` logs where it is: a policy that never loses (a
    constant action lives to the 100,000-step cap in Frostbite and Seaquest) can spend an hour
    in one evaluation, which would otherwise look like a hung run.
    """
    protocol = factory.protocol
    env = factory.make(seed=protocol.seed, train=False)
    returns, lengths = [], []
    next_log = time.monotonic() + log_every_seconds
    try:
        for i in range(protocol.episodes):
            obs, _ = env.reset(seed=protocol.seed + i)
            env.action_space.seed(protocol.seed + i)
            total, steps, done = 0.0, 0, False
            while not done:
                action, _ = policy.predict(obs[None], deterministic=protocol.deterministic)
                obs, reward, terminated, truncated, _ = env.step(action[0])
                total += float(reward)
                steps += 1
                done = terminated or truncated
                if time.monotonic() >= next_log:
                    next_log = time.monotonic() + log_every_seconds
                    _log_progress(factory, i, steps, total)
            returns.append(total)
            lengths.append(steps)
    finally:
        env.close()
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    return EvalResult(
        returns=np.asarray(returns, dtype=np.float64),
        lengths=lengths_arr,
        frames=int(lengths_arr.sum()) * factory.spec.frame_skip,
    )


def _log_progress(factory: EnvFactory, episode: int, steps: int, total: float) -> None:
    protocol, spec = factory.protocol, factory.spec
    cap = protocol.max_episode_frames // spec.frame_skip if spec.is_atari else None
    cap_text = f" (cap {cap:,} steps)" if cap else ""
    log.info(
        "%s: evaluating, episode %d/%d at step %d%s, return so far %.1f",
        spec.name, episode + 1, protocol.episodes, steps, cap_text, total,
    )  # fmt: skip


def evaluate_off_budget(
    policy: Policy,
    factory: EnvFactory,
    budget: Budget,
    log_every_seconds: float = LOG_EVERY_SECONDS,
) -> tuple[EvalResult, float]:
    """:func:`evaluate` with the training clocks paused; also returns its wall seconds."""
    budget.pause()
    start = time.perf_counter()
    try:
        return evaluate(policy, factory, log_every_seconds), time.perf_counter() - start
    finally:
        budget.resume()

"""Workers that die: a process worker or Ray actor killed mid-generation is replaced and its
share re-run, with returns identical to a run without the fault; one that dies on every try
fails the run with a bounded number of retries; an env's own error is the run's error."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest
import torch

from bench.population.backends import MAX_RESTARTS, WorkerDied, make_evaluator
from bench.population.genomes import SeedChains
from bench.population.rollout import RolloutOptions
from tests.algos.conftest import make_factory, net_spec
from tests.conftest import on_one_worker

BACKENDS = [pytest.param(b, marks=on_one_worker(b)) for b in ("process", "ray")]


def batch(k: int = 24) -> SeedChains:
    return SeedChains([(i,) if i % 2 else (i, (100 + i, 0.5)) for i in range(k)])


def kill_one(evaluator, backend: str) -> None:
    if backend == "process":
        os.kill(evaluator.procs[0].pid, signal.SIGKILL)
    else:
        import ray

        ray.kill(evaluator.actors[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_mid_generation_is_replaced_with_identical_returns(
    cartpole, backend: str, tmp_path, monkeypatch
) -> None:
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    spec = net_spec(cartpole, "mlp", hidden=(16,))
    seeds = np.arange(24 * 4).reshape(24, 4) + 11
    with make_evaluator("vector", cartpole, spec, RolloutOptions(max_envs=4)) as ev:
        reference = ev.evaluate(batch(), seeds)
    with make_evaluator(backend, cartpole, spec, RolloutOptions(max_envs=4), workers=2) as ev:
        ev.evaluate(batch(4), seeds[:4])  # workers up and warm
        timer = threading.Timer(0.05, kill_one, (ev, backend))
        timer.start()  # the kill lands while the generation is being evaluated
        result = ev.evaluate(batch(), seeds)
        timer.join()
        after = ev.evaluate(batch(), seeds)  # and the replacement keeps working
        restarts = ev.restarts
    assert restarts == 1
    assert np.array_equal(result.returns, reference.returns)
    assert np.array_equal(after.returns, reference.returns)


def test_a_worker_that_dies_every_time_fails_the_run_after_bounded_retries(tmp_path) -> None:
    factory = make_factory("exits", "tests.algos.faulty_envs:Exits-v0", "classic")
    spec = net_spec(make_factory("cartpole", "CartPole-v1", "classic"), "mlp", hidden=(4,))
    with make_evaluator("process", factory, spec, RolloutOptions(max_envs=2), workers=2) as ev:
        with pytest.raises(WorkerDied, match=f"died {MAX_RESTARTS + 1} times"):
            ev.evaluate(batch(2), np.zeros((2, 1), dtype=np.int64))
        assert ev.restarts == MAX_RESTARTS


def test_an_env_error_in_a_worker_is_the_runs_error() -> None:
    factory = make_factory("raises", "tests.algos.faulty_envs:Raises-v0", "classic")
    spec = net_spec(make_factory("cartpole", "CartPole-v1", "classic"), "mlp", hidden=(4,))
    with make_evaluator("process", factory, spec, RolloutOptions(max_envs=2), workers=2) as ev:
        with pytest.raises(RuntimeError, match="the env is broken on reset"):
            ev.evaluate(batch(2), np.zeros((2, 1), dtype=np.int64))
        assert ev.restarts == 0

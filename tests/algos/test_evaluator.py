"""Evaluator: every backend gives the same returns, which equal plain one-policy rollouts."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from bench.population.backends import make_evaluator
from bench.population.genomes import (
    DenseGenomes,
    GenomeStore,
    NoiseTable,
    Perturbations,
    SeedChains,
)
from bench.population.networks import NetworkPolicy
from bench.population.rollout import RolloutOptions
from tests.algos.conftest import make_factory, net_spec
from tests.conftest import on_one_worker

TABLE = NoiseTable(size=100_000, seed=7)


def rollout(policy: NetworkPolicy, factory, seed: int, cap: int | None = None) -> tuple[float, int]:
    """The reference: one env, one policy, ``predict`` per step."""
    env = factory.make(None, train=True, atari_training_wrappers=False)
    obs, _ = env.reset(seed=seed)
    total, steps, done = 0.0, 0, False
    while not done:
        action, _ = policy.predict(obs[None])
        obs, reward, terminated, truncated, _ = env.step(action[0])
        total, steps = total + float(reward), steps + 1
        done = terminated or truncated or (cap is not None and steps >= cap)
    env.close()
    return total, steps


def chains(k: int) -> SeedChains:
    """Genomes one and two mutations deep, so rebuilding uses the parent cache."""
    return SeedChains([(i,) if i % 3 == 0 else (i % 3, (100 + i, 0.5)) for i in range(k)])


def test_vector_returns_equal_single_policy_rollouts(cartpole) -> None:
    spec = net_spec(cartpole, "mlp", hidden=(8,))
    batch, seeds = chains(6), np.arange(12).reshape(6, 2) + 50
    with make_evaluator("vector", cartpole, spec, RolloutOptions(max_envs=4)) as ev:
        result = ev.evaluate(batch, seeds)
    store = GenomeStore(spec.build())
    for k in range(6):
        policy = NetworkPolicy(spec, batch.materialise(k, store))
        for e in range(2):
            ret, length = rollout(policy, cartpole, int(seeds[k, e]))
            assert result.returns[k, e] == ret and result.lengths[k, e] == length
    assert result.steps == result.lengths.sum() and result.episodes == 12


def test_long_rollouts_log_where_they_are(cartpole, caplog) -> None:
    """A generation of policies that idle to the time limit can take 20 minutes (Seaquest RAM):
    at ``log_every_seconds`` it logs where it is instead of looking hung; by default, never."""
    spec = net_spec(cartpole, "mlp", hidden=(8,))
    batch, seeds = chains(3), np.arange(6).reshape(3, 2)

    def lines(options: RolloutOptions) -> tuple[list[str], int]:
        caplog.clear()
        logger = "bench.population.slot_table"
        with (
            caplog.at_level(logging.INFO, logger),
            make_evaluator("vector", cartpole, spec, options) as ev,
        ):
            steps = ev.evaluate(batch, seeds).steps
        return [r.getMessage() for r in caplog.records], steps

    logged, steps = lines(RolloutOptions(max_envs=2, log_every_seconds=0.0))  # every lock-step
    head = "cartpole: rollouts, "
    assert logged[0] == head + "0/6 episodes done, 2 agent steps so far, longest running at step 1"
    assert (
        logged[-1]
        == head + f"6/6 episodes done, {steps:,} agent steps so far, longest running at step 0"
    )
    assert len(logged) >= steps // 2
    assert lines(RolloutOptions(max_envs=2)) == ([], steps)


def test_slot_count_does_not_change_results(pendulum) -> None:
    spec = net_spec(pendulum, "mlp", hidden=(8,))
    batch, seeds = chains(5), np.arange(10).reshape(5, 2)
    out = []
    for slots in (1, 3, 64):
        with make_evaluator("vector", pendulum, spec, RolloutOptions(max_envs=slots)) as ev:
            out.append(ev.evaluate(batch, seeds).returns)
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])


def test_episode_cap_counts_steps_exactly(cartpole) -> None:
    spec = net_spec(cartpole, "linear", zero_init=False)
    batch, seeds = chains(4), np.arange(12).reshape(4, 3)
    with make_evaluator("vector", cartpole, spec, RolloutOptions(max_episode_steps=7)) as ev:
        result = ev.evaluate(batch, seeds, collect_obs=True)
    assert result.lengths.max() <= 7
    assert result.steps == int(result.lengths.sum()) and result.episodes == 12
    assert result.obs_stats is not None and result.obs_stats.count == result.steps
    store = GenomeStore(spec.build())
    policy = NetworkPolicy(spec, batch.materialise(1, store))
    assert rollout(policy, cartpole, int(seeds[1, 0]), cap=7) == (
        result.returns[1, 0], result.lengths[1, 0],
    )  # fmt: skip


def test_perturbations_materialise_mean_plus_scaled_noise(cartpole) -> None:
    spec = net_spec(cartpole, "linear")
    store = GenomeStore(spec.build())
    mean = np.arange(spec.build().num_params, dtype=np.float32)
    store.shared["mean"] = mean
    batch = Perturbations(np.array([0, 5, 5]), np.array([1.0, -1.0, 0.0]), 0.1, TABLE)
    noise = TABLE.get(5, mean.size)
    np.testing.assert_array_equal(batch.materialise(1, store), mean + np.float32(-0.1) * noise)
    np.testing.assert_array_equal(batch.materialise(2, store), mean)
    assert batch.nbytes() < mean.nbytes * 3


def genome_batches(spec):
    n = spec.build().num_params
    dense = np.random.default_rng(0).standard_normal((6, n)).astype(np.float32)
    pert = Perturbations(np.arange(6) * 10, np.array([1.0, -1.0] * 3), 0.5, TABLE)
    return {"chains": chains(6), "dense": DenseGenomes(dense), "perturbations": pert}


@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=on_one_worker(b)) for b in ("process", "ray")]
)
def test_backends_give_identical_returns(cartpole, backend: str, tmp_path, monkeypatch) -> None:
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)  # neither backend may write into the working directory
    spec = net_spec(cartpole, "mlp", hidden=(8,))
    seeds = np.arange(12).reshape(6, 2) + 3
    mean = np.random.default_rng(1).standard_normal(spec.build().num_params).astype(np.float32)
    results = {}
    for name in ("vector", backend):
        with make_evaluator(name, cartpole, spec, RolloutOptions(max_envs=3), workers=2) as ev:
            ev.broadcast("mean", mean)
            results[name] = {k: ev.evaluate(b, seeds) for k, b in genome_batches(spec).items()}
    for kind, result in results[backend].items():
        ref = results["vector"][kind]
        assert np.array_equal(result.returns, ref.returns), kind
        assert np.array_equal(result.lengths, ref.lengths) and result.steps == ref.steps
        assert result.cpu_seconds > 0 and ref.cpu_seconds == 0  # remote CPU is reported
    assert len({r.returns.tobytes() for r in results["vector"].values()}) == 3
    assert not any(tmp_path.iterdir())


def test_maze_behaviour_is_the_final_position() -> None:
    maze = make_factory("hardmaze", "bench.maze:bench/HardMaze-v0", "maze")
    spec = net_spec(maze, "mlp", hidden=(8,))
    options = RolloutOptions(behaviour="xy")
    with make_evaluator("vector", maze, spec, options) as ev:
        result = ev.evaluate(chains(3), np.zeros((3, 1), dtype=np.int64))
    assert result.descriptors is not None and result.descriptors.shape == (3, 1, 2)
    assert (result.lengths == 400).all()  # the maze's 400-step limit
    assert np.all((result.descriptors >= 0) & (result.descriptors <= 210))


@pytest.mark.parametrize("control", ["velocity", "acceleration"])
def test_batched_maze_equals_per_env_rollouts(control: str, monkeypatch) -> None:
    """The maze's batched simulator (all slots in one numpy step) against the worker's
    per-env path (one gym env per slot): identical returns, lengths, final positions and
    observation statistics. The goal is moved next to the start so some episodes end early on
    reaching it; 4 slots for 12 episodes make 3 chunks; a 150-step cap truncates the rest."""
    from bench.envs import EnvFactory, EnvSpec
    from bench.maze import HardMazeEnv

    kwargs = {"control": control, "goal": (75.0, 184.0)}
    maze = EnvFactory(EnvSpec("hardmaze", "bench.maze:bench/HardMaze-v0", "maze", kwargs))
    spec = net_spec(maze, "mlp", hidden=(8,))
    batch = SeedChains([(i,) if i % 2 else (i, (50 + i, 2.0)) for i in range(6)])
    seeds = np.zeros((6, 2), dtype=np.int64)
    options = RolloutOptions(max_envs=4, behaviour="xy", max_episode_steps=150)
    results = []
    for batched in (True, False):
        if not batched:
            monkeypatch.delattr(HardMazeEnv, "make_robots")
        with make_evaluator("vector", maze, spec, options) as ev:
            results.append(ev.evaluate(batch, seeds, collect_obs=True))
    fast, slow = results
    assert 0 < (slow.lengths < 150).sum() < 12  # some reached the goal, some did not
    assert np.array_equal(fast.returns, slow.returns)
    assert np.array_equal(fast.lengths, slow.lengths) and fast.steps == slow.steps
    assert np.array_equal(fast.descriptors, slow.descriptors)
    assert fast.obs_stats.count == slow.obs_stats.count
    assert np.allclose(fast.obs_stats.total, slow.obs_stats.total)


def test_children_are_routed_to_the_worker_caching_their_parent() -> None:
    parents = [(1,), (2,), (3,)]
    owners = {parents[0]: 1, parents[1]: 0, parents[2]: 1}
    children = [(*parents[i % 3], (10 + i, 0.1)) for i in range(6)]
    parts = SeedChains(children).assign(2, owners)
    assert sorted(np.concatenate(parts).tolist()) == list(range(6))
    assert [len(p) for p in parts] == [3, 3]  # balanced: one of worker 1's goes to worker 0
    assert {1, 4} <= set(parts[0].tolist())  # parent (2,)'s children stay with worker 0
    assert {owners[children[i][:-1]] for i in parts[1]} == {1}


def test_seed_chain_cache_keeps_the_best_and_stays_exact(cartpole) -> None:
    """Generation after generation through the cache equals rebuilding from scratch."""
    spec = net_spec(cartpole, "mlp", hidden=(8,))
    with make_evaluator("vector", cartpole, spec, RolloutOptions(cache_genomes=2)) as ev:
        first = SeedChains([(i,) for i in range(5)])
        r1 = ev.evaluate(first, np.arange(5)[:, None])
        best = [first.chains[i] for i in np.argsort(-r1.fitness, kind="stable")[:2]]
        assert set(ev.worker.store.chains) == set(best)
        second = SeedChains([(*best[i % 2], (50 + i, 0.3)) for i in range(4)])
        cached = ev.evaluate(second, np.arange(4)[:, None])
    with make_evaluator("vector", cartpole, spec) as fresh:
        assert np.array_equal(fresh.evaluate(second, np.arange(4)[:, None]).returns, cached.returns)


def test_running_obs_norm_matches_numpy(pendulum) -> None:
    from bench.population.obs_norm import ObsStats, RunningObsNorm

    spec = net_spec(pendulum, "linear")
    with make_evaluator("vector", pendulum, spec) as ev:
        result = ev.evaluate(chains(2), np.arange(2)[:, None], collect_obs=True)
    stats = result.obs_stats
    assert stats is not None and stats.count == result.steps == 400
    norm = RunningObsNorm(spec.obs_shape)
    norm.stats = ObsStats.zeros((3,))  # no prior: the statistics alone
    norm.update(stats)
    mean, std = norm.mean_std
    expected = stats.total / stats.count
    np.testing.assert_allclose(mean, expected, rtol=1e-5)
    np.testing.assert_allclose(std, np.sqrt(stats.total_sq / stats.count - expected**2), rtol=1e-4)


def test_atari_episodes_depend_only_on_their_seed() -> None:
    """Reused ALE envs (no-op starts included) replay exactly from ``reset(seed)``."""
    from bench.envs import EnvFactory, EnvSpec

    pong = EnvFactory(EnvSpec("pong_ram", "ALE/Pong-v5", "atari_ram", train_noop_max=30))
    spec = net_spec(pong, "mlp", hidden=(8,), zero_init=False)
    seeds = np.array([[5, 6], [5, 7]])
    out = []
    for slots in (1, 4):
        options = RolloutOptions(max_envs=slots, max_episode_steps=60, behaviour="ram")
        with make_evaluator("vector", pong, spec, options) as ev:
            out.append(ev.evaluate(chains(2), seeds))
    assert np.array_equal(out[0].descriptors, out[1].descriptors)
    assert np.array_equal(out[0].returns, out[1].returns)
    assert out[0].steps == 4 * 60 and out[0].descriptors.shape == (2, 2, 128)


def test_in_process_worker_keeps_the_configured_torch_threads(cartpole) -> None:
    """The run records ``torch.get_num_threads()`` as what ran: the ``vector`` worker must not
    change it; the process and Ray workers are told to use one thread each."""
    spec = net_spec(cartpole, "linear")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with make_evaluator("vector", cartpole, spec) as ev:
            ev.evaluate(chains(2), np.arange(2)[:, None])
            assert torch.get_num_threads() == 2 and ev.options.torch_threads is None
    finally:
        torch.set_num_threads(before)
    with make_evaluator("process", cartpole, spec, workers=1) as ev:
        assert ev.options.torch_threads == 1


def test_atari_ram_is_scaled_then_normalised_on_every_path(monkeypatch) -> None:
    """Known RAM bytes through the worker and through the evaluated policy: the net's input
    is ``((bytes / 127.5 - 1) - mean) / std`` and the statistics are in the scaled units.
    (Normalising raw bytes, then scaling, gave a normalised +3 as about -0.98.)"""
    from bench.population.networks import PolicyNet
    from bench.population.obs_norm import ObsNorm

    factory = make_factory("pong_ram", "ALE/Pong-v5", "atari_ram")
    spec = net_spec(factory, "linear")
    norm = ObsNorm(np.full(128, 0.5, np.float32), np.full(128, 0.25, np.float32), clip=None)
    seen: list[np.ndarray] = []
    original = PolicyNet.preprocess

    def spy(self, obs):
        out = original(self, obs)
        seen.append(out.cpu().numpy().copy())
        return out

    monkeypatch.setattr(PolicyNet, "preprocess", spy)
    env = factory.make(None, train=True, atari_training_wrappers=False)
    ram, _ = env.reset(seed=5)
    env.close()
    assert ram.dtype == np.uint8 and ram.max() > 128  # bytes far from the mean, both signs
    expected = (ram.astype(np.float32) / np.float32(127.5) - 1 - 0.5) / 0.25
    options = RolloutOptions(max_envs=1, max_episode_steps=1)
    with make_evaluator("vector", factory, spec, options) as ev:
        result = ev.evaluate(SeedChains([(1,)]), np.array([[5]]), norm, collect_obs=True)
    np.testing.assert_allclose(seen[0][0], expected, rtol=1e-6, atol=1e-6)
    stats = result.obs_stats
    assert stats is not None and stats.count == 1
    np.testing.assert_allclose(stats.total, ram / 127.5 - 1, rtol=1e-6, atol=1e-6)
    seen.clear()
    NetworkPolicy(spec, np.zeros(spec.build().num_params, np.float32), norm).predict(ram[None])
    np.testing.assert_allclose(seen[0][0], expected, rtol=1e-6, atol=1e-6)

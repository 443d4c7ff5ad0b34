"""The ``ray`` backend on a user's cluster: joined by ``auto``, an explicit address and the
``ray://`` client; a two-node cluster does the same work as one process, on both nodes; a node
removed mid-generation has its actors replaced. Every cluster here is bound to 127.0.0.1 alone
and is stopped at the end with no process left behind."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.population.backends import make_evaluator
from bench.population.ray_backend import LOOPBACK_VARIABLE
from bench.population.rollout import RolloutOptions
from tests.algos.conftest import net_spec, run_job, table
from tests.algos.test_worker_faults import batch
from tests.test_contract import contract_args

pytestmark = pytest.mark.xdist_group("ray")  # one local cluster at a time (tests.conftest)
ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_processes(temp_dir: str) -> list[int]:
    """Processes started with this RAY_TMPDIR (Ray renames its workers, so not by name)."""
    marker = f"RAY_TMPDIR={temp_dir}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        pid = int(environ.parent.name)
        with contextlib.suppress(OSError):
            if pid != os.getpid() and marker in environ.read_bytes().split(b"\0"):
                found.append(pid)
    return found


def stop(temp_dir: str, grace: float = 5) -> list[int]:
    """SIGTERM every process of the cluster, SIGKILL what is left after ``grace``; what
    survives even that is returned (the fixture fails on it)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in cluster_processes(temp_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while cluster_processes(temp_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
    return cluster_processes(temp_dir)


@pytest.fixture(scope="module")
def loopback() -> Iterator[str]:
    """A Ray temp folder of our own (never /tmp/ray) and Ray told not to rewrite 127.0.0.1."""
    temp_dir = tempfile.mkdtemp(prefix="/tmp/nebrc")  # short: unix socket paths
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_TMPDIR", temp_dir)
        mp.setenv(LOOPBACK_VARIABLE, "0")
        # this process may have imported ray already: the constant is read at import
        mp.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        yield temp_dir
    deadline = time.monotonic() + 30  # Cluster.shutdown has stopped them: give them time
    while cluster_processes(temp_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = stop(temp_dir, grace=5)
    shutil.rmtree(temp_dir, ignore_errors=True)
    assert not left, f"Ray processes left behind: {left}"


@pytest.fixture(scope="module")
def two_nodes(loopback: str) -> Iterator[Cluster]:
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False}
    )
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def node_addresses() -> set[str]:
    return {node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]}


SEEDS = np.arange(24 * 4).reshape(24, 4) + 3  # 24 genomes x 4 episodes


def evaluator(env, backend: str, address: str | None = None):
    """A small MLP population on ``env``: 4 actors on the cluster at ``address``."""
    spec, options = net_spec(env, "mlp", hidden=(16,)), RolloutOptions(max_envs=4)
    return make_evaluator(backend, env, spec, options, workers=4, ray_address=address)


def vector_returns(env) -> np.ndarray:
    with evaluator(env, "vector") as ev:
        return ev.evaluate(batch(), SEEDS).returns


def test_a_two_node_cluster_gives_the_vector_returns_from_both_nodes(two_nodes, cartpole):
    reference = vector_returns(cartpole)
    with evaluator(cartpole, "ray", two_nodes.address) as ev:
        nodes = ev.actor_nodes()
        result = ev.evaluate(batch(), SEEDS)
        assert node_addresses() == {"127.0.0.1"}  # nothing bound beyond loopback
    assert len(set(nodes)) == 2  # 4 one-CPU actors on two 2-CPU nodes: both work every batch
    assert np.array_equal(result.returns, reference)
    assert not ray.is_initialized()  # the run disconnected; the cluster lives on
    assert len(two_nodes.list_all_nodes()) == 2


@pytest.mark.parametrize("name", ["ga", "es"])
def test_ga_and_es_runs_on_the_cluster_equal_the_vector_run(two_nodes, tmp_path, name, caplog):
    """Whole generation loops (training, validation, caches) on both nodes: records equal the
    vector run's."""
    caplog.set_level(logging.INFO, logger="bench.population.backends")
    vector = run_job(tmp_path / "vector", *contract_args(name))[1]
    joined = run_job(tmp_path / "ray", *contract_args(
        name, "algo.params.backend=ray", "algo.params.workers=4",
        f"algo.params.ray_address={two_nodes.address}"))[1]  # fmt: skip
    assert "4 Ray actors on 2 node(s)" in caplog.text  # every generation split over both
    for table_name in ("generations.csv", "metrics.csv"):
        assert table(joined / table_name) == table(vector / table_name)


def test_a_removed_node_has_its_actors_replaced_with_identical_returns(loopback, cartpole):
    """A node lost between two generations: the next generation's calls to its actors fail,
    they are replaced on a live node and their shares re-run. (An actor killed while a
    generation runs is tests/algos/test_worker_faults.py's case.)"""
    # a dead node is declared after missed health checks: Ray's default waits ~30 s
    health = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False, "_system_config": health},
    )
    try:
        doomed = cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        reference = vector_returns(cartpole)
        with evaluator(cartpole, "ray", cluster.address) as ev:
            before = ev.evaluate(batch(), SEEDS)
            assert len(set(ev.actor_nodes())) == 2
            cluster.add_node(num_cpus=2)  # where the replacements go, as an autoscaler would
            cluster.remove_node(doomed, allow_graceful=False)
            deadline = time.monotonic() + 60
            while doomed.node_id in alive_nodes() and time.monotonic() < deadline:
                time.sleep(0.2)
            after = ev.evaluate(batch(), SEEDS)
            restarts, nodes = ev.restarts, set(ev.actor_nodes())
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    assert restarts == 2  # the two actors of the removed node
    assert doomed.node_id not in nodes
    assert np.array_equal(before.returns, reference)
    assert np.array_equal(after.returns, reference)


def alive_nodes() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


@pytest.fixture
def head(loopback: str) -> Iterator[tuple[dict[str, int], dict[str, str]]]:
    """A head started the documented way, ``ray start --head``, on 127.0.0.1, with Ray's token
    authentication (on by default since Ray 2.52) given by the environment, not ~/.ray."""
    ports = {"gcs": free_port(), "client": free_port()}
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    # The client server gives a new client's own server 30 s to start; on 2 busy cores, more.
    env["RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S"] = "180"
    start = [
        str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={ports['gcs']}",
        f"--ray-client-server-port={ports['client']}", "--num-cpus=2",
        "--include-dashboard=false", "--disable-usage-stats",
    ]  # fmt: skip
    started = subprocess.run(start, capture_output=True, text=True, timeout=120, env=env)
    if started.returncode:
        pytest.skip(f"ray start --head failed here: {started.stderr.strip().splitlines()[-1:]}")
    try:
        yield ports, env
    finally:  # not `ray stop`: it stops every Ray on the machine, this one is ours alone
        assert not stop(loopback), "Ray processes survived SIGKILL"


# Ray's client proxy starts a server process per client; on two loaded cores that start failed
# once in CI, with its reason only in the server's own log. One retry, then fail showing it.
CLIENT_SERVER_FAILED = "Starting Ray client server failed"


def join(address: str, env: dict[str, str], results: Path) -> tuple[int, str]:
    """A smoke ES run on the cluster at ``address``: exit code and output."""
    done = subprocess.run(
        [
            str(RAY.with_name("bench")), "algo=es", "env=cartpole", "budget=smoke",
            "algo.params.backend=ray", "algo.params.workers=2",
            f"algo.params.ray_address={address}", f"results_dir={results}",
            f"experiment_name={address.split(':')[0].replace('/', '')}", "overwrite=true",
        ],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def client_server_logs(temp_dir: str) -> str:
    logs = sorted(Path(temp_dir).glob("ray/session_latest/logs/ray_client_server*.err"))
    return "".join(f"\n--- {log.name}:\n{log.read_text()[-1500:]}" for log in logs)


def test_a_cluster_started_with_ray_start_is_joined_by_auto_address_and_client(head, tmp_path):
    ports, env = head
    for address in ("auto", f"127.0.0.1:{ports['gcs']}", f"ray://127.0.0.1:{ports['client']}"):
        code, output = join(address, env, tmp_path / "r")
        if code and CLIENT_SERVER_FAILED in output:
            logs = client_server_logs(env["RAY_TMPDIR"])
            warnings.warn(f"Ray client server start failed once:{logs}", stacklevel=1)
            code, output = join(address, env, tmp_path / "r")
        assert code == 0, output[-2000:] + client_server_logs(env["RAY_TMPDIR"])
        assert "Ray actors on 1 node(s)" in output, output[-2000:]

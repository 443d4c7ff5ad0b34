"""The submitit_slurm launcher on a real one-node SLURM cluster (scripts/slurm_local.sh): a
sweep completes, and a preempted job is requeued by submitit and resumes from its checkpoint.

Skipped, with the script's own error, where Debian's slurm-wlm and munge are not installed
(.ci/run installs them in CI) or the cluster does not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.records import RunFolder
from tests.conftest import BENCH

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "slurm_local.sh"

# One cluster, on one pytest-xdist worker (`--dist loadgroup`). Should the tests still land on
# two workers, each starts its own cluster, on its own ports and folder.
pytestmark = pytest.mark.xdist_group("slurm")


@dataclass
class Cluster:
    state: Path  # SLURM_LOCAL_DIR: config, munge key, logs
    env: dict[str, str]  # os.environ plus what `start` says to export

    def run(self, *command: str) -> str:
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout


def _script(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=120
    )


def _error_line(stderr: str) -> str:
    """The script's own error (its last ``slurm_local:`` line), the reason a start failed."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("slurm_local:")]
    return (ours or lines or ["slurm_local.sh start failed without a message"])[-1]


def _exports(stdout: str) -> dict[str, str]:
    lines = [line.removeprefix("export ") for line in stdout.splitlines()]
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_pair() -> int:
    """A free port whose successor is free too (slurmd listens on SLURM_LOCAL_PORT + 1), so a
    cluster someone started on the default ports does not make this module skip."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65000 and _is_free(port + 1):  # srun takes ports up to PORT + 200
            return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


def _processes_naming(text: str) -> list[str]:
    """Live processes whose command line or environment names ``text``: the daemons (by their
    config), slurmstepd and the jobs (SLURM_CONF in their environment)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if proc.name == str(os.getpid()):
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            if text.encode() in cmdline + (proc / "environ").read_bytes():
                found.append(f"{proc.name} {cmdline.decode(errors='replace')}")
        except OSError:  # gone meanwhile
            continue
    return found


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def slurm() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: its folders are private (0700), and munged wants every
    # folder above its socket open to all users.
    state = Path(tempfile.mkdtemp(prefix="neb-slurm-", dir="/tmp"))
    env = {**os.environ, "SLURM_LOCAL_DIR": str(state), "SLURM_LOCAL_PORT": str(_free_port_pair())}
    started = _script("start", env)
    if started.returncode != 0:
        _script("stop", env)  # whatever a failed start left running
        with contextlib.suppress(OSError):  # empty without the binaries; else its logs explain
            state.rmdir()
        pytest.skip(_error_line(started.stderr))
    try:
        yield Cluster(state, {**env, **_exports(started.stdout)})
    finally:
        stopped = _script("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    try:  # a cancelled job's processes may take a moment to exit
        _wait_for(lambda: not _processes_naming(str(state)), 15, "processes left")
    except TimeoutError:
        pytest.fail(f"left running after stop: {_processes_naming(str(state))}")
    shutil.rmtree(state)


def _sweep(results: Path, *overrides: str) -> list[str]:
    return [BENCH, "-m", "env=cartpole", "seed=0", "budget=smoke", "eval.episodes=2",
            "hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug",
            "hydra.launcher.cpus_per_task=1", f"results_dir={results}", *overrides]  # fmt: skip


def _meta(folder: RunFolder) -> dict:
    return json.loads(folder.meta.read_text())


def test_sweep_on_slurm_completes_every_run(slurm: Cluster, tmp_path: Path) -> None:
    command = _sweep(tmp_path, "algo=ga,es", "hydra.launcher.timeout_min=5")
    result = subprocess.run(
        command, cwd=tmp_path, env=slurm.env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    folders = {algo: RunFolder(tmp_path / "default" / "cartpole" / algo / "seed=0")
               for algo in ("ga", "es")}  # fmt: skip
    statuses = {algo: folder.status() for algo, folder in folders.items()}
    assert statuses == {"ga": "completed", "es": "completed"}
    for folder in folders.values():  # each ran as a SLURM job, through submitit
        assert _meta(folder)["argv"][0].endswith("submitit/core/_submit.py")
    results = sorted((tmp_path / "default" / ".submitit").glob("*_[01]/*_result.pkl"))
    assert len(results) == 2, "one array task per run"


# Long enough to be caught after its first checkpoint (one ES generation, ~14k frames), short
# enough to end in well under a minute. timeout_min=60: submitit counts a signal in the last
# 10 minutes of the time limit as a time-out, which the default max_num_timeout=0 never requeues.
PREEMPTED = ["algo=es", "budget.frames=100000", "budget.eval_every_frames=50000",
             "checkpoint.every_frames=5000", "hydra.launcher.timeout_min=60"]  # fmt: skip


def test_preempted_job_is_requeued_and_resumes_from_its_checkpoint(
    slurm: Cluster, tmp_path: Path
) -> None:
    folder = RunFolder(tmp_path / "default" / "cartpole" / "es" / "seed=0")
    latest = folder.checkpoints / "latest.json"
    with (tmp_path / "sweep.log").open("w") as log:
        sweep = subprocess.Popen(_sweep(tmp_path, *PREEMPTED), cwd=tmp_path, env=slurm.env,
                                 stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_for(lambda: latest.exists() or sweep.poll() is not None, 120, "a checkpoint")
        assert sweep.poll() is None, (tmp_path / "sweep.log").read_text()[-3000:]
        saved = json.loads(latest.read_text())["frames"]
        # A job of the higher-tier partition that needs the whole node preempts ours: SLURM
        # sends it submitit's USR2, submitit checkpoints the launcher's call and requeues it.
        slurm.run(
            "sbatch", "--partition=urgent", "--exclusive", "--output=/dev/null", "--wrap=true"
        )
        # The first attempt records itself interrupted as it leaves (submitit exits by
        # SystemExit, which bench/run.py records as an interruption); the requeued job starts
        # again some seconds later (cred_expire): watch the record through that window.
        seen: set[tuple[str, int]] = set()

        def interrupted_seen() -> bool:
            meta = _meta(folder)
            seen.add((meta["status"], meta["attempts"]))
            return ("interrupted", 1) in seen

        _wait_for(interrupted_seen, 90, f"the first attempt recorded interrupted (saw {seen})")
        sweep.wait(timeout=150)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, (tmp_path / "sweep.log").read_text()[-3000:]
    meta = _meta(folder)
    assert meta["status"] == "completed" and meta["attempts"] == 2
    assert saved <= meta["resumed_from_frames"] < 100_000 <= meta["frames"]
    job_log = "".join(p.read_text() for p in (tmp_path / "default").glob(".submitit/*/*_log.err"))
    assert "Caught signal SIGUSR2" in job_log and "this job is preempted" in job_log
    assert "DUE TO JOB REQUEUE" in job_log

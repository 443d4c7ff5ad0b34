"""Every benchmark script runs with ``--tiny`` and writes well-formed JSON (not its figures)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# script -> a column every row must hold as a positive finite number. The whole file takes
# ~70 s on one busy core (sweep_overhead ~21 s, scaling ~21 s: it starts 3 worker processes and
# 3 Ray actors, rollout_throughput ~11 s, sb3_overhead ~7 s, the others ~3-4 s each).
SCRIPTS = {
    "rollout_throughput": "harness_over_ideal",
    "scaling": "speedup",
    "evotorch_peer": "ours_over_theirs",
    "sb3_overhead": "harness_over_bare",
    "ga_encoding": "genome_bytes",
    "sweep_overhead": "per_job_s",
    "maze_batched": "batched_over_per_env",
    "plan_vs_measured": "ratio",  # ~30 s: it plans, then runs a 2-job sweep
    "obs_norm_fold": "step_over_generation",
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_benchmark_tiny_run_writes_json(name: str, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--tiny", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    payload = json.loads(out.read_text())
    assert payload["benchmark"] == name and payload["rows"]
    assert {"machine", "versions", "when"} <= set(payload)
    for row in payload["rows"]:
        value = row.get(SCRIPTS[name])
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, row

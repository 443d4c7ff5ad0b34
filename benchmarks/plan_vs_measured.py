"""Benchmark 8: the planner's prediction of a small real sweep, against the sweep itself.

1. Calibrates this machine's rates afresh (``plan.recalibrate=true``; ``--tiny``: into a
   temporary cache, so its tiny calibration never stands in for the real one) and plans the
   sweep in process, as ``bench -m <sweep> plan=true`` does.
2. Runs the same sweep for real (``bench -m ...``, joblib, 2 jobs at a time) into a temporary
   results folder, timing the whole command.
3. Reads the records: per job, training CPU seconds (``summary.json``), evaluation seconds, and
   the job's start and end (``meta.json``).

Prints predicted vs measured per job and for the sweep (``ratio`` = predicted / measured).
The planner assumes free cores; ``core_share`` (the jobs' training CPU seconds / wall seconds)
says how much of a core the jobs got, so a busy machine shows as a share below 1, and
``ratio_at_core_share`` compares the prediction divided by that share.

    python benchmarks/plan_vs_measured.py          # ~2-3 minutes on 2 cores
    python benchmarks/plan_vs_measured.py --tiny   # seconds
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write
from hydra import compose, initialize_config_dir

from bench import CONFIG_DIR
from bench.plan.planner import Plan, make_plan
from bench.plan.report import render

BENCH = str(Path(sys.executable).with_name("bench"))
COLUMNS = ["job", "train_core_s_predicted", "train_cpu_s_measured", "eval_s_predicted",
           "eval_s_measured", "job_wall_s_predicted", "job_wall_s_measured", "ratio"]  # fmt: skip


def sweep(tiny: bool, seeds: int) -> tuple[dict[str, list[str]], list[str]]:
    """(swept settings, fixed settings)."""
    if tiny:
        return {"algo": ["ga", "ppo"], "env": ["cartpole"], "seed": ["0"]}, ["budget=smoke"]
    values = {"algo": ["ppo", "es", "ga"], "env": ["pendulum", "cartpole"]}
    return {**values, "seed": [str(s) for s in range(seeds)]}, ["budget=small"]


def predict(swept: dict[str, list[str]], fixed: list[str], calibration_s: float) -> Plan:
    """The plan of the sweep, made from the same configs the validation callback composes."""
    launcher = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    plan = ["plan.run=true", "plan.recalibrate=true", f"plan.calibration_seconds={calibration_s}"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        config = compose("bench", [*fixed, *launcher, *plan], return_hydra_config=True)
        jobs = [
            compose("bench", [*fixed, *(f"{k}={v}" for k, v in zip(swept, values, strict=True))])
            for values in itertools.product(*swept.values())
        ]
        return make_plan(config, jobs)


def run_sweep(swept: dict[str, list[str]], fixed: list[str], results: Path) -> float:
    """Wall seconds of the real sweep, the whole command."""
    args = [f"{k}={','.join(v)}" for k, v in swept.items()]
    launcher = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    command = [BENCH, "-m", *args, *fixed, *launcher, f"results_dir={results}"]
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - began


def measured(results: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Per (algo, env, seed): training CPU and wall seconds, evaluation seconds, start, end."""
    rows = {}
    for summary_path in results.rglob("summary.json"):
        summary = json.loads(summary_path.read_text())
        meta = json.loads((summary_path.parent / "meta.json").read_text())
        start, end = (_epoch(meta[k]) for k in ("started_at", "ended_at"))
        rows[(summary["algo"], summary["env"], int(summary["seed"]))] = {
            "cpu": summary["cpu_seconds"], "train_wall": summary["wall_seconds"],
            "eval": summary["eval_wall_seconds"], "start": start, "end": end,
        }  # fmt: skip
    return rows


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def compare(plan: Plan, runs: dict[tuple[str, str, int], dict[str, Any]]) -> list[dict]:
    rows = []
    for c in plan.costs:
        key = (*c.job.pair, int(c.job.cfg.seed))
        got = runs[key]
        rows.append({
            "job": "/".join(map(str, key)),
            "train_core_s_predicted": round(c.train_core_seconds, 2),
            "train_cpu_s_measured": got["cpu"],
            "eval_s_predicted": round(c.eval_seconds, 2),
            "eval_s_measured": got["eval"],
            "job_wall_s_predicted": round(c.wall_seconds, 2),
            "job_wall_s_measured": got["end"] - got["start"],
            "ratio": round(c.wall_seconds / max(got["end"] - got["start"], 1.0), 3),
        })  # fmt: skip
    return rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=1, help="seeds per algo x env (not --tiny)")
    args = p.parse_args()
    if args.tiny:  # a tiny calibration must not become this machine's cached rates
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="neb_plan_cache_")
    swept, fixed = sweep(args.tiny, args.seeds)
    began = time.perf_counter()
    plan = predict(swept, fixed, 0.2 if args.tiny else 1.0)
    planning = time.perf_counter() - began
    print(render(plan), "\n")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="neb_plan_results_") as folder:
        wall = run_sweep(swept, fixed, Path(folder))
        runs = measured(Path(folder))
    rows = compare(plan, runs)
    span = max(r["end"] for r in runs.values()) - min(r["start"] for r in runs.values())
    share = sum(r["cpu"] for r in runs.values()) / sum(r["train_wall"] for r in runs.values())
    predicted = plan.wall_seconds
    rows.append({
        "job": "sweep (2 jobs at a time)", "job_wall_s_predicted": round(predicted, 1),
        "job_wall_s_measured": round(span, 1), "ratio": round(predicted / span, 3),
        "command_wall_s": round(wall, 1), "ratio_to_command": round(predicted / wall, 3),
        "core_share": round(share, 3), "load_before": load_before,
        # the planner assumes free cores: its figure at the share of a core the jobs got
        "ratio_at_core_share": round(predicted / share / span, 3),
        "planning_s": round(planning, 1),
    })  # fmt: skip
    print(table(rows, COLUMNS))
    print(f"\nsweep: predicted {predicted:.1f} s, records' span {span:.1f} s, whole command "
          f"{wall:.1f} s; the jobs got {share:.2f} of a core each (load average before: "
          f"{load_before:.1f}): at that share the prediction is {predicted / share:.1f} s "
          f"(ratio {predicted / share / span:.2f}); planning (calibration included) took "
          f"{planning:.1f} s")  # fmt: skip
    write("plan_vs_measured", rows, args.out, sweep=swept, fixed=fixed)


if __name__ == "__main__":
    main()

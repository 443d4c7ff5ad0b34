"""Benchmark 6: sweep overhead, a Hydra multirun of trivial jobs, basic vs joblib launcher.

A trivial job trains PPO for 8 CartPole frames and evaluates for one episode, so its time
is almost all harness: Hydra composition, imports, env probe, records. The whole command is
timed (process start included) and divided by the number of jobs. ``one_process_s`` is the
same trivial job called in-process via ``bench.run.run`` (no Hydra launcher, warm imports):
the floor a launcher cannot beat.

    python benchmarks/sweep_overhead.py          # ~1 minute
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

BENCH = str(Path(sys.executable).with_name("bench"))
TRIVIAL = [
    "algo=ppo", "env=cartpole", "budget.frames=8", "budget.eval_every_frames=0",
    "eval.episodes=1", "algo.params.n_envs=1", "algo.params.n_steps=8",
    "algo.params.batch_size=8", "algo.params.n_epochs=1",
]  # fmt: skip


def sweep_seconds(jobs: int, launcher: list[str], results: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [BENCH, "-m", *TRIVIAL, f"seed=range(0,{jobs})", f"results_dir={results}", *launcher],
        check=True, capture_output=True, cwd=results,
    )  # fmt: skip
    return time.perf_counter() - start


def in_process_seconds(jobs: int, results: Path) -> float:
    from hydra import compose, initialize_config_dir

    from bench import CONFIG_DIR
    from bench.run import run

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfgs = [compose("bench", [*TRIVIAL, f"seed={s}", f"results_dir={results}"])
                for s in range(jobs)]  # fmt: skip
    run(cfgs[0])  # warm imports
    start = time.perf_counter()
    for cfg in cfgs[1:]:
        run(cfg)
    return (time.perf_counter() - start) / (jobs - 1)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    jobs = 4 if args.tiny else 16
    launchers = {
        "basic": [],
        "joblib (2 workers)": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        floor = in_process_seconds(jobs, Path(tmp) / "inproc")
        for name, extra in launchers.items():
            runs = []
            for repeat in range(1 if args.tiny else args.repeats):
                results = Path(tmp) / f"{name.split()[0]}-{repeat}"
                results.mkdir()
                runs.append(sweep_seconds(jobs, extra, results))
            seconds = sorted(runs)[len(runs) // 2]
            rows.append({"launcher": name, "jobs": jobs, "sweep_s": seconds,
                         "per_job_s": seconds / jobs, "one_process_s": floor,
                         "per_job_over_floor": seconds / jobs / floor})  # fmt: skip
    print(table(rows, ["launcher", "jobs", "sweep_s", "per_job_s", "one_process_s",
                       "per_job_over_floor"]))  # fmt: skip
    write("sweep_overhead", rows, args.out)


if __name__ == "__main__":
    main()

"""The wall-clock budget that gives a second sweep the same total cost as a first one.

    python -m analysis.equal_cost results/demo        # prints seconds, e.g. 17.3

Every run of the second sweep gets the first sweep's mean training wall seconds a run (over its
completed runs; evaluation is off the training clock in both), so both sweeps spend the same
total training time on the same (algorithm, task, seed) jobs. ``make demo`` uses it for the
equal-wall-clock half of the main job.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def mean_training_seconds(results: Path) -> float:
    seconds = [
        float(json.loads(summary.read_text())["wall_seconds"])
        for summary in Path(results).rglob("summary.json")
    ]
    if not seconds:
        raise SystemExit(f"equal_cost: no completed run under {results}")
    return sum(seconds) / len(seconds)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m analysis.equal_cost RESULTS_FOLDER")
    print(f"{mean_training_seconds(Path(args[0])):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

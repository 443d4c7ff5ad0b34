"""``bench ... plan=true``: what a run or sweep will cost, without running it.

Printed from the config check (``bench.validate.ValidateConfig``), once every job of the run
or sweep is composed and valid, before Hydra makes any folder or the launcher starts a job:
the jobs by algo x env, their frames (training budget and, at most, evaluation), the predicted
core-hours and the wall-clock over ``plan.cores`` cores (default: the launcher's parallelism
here). Predictions rest on rates measured on this machine by short bursts of real training
(``calibrate.py``), cached for reuse (``rates.py``); the cost model is ``model.py``; the
assumptions are printed with every plan (``report.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

from omegaconf import DictConfig


def plan_and_exit(config: DictConfig, jobs: Sequence[DictConfig]) -> NoReturn:
    """Print the plan of ``jobs`` and exit 0; a failure is one line and exit status 1."""
    from bench.plan.planner import make_plan
    from bench.plan.report import render
    from bench.validate import one_line

    try:
        text = render(make_plan(config, jobs))
    except Exception as error:  # Hydra would turn it into a warning and start the sweep
        print(f"error: the plan failed: {one_line(error)}", file=sys.stderr)
        sys.exit(1)
    print(text, flush=True)
    sys.exit(0)

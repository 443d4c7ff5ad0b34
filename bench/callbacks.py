"""Hydra callbacks: what a sweep did, said once at its end."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from bench.records import RunFolder

log = logging.getLogger("bench")


class SweepSummary(Callback):
    """After a multirun: count runs by status and print where the records are."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        root = Path(config.hydra.sweep.dir)
        statuses = Counter(
            RunFolder(meta.parent).status() or "unreadable" for meta in root.rglob("meta.json")
        )
        counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        log.info("sweep done: %s; records in %s", counts or "no runs", root.resolve())
        if statuses.get("failed") or statuses.get("interrupted"):
            log.warning("re-run the same command to resume interrupted and failed runs")

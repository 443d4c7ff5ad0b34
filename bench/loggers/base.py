"""What every logging backend implements (:mod:`bench.loggers`), and helpers they share."""

from __future__ import annotations

import importlib.util
import math
import numbers
from collections.abc import Mapping
from typing import Any, Protocol

from bench.interface import ConfigError


class Logger(Protocol):
    """One logging backend. Rows are the recorder's: ``frames`` and ``wall_seconds`` included."""

    def log_eval(self, row: Mapping[str, Any]) -> None:
        """One evaluation point (a ``metrics.csv`` row)."""

    def log_generation(self, row: Mapping[str, Any]) -> None:
        """One generation of a gradient-free method (a ``generations.csv`` row)."""

    def resume(self, frames: int, wall_seconds: float) -> None:
        """The run continues from a checkpoint taken at these frames and training seconds."""

    def close(self) -> None:
        """Flush and release files; called on every exit path."""


class Backend(Logger, Protocol):
    """A logger the runner opens from ``cfg.logger.<name>``."""

    #: what ``meta.json`` records about this backend (under ``loggers.<name>``)
    record: dict[str, Any]


def scalars(row: Mapping[str, Any]) -> dict[str, float]:
    """The row's finite numbers (strings such as ``eval_protocol`` and NaNs are left out)."""
    return {
        key: float(value)
        for key, value in row.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    }


def require(package: str) -> None:
    """Raise a :class:`ConfigError` naming the install command if ``package`` is missing."""
    if importlib.util.find_spec(package) is None:
        raise ConfigError(
            f"logger={package} needs the {package} package: pip install -e '.[loggers]'"
        )

"""Numbers for reading: one set of pure functions shared by report.md, index.html and .tex.

Counts and frames get thousands separators (``30,752``), returns and scores 2-3 significant
digits (``0.76``, ``-1,234``), intervals ``0.76 [0.62, 0.85]``, seconds a unit (``95 s``,
``12 min``). CSV tables keep the raw values.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np
import pandas as pd

#: columns holding counts (frames, steps, runs, parameters): printed as integers with separators.
COUNT_COLUMN = re.compile(
    r"(^|_)(frames|env_steps|steps|episodes|generations|seeds|runs|tasks|carried|rows|"
    r"parameters|evaluations|attempts|total|ranked)$"
)
#: columns holding a rank (ties share the mean rank: 1, 1.5, 2).
RANK_COLUMN = re.compile(r"(^|aggregate_)rank$")
#: columns holding probabilities (two decimals) and p-values (two significant digits).
PROBABILITY_COLUMN = re.compile(r"^(p_rank_first|p_x_better|fraction)$")
PVALUE_COLUMN = re.compile(r"(_p$|^p$|pvalue)")


def _finite(value: object) -> float | None:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def count(value: object) -> str:
    """``30752.0`` -> ``30,752``; missing -> empty."""
    v = _finite(value)
    return "" if v is None else f"{round(v):,}"


def number(value: object, digits: int = 3) -> str:
    """``digits`` significant digits, never scientific between 1e-4 and 1e15.

    ``0.7634`` -> ``0.763`` (``0.76`` with 2 digits), ``-0.5`` -> ``-0.500``; from
    ``10**(digits-1)`` on, whole units: ``30752.4`` -> ``30,752``; NaN -> empty.
    """
    v = _finite(value)
    if v is None:
        if isinstance(value, numbers.Real) and math.isinf(float(value)):
            return "∞" if float(value) > 0 else "-∞"
        return ""
    if v == 0:
        return "0"
    rounded = float(f"{v:.{digits}g}")  # 0.996 -> 1.0: one digit before the point
    magnitude = math.floor(math.log10(abs(rounded)))
    if magnitude >= digits - 1:
        return f"{v:,.0f}"  # whole units, no false zeros: 30,752 rather than 30,800
    if magnitude < -4:
        return f"{rounded:.{digits - 1}e}"
    return f"{rounded:,.{digits - 1 - magnitude}f}"


def decimals(value: float, digits: int = 3) -> int:
    """Decimals that show ``digits`` significant digits of ``value`` (0 from 10**(digits-1))."""
    v = _finite(value)
    if not v:
        return 0
    magnitude = math.floor(math.log10(abs(float(f"{v:.{digits}g}"))))
    return max(digits - 1 - magnitude, 0)


def interval(estimate: object, low: object, high: object, digits: int = 2) -> str:
    """``0.76 [0.62, 0.85]``: estimate and CI, all with the decimals that give the largest of
    them ``digits`` significant digits (``0.07 [0.02, 0.43]``, ``-1,234 [-1,500, -1,000]``)."""
    values = [_finite(v) for v in (estimate, low, high)]
    if values[0] is None:
        return number(estimate, digits)
    places = decimals(max(abs(v) for v in values if v is not None), digits)
    point, lo, hi = (None if v is None else f"{v:,.{places}f}" for v in values)
    return f"{point} [{lo}, {hi}]" if lo is not None and hi is not None else str(point)


def seconds(value: object) -> str:
    """``2.13`` -> ``2.1 s``, ``750`` -> ``12 min``, ``9000`` -> ``2.5 h``."""
    v = _finite(value)
    if v is None:
        return ""
    if abs(v) < 120:
        return f"{number(v, 2)} s"
    if abs(v) < 7200:
        return f"{number(v / 60, 2)} min"
    return f"{number(v / 3600, 2)} h"


def cell(value: object, column: str = "") -> str:
    """One table cell: ranks, counts (by column name or integer type), probabilities with two
    decimals, p-values with two significant digits, anything else three."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if _finite(value) is None and not isinstance(value, numbers.Real):
        return str(value)
    if RANK_COLUMN.search(column) and _finite(value) is not None:
        return f"{float(value):g}"
    if COUNT_COLUMN.search(column) or isinstance(value, numbers.Integral):
        return count(value)
    if PROBABILITY_COLUMN.search(column) and _finite(value) is not None:
        return f"{float(value):.2f}"
    if PVALUE_COLUMN.search(column):
        return number(value, 2)
    return number(value, 3)


def is_numeric_column(values: list[object]) -> bool:
    """Whether a column is numbers (right-aligned in HTML)."""
    present = [v for v in values if not (v is None or (isinstance(v, float) and math.isnan(v)))]
    return bool(present) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) for v in present
    )

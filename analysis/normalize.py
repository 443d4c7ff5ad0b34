"""Normalised scores: (score - low) / (high - low) with fixed, shipped references.

Atari: low = random, high = human (human-normalised score). Other tasks: low = measured
random-policy return, high = the reference score (gymnasium ``reward_threshold`` or a
published threshold). 0 = random policy, 1 = reference; values outside [0, 1] are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.references import canonical_game, reference_table


def normalise(score: np.ndarray | float, low: float, high: float) -> np.ndarray | float:
    """Map ``low`` to 0 and ``high`` to 1."""
    if high == low:
        raise ValueError(f"reference high == low ({high}): cannot normalise")
    return (np.asarray(score, dtype=float) - low) / (high - low)


def attach_references(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``game`` (if absent) and the reference columns (``low``, ``high``, sources) by join.

    Rows whose game has no reference keep NaN references (reported, not guessed).
    """
    out = frame.copy()
    if "game" not in out:
        out["game"] = out["env_id"].map(canonical_game)
    refs = reference_table()
    out = out.drop(columns=[c for c in refs.columns if c != "game" and c in out.columns])
    return out.merge(refs, on="game", how="left")


def add_normalised(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """For each ``{raw_column: normalised_column}``, add the normalised column."""
    out = frame if "low" in frame else attach_references(frame)
    out = out.copy()
    for raw, norm in columns.items():
        out[norm] = (out[raw] - out["low"]) / (out["high"] - out["low"])
    return out

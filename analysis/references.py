"""Fixed reference data shipped with the package: random/human/threshold and published scores.

Every reference is data (``analysis/data/*.csv``) with its source and certainty label
(CODE / VERIFIED / RECALLED, as in ``REFERENCE.md``); nothing is derived from the runs.

Canonical key: ``game`` is the lower-case alphanumeric task name without version, frame-skip
or observation suffix, so ``ALE/Pong-v5``, ``PongNoFrameskip-v4``, ``Pong-ramNoFrameskip-v4``
and the config names ``pong`` / ``pong_ram`` all join on ``pong``; ``CartPole-v1`` on
``cartpole``. The observation type (pixels vs RAM) is a property of the *task* (the run's
``env`` config name), not of the game's reference scores.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import pandas as pd


def canonical_game(env_id: str) -> str:
    """``ALE/Pong-v5``, ``PongNoFrameskip-v4``, ``pong_ram`` -> pong; ``Hopper-v5`` -> hopper."""
    name = str(env_id).split("/")[-1]
    name = re.sub(r"-v\d+$", "", name)
    name = re.sub(r"(NoFrameskip|Deterministic)$", "", name)
    name = re.sub(r"([-_]ram)$", "", name, flags=re.IGNORECASE)
    name = re.sub(r"(NoFrameskip|Deterministic)$", "", name)  # Pong-ramNoFrameskip
    name = re.sub(r"([-_]ram)$", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _read(name: str) -> pd.DataFrame:
    with resources.files("analysis").joinpath("data", name).open("r") as f:
        return pd.read_csv(f)


@cache
def atari_references() -> pd.DataFrame:
    """Per-game random and human scores (with sources, start condition and certainty)."""
    return _read("atari_references.csv")


@cache
def env_references() -> pd.DataFrame:
    """Non-Atari tasks: reference (threshold) and measured random-policy scores, with sources."""
    return _read("env_references.csv")


@cache
def published_results() -> pd.DataFrame:
    """Published scores and timesteps-to-threshold, long format, never pooled with ours."""
    return _read("published_results.csv")


def reference_table() -> pd.DataFrame:
    """One row per game: ``low`` (random) and ``high`` (human or threshold) with sources.

    ``high`` is also the threshold used for frames/seconds-to-threshold.
    """
    atari = atari_references().rename(
        columns={
            "random_score": "low",
            "human_score": "high",
            "random_source": "low_source",
            "human_source": "high_source",
        }
    )
    atari["kind"] = "human-normalised"
    atari["high_certainty"] = atari["certainty"]
    env = env_references().rename(
        columns={
            "random_score": "low",
            "reference_score": "high",
            "random_source": "low_source",
            "reference_source": "high_source",
            "reference_certainty": "high_certainty",
        }
    )
    env["kind"] = "random-to-reference"
    env["start_condition"] = "reset"
    cols = [
        "game",
        "kind",
        "low",
        "high",
        "low_source",
        "high_source",
        "high_certainty",
        "start_condition",
    ]
    return pd.concat([atari[cols], env[cols]], ignore_index=True)

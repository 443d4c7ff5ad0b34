"""Normalisation against the shipped references, checked by hand; canonical keys join."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.normalize import add_normalised, normalise
from analysis.references import (
    canonical_game,
    env_references,
    published_results,
    reference_table,
)

# The env configs ship in the bench package; read as files, so analysis still never imports bench.
CONFIGS = Path(__file__).resolve().parents[2] / "bench" / "conf" / "env"
LABELS = {"CODE", "VERIFIED", "RECALLED", "INFERRED"}


@pytest.mark.parametrize(
    "env_id",
    [
        "ALE/Pong-v5",
        "PongNoFrameskip-v4",
        "pong",
        "pong_ram",
        "Pong-ramNoFrameskip-v4",
        "ALE/Pong-ram-v5",
    ],
)
def test_canonical_game_pong_variants(env_id: str) -> None:
    assert canonical_game(env_id) == "pong"


def test_hand_computed_scores() -> None:
    frame = pd.DataFrame(
        {
            "env_id": ["ALE/Pong-v5", "CartPole-v1", "CartPole-v1", "ALE/Seaquest-v5"],
            "ret": [0.0, 475.0, 23.68, 42054.7],
        }
    )
    out = add_normalised(frame, {"ret": "norm"})
    assert out["norm"].tolist() == pytest.approx([20.7 / 35.3, 1.0, 0.0, 1.0])
    assert normalise(-100.0, -1207.56, -100.0) == pytest.approx(1.0)


def test_every_configured_env_has_a_reference_with_source() -> None:
    refs = reference_table().set_index("game")
    for path in CONFIGS.glob("*.yaml"):
        env_id = yaml.safe_load(path.read_text())["id"]
        game = canonical_game(env_id)
        assert game in refs.index, f"{path.name}: no reference for {game}"
        row = refs.loc[game]
        assert row["low_source"] and row["high_source"] and row["high_certainty"] in LABELS
        assert row["high"] != row["low"]


def test_gymnasium_thresholds_shipped() -> None:
    ref = env_references().set_index("env_id")["reference_score"]
    expected = {
        "CartPole-v1": 475,
        "Acrobot-v1": -100,
        "MountainCar-v0": -110,
        "MountainCarContinuous-v0": 90,
        "LunarLander-v3": 200,
        "Hopper-v5": 3800,
        "HalfCheetah-v5": 4800,
        "Ant-v5": 6000,
        "Swimmer-v5": 360,
        "InvertedPendulum-v5": 950,
        "Pendulum-v1": -100,
    }
    assert {k: ref[k] for k in expected} == expected


def test_published_results_labelled() -> None:
    pub = published_results()
    assert set(pub["certainty"]) <= LABELS
    assert pub[["source", "start_condition"]].notna().all().all()
    ga = pub.query("game == 'frostbite' and algo == 'ga' and metric == 'score'")
    assert ga["value"].item() == 4536 and ga["certainty"].item() == "RECALLED"

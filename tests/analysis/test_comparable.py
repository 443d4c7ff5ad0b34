"""Ranks only where algorithms are comparable: incompatible pairs are left out, failures score 0."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import comparable as cmp
from analysis import ranking as rk
from analysis.__main__ import load_config
from analysis.load import load_results
from analysis.pipeline import analyse

from .conftest import write_sac_case as _sac_case

FAST = ["aggregate.reps=50", "aggregate.curve_reps=10", "aggregate.poi_reps=20"]


def _runs(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(task, algo, status) rows; ``cannot`` is a skip as incompatible."""
    return pd.DataFrame(
        {
            "task": [t for t, _, _ in rows],
            "algo": [a for _, a, _ in rows],
            "status": ["skipped" if s == "cannot" else s for _, _, s in rows],
            "incompatible": [s == "cannot" for _, _, s in rows],
        }
    )


def test_action_space_classes_and_overall_from_skips() -> None:
    """Discrete tasks (sac cannot act), continuous (dqn cannot): overall = the universal algos."""
    rows = [(t, a, "completed") for t in ("cartpole", "acrobot", "pendulum") for a in ("ga", "ppo")]
    rows += [("cartpole", "sac", "cannot"), ("acrobot", "sac", "cannot")]
    rows += [("pendulum", "sac", "completed"), ("pendulum", "dqn", "cannot")]
    rows += [("cartpole", "dqn", "completed"), ("acrobot", "dqn", "failed")]
    found = cmp.scopes(_runs(rows), ["acrobot", "cartpole", "pendulum"])
    by_name = {s.name: s for s in found}
    overall = by_name[cmp.OVERALL]
    assert overall.tasks == ("acrobot", "cartpole", "pendulum")
    assert set(overall.algos) == {"ga", "ppo"} and set(overall.cannot_act) == {"dqn", "sac"}
    discrete = next(s for s in found if s.tasks == ("acrobot", "cartpole"))
    assert set(discrete.algos) == {"dqn", "ga", "ppo"}  # a failed run is not incompatibility
    continuous = next(s for s in found if s.tasks == ("pendulum",))
    assert set(continuous.algos) == {"ga", "ppo", "sac"} and continuous.cannot_act == ("dqn",)
    assert len(found) == 3


def test_everyone_comparable_gives_one_scope_and_other_skips_do_not_count() -> None:
    rows = [(t, a, "completed") for t in ("cartpole", "pendulum") for a in ("ga", "ppo")]
    runs = _runs(rows)
    seeds_skip = pd.DataFrame(
        [{"task": "pendulum", "algo": "ppo", "status": "skipped", "incompatible": False}]
    )
    found = cmp.scopes(pd.concat([runs, seeds_skip]), ["cartpole", "pendulum"])
    assert [(s.name, s.tasks, s.algos) for s in found] == [
        (cmp.OVERALL, ("cartpole", "pendulum"), ("ga", "ppo"))
    ]


def test_overall_keeps_every_algorithm_when_that_covers_more_pairs() -> None:
    """Three algorithms on five tasks, sac cannot act on one: drop that task, not sac."""
    tasks = ["t1", "t2", "t3", "t4", "t5"]
    rows = [(t, a, "completed") for t in tasks for a in ("a", "b")]
    rows += [(t, "sac", "completed") for t in tasks[:-1]] + [("t5", "sac", "cannot")]
    found = cmp.scopes(_runs(rows), tasks)
    assert [(s.name, s.tasks, s.algos) for s in found] == [
        (cmp.OVERALL, ("t1", "t2", "t3", "t4"), ("a", "b", "sac")),
        ("t5 (sac cannot act)", ("t5",), ("a", "b")),  # its class; the other class = overall
    ]


def test_single_algorithm_class_is_not_a_ranking() -> None:
    rows = [("cartpole", "ga", "completed"), ("cartpole", "dqn", "completed")]
    rows += [("pendulum", "ga", "completed"), ("pendulum", "dqn", "cannot")]
    rows += [("pendulum", "sac", "completed"), ("cartpole", "sac", "cannot")]
    names = [s.name for s in cmp.scopes(_runs(rows), ["cartpole", "pendulum"])]
    assert cmp.OVERALL not in names  # only ga acts everywhere: nothing to rank overall
    assert sorted(names) == ["cartpole (sac cannot act)", "pendulum (dqn cannot act)"]


def _analyse(root: Path, *overrides: str):
    cfg = load_config(None, [*FAST, "ranking.bootstrap_reps=10", *overrides])
    return analyse(load_results([root / "exp"]), cfg)


def test_sac_ranks_first_on_pendulum_not_last_for_cartpole(fake_root: Path) -> None:
    _sac_case(fake_root)
    a = _analyse(fake_root, "ranking.weights.wall_clock=0", "ranking.weights.compute=0")
    ranking = a.tables["ranking"]
    pend = ranking[ranking["scope"] == "pendulum (dqn cannot act)"].set_index("algo")
    assert pend.loc["sac", "aggregate_rank"] == 1.0 and pend.loc["sac", "tasks"] == "pendulum"
    overall = ranking[ranking["scope"] == cmp.OVERALL]
    assert set(overall["algo"]) == {"ga", "ppo"}
    assert set(overall["tasks"]) == {"cartpole, pendulum"}
    per_task = a.tables["ranking_per_task"]
    assert per_task.query("task == 'cartpole' and algo == 'sac'").empty  # never a 0
    # The old rule (everyone on every task, skipped pair = 0) put SAC below GA and PPO.
    per_run = a.scores.dropna(subset=["score_norm"]).reset_index(drop=True)
    _, _, old = rk.rank(per_run, load_config(None, ["ranking.weights.wall_clock=0"])["ranking"])
    assert old.set_index("algo").loc["sac", "aggregate_rank"] > 1.0
    lead = a.tables["leaders"].query("scope == 'pendulum (dqn cannot act)' and axis == 'frames'")
    assert lead.sort_values("estimate")["algo"].iloc[-1] == "sac"
    assert "status: skipped (cannot act)" in set(a.problems["check"])


def test_failed_comparable_pair_still_scores_zero(fake_root: Path) -> None:
    _sac_case(fake_root, failed_ppo=True)
    a = _analyse(fake_root)
    cart = a.tables["ranking_per_task"].query("task == 'cartpole'").set_index("algo")
    assert cart.loc["ppo", "weighted_score"] == 0.0 and not cart.loc["ppo", "completed"]
    overall = a.tables["ranking"].query("scope == 'overall'").set_index("algo")
    assert overall.loc["ppo", "scored_zero_on"] == "cartpole"
    lead = a.tables["leaders"].query("scope == 'overall' and axis == 'frames'").set_index("algo")
    assert lead.loc["ppo", "tasks"] == 2 and lead.loc["ppo", "runs"] == 3  # zeros, not dropped
    skip = _analyse(fake_root, "ranking.missing=skip").tables["ranking_per_task"]
    assert skip.query("task == 'cartpole' and algo == 'ppo'").empty


@pytest.mark.parametrize("reps", [8])
def test_bootstrap_is_per_scope_and_reproducible(fake_root: Path, reps: int) -> None:
    _sac_case(fake_root)
    a = _analyse(fake_root)
    per_run = a.scores.dropna(subset=["score_norm"]).reset_index(drop=True)
    scopes = cmp.scopes(a.runs, sorted(per_run["task"].unique()))
    cfg = load_config()["ranking"]
    one = rk.bootstrap_ranking(per_run, cfg, reps, 1, scopes)
    pd.testing.assert_frame_equal(one, rk.bootstrap_ranking(per_run, cfg, reps, 1, scopes))
    sums = one.groupby("scope")["p_rank_first"].sum()
    assert (sums >= 1.0 - 1e-9).all() and set(sums.index) == {s.name for s in scopes}

"""GA-NS: the Deep GA selecting by novelty (Such et al. 2017; Lehman & Stanley 2011).

Such et al. 2017: arXiv 1712.06567; Lehman & Stanley 2011: Evolutionary Computation 19(2).

Selection ranks genomes by novelty instead of return: the mean distance of a genome's
behaviour descriptor to its ``k`` nearest neighbours among the rest of the population and an
archive; each genome joins the archive with probability ``archive_prob``. Descriptors are
pluggable (:data:`bench.population.rollout.BEHAVIOURS`); the env family's default
(:mod:`bench.families`) is the final x-y position for MuJoCo and the Hard Maze, the RAM for
Atari (as NS-ES, Conti et al. 2018) and the final observation otherwise. The elite (the
reported policy) is still chosen by return, so a run is scored on the task, and it is carried
into the next population; but the parents are the top T by novelty alone (the plain GA swaps
the elite in for the T-th parent: here that would breed a return-driven lineage every
generation and pull the search back to the deceptive trap).

Generation rows add ``novelty_mean``, ``archive_size`` and, with the ``xy`` descriptor,
``behaviour_cells``: how many 10 x 10 cells the behaviours seen so far (population and archive)
fall in, a cheap measure of how much of a maze the search has covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from bench.envs import EnvSpec
from bench.interface import ConfigError, Contract
from bench.population.networks import PolicyNet
from bench.population.rollout import BEHAVIOURS, PopulationResult
from bench.registry import register
from bench.strategies.ga import DeepGA, GAStrategy


def novelty(points: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Mean Euclidean distance from each of ``points`` (n, D) to its k nearest in ``reference``.

    ``reference`` includes ``points`` themselves (first n rows); self-distances are skipped.
    """
    diff = points[:, None, :] - reference[None, :, :]
    dist = np.sqrt((diff * diff).sum(-1))  # (n, n + archive)
    dist[np.arange(len(points)), np.arange(len(points))] = np.inf
    k = min(k, reference.shape[0] - 1)
    if k <= 0:
        return np.zeros(len(points))
    nearest = np.partition(dist, k - 1, axis=1)[:, :k]
    return nearest.mean(axis=1)


class NoveltyGAStrategy(GAStrategy):
    """The GA's strategy ranking by novelty; the archive and coverage are its own state."""

    elite_joins_parents: ClassVar[bool] = False  # parents by novelty alone (module docstring)
    carry_elite: ClassVar[bool] = True  # ours: the return elite stays in the population

    def __init__(self, *ga: Any, novelty_k: int, archive_prob: float) -> None:
        super().__init__(*ga)
        self.novelty_k, self.archive_prob = novelty_k, archive_prob
        self.archive = np.zeros((0, 0), np.float32)
        self.cells: set[tuple[int, ...]] = set()

    def selection_scores(
        self, result: PopulationResult, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, Any]]:
        assert result.descriptors is not None
        points = result.descriptors.mean(axis=1).astype(np.float32)  # average over episodes
        archive = self.archive if self.archive.size else np.zeros((0, points.shape[1]), np.float32)
        scores = novelty(points, np.concatenate([points, archive]), self.novelty_k)
        added = rng.random(len(points)) < self.archive_prob
        self.archive = np.concatenate([archive, points[added]])
        row: dict[str, Any] = {
            "novelty_mean": float(scores.mean()),
            "archive_size": len(self.archive),
        }
        if points.shape[1] == 2:  # x-y: coverage in 10 x 10 cells
            self.cells.update(map(tuple, np.floor(points / 10.0).astype(int).tolist()))
            row["behaviour_cells"] = len(self.cells)
        return scores, row

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "archive": self.archive, "cells": sorted(self.cells)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.archive = np.asarray(state["archive"], np.float32)
        self.cells = {tuple(c) for c in state.get("cells", [])}


@register("ga_ns")
class NoveltySearchGA(DeepGA):
    """Deep GA with novelty-based selection.

    Args:
        novelty_k: nearest neighbours averaged (10 as in Such et al. / Conti et al.).
        archive_prob: chance each evaluated genome's descriptor joins the archive (0.01).
        behaviour: key of ``BEHAVIOURS``; null picks the env family's (:mod:`bench.families`).
        **ga: :class:`DeepGA` options.
    """

    contract: ClassVar[Contract] = replace(
        DeepGA.contract, solves=None,
        bad_params=({"novelty_k": 0}, {"archive_prob": 1.5}, {"behaviour": "colour"}),
    )  # fmt: skip

    def __init__(
        self,
        novelty_k: int = 10,
        archive_prob: float = 0.01,
        behaviour: str | None = None,
        **ga: Any,
    ) -> None:
        super().__init__(**ga)
        if novelty_k < 1:
            raise ConfigError(f"novelty_k must be >= 1, got {novelty_k}")
        if not 0.0 <= archive_prob <= 1.0:
            raise ConfigError(f"archive_prob must be in [0, 1], got {archive_prob}")
        if behaviour is not None and behaviour not in BEHAVIOURS:
            raise ConfigError(f"behaviour '{behaviour}' not in {sorted(BEHAVIOURS)}")
        self.novelty_k, self.archive_prob = int(novelty_k), float(archive_prob)
        self.behaviour = behaviour

    def behaviour_for(self, spec: EnvSpec) -> str | None:
        return self.behaviour or spec.facts.behaviour

    def check_compatible(self, spec: EnvSpec) -> None:
        super().check_compatible(spec)
        name = self.behaviour_for(spec)
        if name == "ram" and not spec.is_atari:
            raise ConfigError(f"behaviour 'ram' needs an Atari env, not {spec.id}")

    def make_strategy(self, net: PolicyNet, rng: np.random.Generator) -> NoveltyGAStrategy:
        return NoveltyGAStrategy(
            net, rng, self.population_size, self.truncation, self.mutation_power,
            self.elite_candidates, self.elite_eval_episodes, novelty_k=self.novelty_k,
            archive_prob=self.archive_prob,
        )  # fmt: skip

"""Each seed paper's own score, recorded beside the harness's protocol (``paper_score=<rule>``).

The harness scores every run the same way (``metrics.csv``: the current policy on the
evaluation protocol's episodes). A paper may report something else; to put our figure beside
theirs, a run can also record the paper's figure by the paper's rule, computed the way its
authors' code computes it. The rule's text, the tests behind each figure and the run's figure
go into ``paper_scores.csv`` and ``summary.json``; test episodes are never charged to the
training budget. A method implements the rules it can (``PopulationMethod.paper_score_rules``);
for other methods the record says the rule does not apply (SB3 baselines keep the harness's
protocol, as the papers' baselines were scored by their own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.budget import Budget
from bench.envs import EnvFactory
from bench.evaluation import LOG_EVERY_SECONDS, EvalResult, evaluate_off_budget
from bench.interface import ConfigError, Policy
from bench.records import RunFolder, write_csv


@dataclass(frozen=True)
class PaperRule:
    """A paper's scoring rule: its text (stored with every figure) and how tests combine."""

    text: str  # {episodes}: the run's test episodes, which a scaled run may cut from the paper's
    combine: str  # "max": the best test within the frame budget; "last": the final test


RULES: dict[str, PaperRule] = {
    "wong2024": PaperRule(
        "Wong et al. 2024: every 5 generations, the best offspring so far and the mean, each on "
        "the protocol's test episodes ({episodes}; the paper's 10); a test scores "
        "max(median(best), median(mean)); the run's figure is the maximum over tests within the "
        "frame budget (es/src/rl_es/main.py:112,118; collect_data.py:162; paper_plots.ipynb)",
        "max",
    ),
    "such2017": PaperRule(
        "Such et al. 2017: the elite of the generation with the best mean validation score "
        "(selected by validation, never by test), tested on the protocol's episodes ({episodes}; "
        "the paper's 200), not charged; the run's figure is their mean "
        "(gpu_implementation/ga.py:201-225)",
        "last",
    ),
}


def rule(name: str) -> PaperRule:
    if name not in RULES:
        raise ConfigError(f"unknown paper_score '{name}'; valid choices: {', '.join(RULES)}")
    return RULES[name]


class PaperScores:
    """Tests and figures of one run under one paper's rule (``paper_scores.csv``)."""

    def __init__(
        self,
        name: str,
        folder: RunFolder,
        factory: EnvFactory,
        budget: Budget,
        log_every_seconds: float = LOG_EVERY_SECONDS,  # a long test's progress lines
    ):
        self.name, self.rule = name, rule(name)
        self.log_every_seconds = log_every_seconds
        self.path = folder.paper_scores
        self.factory, self.budget = factory, budget
        self.rows: list[dict[str, Any]] = []
        self.test_frames, self.test_wall_seconds = 0, 0.0

    def test(self, policy: Policy) -> EvalResult:
        """The protocol's episodes, off the training clocks."""
        result, seconds = evaluate_off_budget(
            policy, self.factory, self.budget, self.log_every_seconds
        )
        self.test_wall_seconds += seconds
        self.test_frames += result.frames
        return result

    def log(self, score: float, **details: Any) -> None:
        """One test's figure under the rule, at the current training frames."""
        self.rows.append({
            "frames": self.budget.frames, "env_steps": self.budget.steps, "score": float(score),
            **details, "rule": self.name,
        })  # fmt: skip
        columns = list(dict.fromkeys(k for r in self.rows for k in r))
        write_csv(self.path, self.rows, columns)

    def summary(self) -> dict[str, Any]:
        within = [r for r in self.rows if r["frames"] <= self.budget.limits.frames] or self.rows
        figure = None
        if within:
            by_max = self.rule.combine == "max"
            figure = max(within, key=lambda r: r["score"]) if by_max else within[-1]
        return {
            "paper_score": None if figure is None else figure["score"],
            "paper_score_frames": None if figure is None else figure["frames"],
            "paper_score_rule": self.rule.text.format(episodes=self.factory.protocol.episodes),
            "paper_score_tests": len(self.rows),
            "paper_score_test_frames": self.test_frames,
            "paper_score_test_wall_seconds": round(self.test_wall_seconds, 4),
        }

    def state_dict(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "test_frames": self.test_frames,
                "test_wall_seconds": self.test_wall_seconds}  # fmt: skip

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rows = list(state["rows"])
        self.test_frames = int(state["test_frames"])
        self.test_wall_seconds = float(state["test_wall_seconds"])
        if self.rows:
            write_csv(self.path, self.rows, list(dict.fromkeys(k for r in self.rows for k in r)))


def median_return(result: EvalResult) -> float:
    return float(np.median(result.returns))

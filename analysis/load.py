"""Read ``results/`` folders (schema: RESULTS.md) into tidy frames; never imports ``bench``.

``load_results(paths)`` returns :class:`Results`: ``runs`` (one row per run folder),
``evals`` (one row per evaluation point), ``generations`` (gradient-free methods, one row per
generation) and ``problems`` (one row per file that is missing or malformed). Nothing is
dropped silently: a folder that cannot be read still gets a ``runs`` row with
``status='malformed'`` and a ``problems`` row saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.papers import load_paper_scores
from analysis.references import canonical_game

RUN_FILES = ("meta.json", "metrics.csv", "summary.json")
EVAL_COLUMNS = ("frames", "env_steps", "wall_seconds", "cpu_seconds", "eval_return_mean")
#: the newest record schema this analysis reads (bench/records.py SCHEMA_VERSION; RESULTS.md).
SCHEMA_VERSION = 2
VERSION_KEYS = ("python", "torch", "stable-baselines3", "gymnasium", "ale-py", "mujoco", "numpy")
SUMMARY_KEYS = (
    "final_eval_return",
    "final_eval_return_std",
    "max_eval_return_optimistic",
    "evaluations",
    "frames",
    "env_steps",
    "episodes",
    "wall_seconds",
    "cpu_seconds",
    "generations",
    "policy_parameters",
    "paper_score",
)
PROBLEM_COLUMNS = ["severity", "run_id", "check", "detail"]
EMPTY_RUN_COLUMNS = [  # so an empty load still has the columns validation reads
    "run_id",
    "status",
    "task",
    "game",
    "algo",
    "algo_kind",
    "seed",
    "env_family",
    "env_observation",
    "usable",
    "eval_protocol",
    "versions",
    "git_commit",
    "budget",
    "frames",
    "final_eval_return",
    "env",
    "env_id",
    "reason",
]
#: the words of bench's IncompatibleError ("algorithm 'sac' cannot act in env 'cartpole' ..."):
#: a run skipped with them is a pair that cannot run at all, not a failure. This is the one
#: place analysis learns which (algo, task) pairs are comparable (``incompatible`` column).
INCOMPATIBLE_REASON = "cannot act"


@dataclass(frozen=True)
class Results:
    runs: pd.DataFrame
    evals: pd.DataFrame
    generations: pd.DataFrame
    problems: pd.DataFrame
    #: paper-rule tests (``paper_scores.csv``): run_id, frames, score, ...
    paper_scores: pd.DataFrame = field(default_factory=pd.DataFrame)


def find_run_dirs(root: Path) -> list[Path]:
    """Folders holding any run file; ``.hydra`` and ``checkpoints`` subtrees are not runs."""
    root = Path(root)
    found = {
        p.parent
        for name in RUN_FILES
        for p in root.rglob(name)
        if not {".hydra", "checkpoints"} & set(p.relative_to(root).parts)
    }
    return sorted(found)


def _identity_from_path(path: Path) -> dict[str, Any]:
    """``<experiment>/<env>/<algo>/seed=<s>``: used when meta.json is unreadable."""
    parts = path.parts
    seed = re.fullmatch(r"seed=(-?\d+)", parts[-1]) if parts else None
    ident: dict[str, Any] = {"seed": int(seed.group(1)) if seed else None}
    if len(parts) >= 4:
        ident.update(experiment=parts[-4], env=parts[-3], algo=parts[-2])
    return ident


def _read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    if not path.exists():
        return None, "missing"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"malformed ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict):
        return None, "malformed (not a JSON object)"
    return data, None


def _read_csv(path: Path, required: Iterable[str]) -> tuple[pd.DataFrame | None, str | None]:
    if not path.exists():
        return None, "missing"
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:  # EmptyDataError and ParserError are ValueErrors
        return None, f"malformed ({type(exc).__name__}: {exc})"
    lacking = [c for c in required if c not in frame.columns]
    if lacking:
        return None, f"malformed (missing columns {lacking})"
    try:
        frame[list(required)] = frame[list(required)].apply(pd.to_numeric, errors="raise")
    except (ValueError, TypeError) as exc:
        return None, f"malformed (non-numeric values: {exc})"
    return frame, None


def _run_row(meta: dict[str, Any], summary: dict[str, Any] | None) -> dict[str, Any]:
    limits = meta.get("budget_limits") or {}
    versions = meta.get("versions") or {}
    git = meta.get("git") or {}
    machine = meta.get("machine") or {}
    row: dict[str, Any] = {
        k: meta.get(k)
        for k in (
            "experiment",
            "env",
            "env_id",
            "env_family",
            "env_observation",
            "algo",
            "algo_kind",
            "seed",
            "budget",
            "stop_reason",
            "eval_protocol",
            "frame_skip",
            "started_at",
            "ended_at",
            "attempts",
            "error",
            "reason",
        )
    }
    row.update(
        recorded_status=meta.get("status"),
        budget_frames=limits.get("frames"),
        budget_wall_seconds=limits.get("wall_seconds"),
        budget_cpu_seconds=limits.get("cpu_seconds"),
        eval_every_frames=limits.get("eval_every_frames"),
        git_commit=git.get("commit"),
        git_dirty=git.get("dirty"),
        hostname=machine.get("hostname"),
        cpu_model=machine.get("cpu_model"),
        versions=";".join(f"{k}={versions[k]}" for k in VERSION_KEYS if k in versions),
        scale=meta.get("scale", 1.0),  # records before schema 2 ran unscaled
        paper_rule=meta.get("paper_score"),  # a rule name, or why none applies
    )
    row.update({f"version_{k}": versions.get(k) for k in VERSION_KEYS})
    for key in SUMMARY_KEYS:
        row[key] = (summary or {}).get(key, meta.get(key) if key == "frames" else None)
    return row


def load_run(
    path: Path, root: Path
) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame | None, list[dict[str, Any]]]:
    """One run folder -> (runs row, evals, generations, problems)."""
    run_id = str(path.relative_to(root.parent)) if path != root else path.name
    problems: list[dict[str, Any]] = []

    def problem(severity: str, check: str, detail: str) -> None:
        problems.append({"severity": severity, "run_id": run_id, "check": check, "detail": detail})

    meta, err = _read_json(path / "meta.json")
    if meta is None:
        problem("error", "meta.json", err or "")
        row: dict[str, Any] = {**_identity_from_path(path), "recorded_status": None}
        status = "malformed"
    else:
        row = {}
        status = meta.get("status")
        version = meta.get("schema_version", 1)  # records before the field were version 1
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            problem(
                "error", "schema_version",
                f"record schema {version!r}; this analysis reads versions up to {SCHEMA_VERSION} "
                "(RESULTS.md): update neuroevo-bench",
            )  # fmt: skip
            status = "malformed"
        elif status == "running":  # RESULTS.md: a running record whose process is gone was killed
            status = "interrupted"
            problem(
                "warning", "status", "recorded 'running': read as interrupted (or still running)"
            )
    summary = None
    if status == "completed":
        summary, err = _read_json(path / "summary.json")
        if summary is None:
            problem("error", "summary.json", f"{err} for a completed run")
            status = "malformed"
    if meta is not None:
        row = _run_row(meta, summary)
    evals, err = _read_csv(path / "metrics.csv", EVAL_COLUMNS)
    failed_early = status == "failed" and err == "missing"  # failed before the first evaluation
    if evals is None and status != "skipped" and not failed_early:
        problem("error" if status == "completed" else "warning", "metrics.csv", err or "")
        if status == "completed":
            status = "malformed"
    if evals is not None and (evals["frames"].diff().dropna() < 0).any():
        problem("error", "metrics.csv", "frames decrease between rows")
        status = "malformed" if status == "completed" else status
    gens = None
    if row.get("algo_kind") == "gradient_free" and status == "completed":
        gens, err = _read_csv(path / "generations.csv", ("generation", "frames"))
        if gens is None:
            problem("warning", "generations.csv", f"{err} for a gradient-free run")
    row.update(
        run_id=run_id, path=str(path), status=status, eval_rows=0 if evals is None else len(evals)
    )
    if evals is not None and len(evals):
        row["last_eval_frames"] = float(evals["frames"].iloc[-1])
        _score_within_budget(row, evals, problem)
    return row, evals, gens, problems


def _score_within_budget(row: dict[str, Any], evals: pd.DataFrame, problem: Any) -> None:
    """Final score = the last evaluation at or before the frame budget.

    Methods stop between updates: a GA generation or a PPO rollout can run past the budget.
    The policy a method had *within* its budget is the one evaluated last at or before it
    (the recorder evaluates whenever an evaluation point is crossed), so every algorithm is
    scored on the same frames. The recorded final evaluation stays in
    ``final_eval_return_recorded`` and in the curves.
    """
    budget = row.get("budget_frames")
    if budget is None or row.get("final_eval_return") is None:
        return
    within = evals[evals["frames"] <= float(budget)]
    row["final_eval_return_recorded"] = row["final_eval_return"]
    row["frames_over_budget"] = max(0.0, float(evals["frames"].iloc[-1]) - float(budget))
    if len(within) and row["frames_over_budget"] > 0:
        row["final_eval_return"] = float(within["eval_return_mean"].iloc[-1])
        problem(
            "info", "budget",
            f"ran {row['frames_over_budget']:.0f} frames past its {budget} frame budget: "
            f"scored by its evaluation at {within['frames'].iloc[-1]:.0f} frames",
        )  # fmt: skip


def _derive(runs: pd.DataFrame) -> pd.DataFrame:
    """Canonical keys: ``game`` joins references; ``task`` (config name) is the comparison unit."""
    for col in EMPTY_RUN_COLUMNS:  # folders whose meta.json is unreadable lack most fields
        if col not in runs:
            runs[col] = None
    env_id = runs["env_id"].fillna(runs["env"]).fillna("")
    runs["game"] = env_id.map(canonical_game)
    # A RAM-observation env whose config name hides it still compares as a separate task.
    ram = runs["env_observation"].eq("ram") & ~runs["env"].fillna("").str.endswith("_ram")
    runs["task"] = runs["env"].fillna(runs["game"]).where(~ram, runs["game"] + "_ram")
    runs["usable"] = runs["status"].eq("completed")
    reason = runs["reason"].fillna("").astype(str)
    refused = reason.str.contains(INCOMPATIBLE_REASON, regex=False)
    runs["incompatible"] = runs["status"].eq("skipped") & refused
    return runs


def load_results(paths: Iterable[str | Path]) -> Results:
    """Load every run folder under each path (an experiment folder, or a whole ``results/``)."""
    rows, evals, gens, problems = [], [], [], []
    for root in map(Path, paths):
        if not root.exists():
            problems.append(
                {
                    "severity": "error",
                    "run_id": str(root),
                    "check": "path",
                    "detail": "does not exist",
                }
            )
            continue
        for run_dir in find_run_dirs(root):
            row, ev, gen, probs = load_run(run_dir, root)
            rows.append(row)
            problems.extend(probs)
            for frame, sink in ((ev, evals), (gen, gens)):
                if frame is not None and len(frame):
                    sink.append(frame.assign(run_id=row["run_id"]))
    runs = _derive(pd.DataFrame(rows) if rows else pd.DataFrame(columns=EMPTY_RUN_COLUMNS))
    ident = ["run_id", "task", "game", "algo", "algo_kind", "seed", "env_family", "status"]
    ident = [c for c in ident if c in runs.columns]

    def tidy(parts: list[pd.DataFrame]) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame(columns=[*ident, "frames"])
        return pd.concat(parts, ignore_index=True).merge(runs[ident], on="run_id", how="left")

    return Results(
        runs=runs,
        evals=tidy(evals),
        generations=tidy(gens),
        paper_scores=load_paper_scores(runs) if "path" in runs else pd.DataFrame(),
        problems=pd.DataFrame(problems, columns=PROBLEM_COLUMNS),
    )

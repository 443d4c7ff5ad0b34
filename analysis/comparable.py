"""Which algorithms are compared on which tasks (scopes), from the records alone.

A pair skipped as incompatible (``runs.incompatible``: bench refused it, e.g. SAC on
CartPole's discrete actions) cannot be scored: it is not a failure and must not count as 0.
A pair that could run but has no completed run (failed, interrupted, never run) is a failure
and keeps its rule (``ranking.missing``). Scopes:

- ``overall``: the largest complete block of the tasks x algorithms capability table, i.e.
  either every algorithm on the tasks all of them can act on, or the algorithms that can act
  on every task on all tasks (whichever holds more pairs; ties keep every algorithm);
- one scope per *comparability class*: tasks on which the same algorithms can act (in
  practice an action-space class: discrete vs continuous), each with those algorithms.

A class identical to ``overall``, or with a single algorithm, is not a scope. Every rank
names its scope and so the tasks it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

OVERALL = "overall"
MIN_ALGOS = 2  # a ranking of one algorithm ranks nothing


@dataclass(frozen=True)
class Scope:
    name: str
    tasks: tuple[str, ...]
    algos: tuple[str, ...]
    cannot_act: tuple[str, ...] = ()  # algorithms left out because they cannot act on a task

    def describe(self) -> str:
        """``5 algorithms on cartpole, pendulum``."""
        return f"{len(self.algos)} algorithms on {', '.join(self.tasks)}"


def incompatible(runs: pd.DataFrame) -> pd.Series:
    """Per run: skipped because the algorithm cannot act in the env (analysis/load.py)."""
    if "incompatible" not in runs:
        return pd.Series(False, index=runs.index)
    return runs["incompatible"].fillna(False).astype(bool)


def status_labels(runs: pd.DataFrame) -> pd.Series:
    """Per run: its status, with incompatible skips labelled ``cannot act``."""
    return runs["status"].where(~incompatible(runs), "cannot act")


def capability(runs: pd.DataFrame, tasks: list[str] | None = None) -> pd.DataFrame:
    """Tasks x algorithms: False where every record of the pair was skipped as incompatible.

    A pair with no record at all is assumed able to act (a missing run, not an incompatible
    pair). ``tasks`` limits the rows (e.g. to tasks with a normalised score).
    """
    tasks = sorted(set(runs["task"].dropna())) if tasks is None else sorted(tasks)
    algos = sorted(set(runs["algo"].dropna()))
    refused = runs.assign(refused=incompatible(runs)).groupby(["task", "algo"])["refused"].all()
    table = pd.DataFrame(True, index=pd.Index(tasks, name="task"), columns=algos)
    for (task, algo), flag in refused.items():
        if flag and task in table.index:
            table.loc[task, algo] = False
    return table


def _label(tasks: list[str], cannot: list[str]) -> str:
    shown = ", ".join(tasks) if len(tasks) <= 3 else f"{', '.join(tasks[:2])} +{len(tasks) - 2}"
    return f"{shown} ({', '.join(cannot)} cannot act)" if cannot else shown


def _overall(able: pd.DataFrame) -> Scope | None:
    everyone = [t for t in able.index if able.loc[t].all()]
    universal = [a for a in able.columns if able[a].all()]
    by_task = len(everyone) * able.shape[1]
    by_algo = able.shape[0] * len(universal)
    if max(by_task, by_algo) == 0:
        return None
    if by_task >= by_algo:
        return Scope(OVERALL, tuple(everyone), tuple(able.columns))
    cannot = tuple(a for a in able.columns if a not in universal)
    return Scope(OVERALL, tuple(able.index), tuple(universal), cannot)


def scopes(runs: pd.DataFrame, tasks: list[str]) -> list[Scope]:
    """The overall scope, then one per comparability class (module docstring)."""
    able = capability(runs, tasks)
    able = able.loc[:, able.any(axis=0)]  # an algorithm that can act nowhere is ranked nowhere
    if able.empty:
        return []
    out = [s for s in [_overall(able)] if s is not None and len(s.algos) >= MIN_ALGOS]
    classes = able.groupby(list(able.columns), sort=False).groups.items()
    if len(classes) == 1 and out:
        return out
    for pattern, task_idx in classes:
        flags = pattern if isinstance(pattern, tuple) else (pattern,)
        algos = [a for a, ok in zip(able.columns, flags, strict=True) if ok]
        cannot = [a for a, ok in zip(able.columns, flags, strict=True) if not ok]
        class_tasks = sorted(task_idx)
        same = out and (set(class_tasks), set(algos)) == (set(out[0].tasks), set(out[0].algos))
        if len(algos) >= MIN_ALGOS and not same:
            label = _label(class_tasks, cannot)
            out.append(Scope(label, tuple(class_tasks), tuple(algos), tuple(cannot)))
    return out


def scope_table(found: list[Scope]) -> pd.DataFrame:
    """One row per scope: its tasks, its algorithms and those that cannot act there."""
    return pd.DataFrame(
        [
            {
                "scope": s.name,
                "tasks": ", ".join(s.tasks),
                "algorithms": ", ".join(s.algos),
                "cannot_act": ", ".join(s.cannot_act),
            }
            for s in found
        ],
        columns=["scope", "tasks", "algorithms", "cannot_act"],
    )

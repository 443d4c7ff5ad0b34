"""The plan as text: jobs by algo x env, frames, core-hours, wall-clock, and the assumptions."""

from __future__ import annotations

import os
from collections import Counter

from bench.plan.model import JOB_OVERHEAD_SECONDS, Cost
from bench.plan.planner import Plan
from bench.records import machine_info

COLUMNS = ("algo", "env", "jobs", "cores", "frames/job", "training frames",
           "eval frames (at most)", "core-hours", "wall/job: training + eval")  # fmt: skip


def render(plan: Plan) -> str:
    lines = [_headline(plan), "", *_table(plan.costs), "", *_totals(plan)]
    if plan.skipped:
        lines += ["", f"Skipped ({len(plan.skipped)}, not trained):"]
        lines += [f"  {j.cfg.algo.name}/{j.cfg.env.name} seed {j.cfg.seed}: {j.skipped}"
                  for j in plan.skipped]  # fmt: skip
    lines += ["", "Assumptions:", *(f"  - {a}" for a in _assumptions(plan))]
    lines += ["", "Rates (frames per core-second, this machine):", *_rates(plan)]
    return "\n".join(lines)


def _headline(plan: Plan) -> str:
    pairs = Counter(c.job.pair for c in plan.costs)
    return (
        f"Plan (nothing trained, no folder made): {_n(len(plan.costs), 'job')} to run over "
        f"{_n(len(pairs), 'algo x env pair')}, {len(plan.skipped)} skipped."
    )


def _n(count: int, thing: str) -> str:
    return f"{count} {thing}{'s' * (count != 1)}"


def _table(costs: list[Cost]) -> list[str]:
    groups: dict[tuple[str, str], list[Cost]] = {}
    for c in costs:
        groups.setdefault(c.job.pair, []).append(c)
    rows = [_row(pair, group) for pair, group in groups.items()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(COLUMNS)]

    def line(cells: tuple[str, ...]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in pairs)

    return [line(COLUMNS), *(line(r) for r in rows)]


def _row(pair: tuple[str, str], group: list[Cost]) -> tuple[str, ...]:
    n = len(group)
    return (
        *pair, str(n), str(group[0].cores), f"{group[0].job.frames:,}",
        f"{sum(c.frames for c in group):,.0f}", f"{sum(c.eval_frames for c in group):,.0f}",
        _hours(sum(c.core_seconds for c in group)),
        f"{duration(max(c.train_wall_seconds for c in group))} + "
        f"{duration(max(c.eval_seconds for c in group))}",
    )  # fmt: skip


def _totals(plan: Plan) -> list[str]:
    train = sum(c.train_core_seconds for c in plan.costs)
    evaluation = sum(c.eval_seconds for c in plan.costs)
    order = f"{_n(len(plan.costs), 'job')} over {_n(plan.slots, 'slot')}"
    longest = ""
    if plan.longest_first_seconds < 0.95 * plan.wall_seconds:
        longest = f"; longest first it would take {duration(plan.longest_first_seconds)}"
    return [
        f"Frames: {sum(c.frames for c in plan.costs):,.0f} training, at most "
        f"{sum(c.eval_frames for c in plan.costs):,.0f} evaluation.",
        f"Compute: {_hours(train + evaluation)} core-hours ({_hours(train)} training, at most "
        f"{_hours(evaluation)} evaluation).",
        f"Wall-clock on {_n(plan.cores, 'core')} ({plan.cores_source}): "
        f"{duration(plan.wall_seconds)} ({order}, in the sweep's order{longest}).",
    ]


def _assumptions(plan: Plan) -> list[str]:
    info = machine_info()
    fresh = [plan.rates[k] for k in plan.fresh]
    took = sum(r.seconds for _, r in fresh)
    out = [
        f"rates: measured on this machine ({info['cpu_model']}, {info['cpu_count']} cores) by "
        f"short bursts of real training per algo x env, in CPU seconds: {len(fresh)} "
        f"calibrated now ({took:.1f} s), {len(plan.rates) - len(fresh)} from {plan.cache_path} "
        "(plan.recalibrate=true measures again). Atari games share one game's rates.",
        "the cores are the jobs' own; one torch thread per job." + _load_note(),
        "evaluation: " + _episode_note(plan) + ", on the job's one core, in series with "
        "training; population methods evaluate at most once a generation.",
        f"per job {JOB_OVERHEAD_SECONDS} s of harness (BENCHMARKS.md 6); not counted: the "
        "sweep's start-up, checkpoints, strategy updates, Deep GA genome decoding (~33 ms a "
        "child on the 4M net), paper_score tests, and a generation's overshoot of the budget.",
        "SB3: rates of the first seconds of learning (replay buffers filling, exploration "
        "high); off-policy methods collect learning_starts frames at the faster rate first.",
    ]
    uneven = {c.job.pair: c for c in plan.costs if c.balance < 0.5}
    for (algo, env), c in uneven.items():
        out.append(
            f"{algo}/{env} on {c.cores} cores: the busiest worker's share of a generation is "
            f"{1 / c.balance:.1f}x an even one (workers get whole genomes, each with all its "
            "episodes: the Deep GA's elite candidates keep their validation episodes on one "
            f"worker each), so the cores run at that fraction of their speed; spread evenly, "
            f"training would take {duration(c.train_wall_seconds * c.balance)}."
        )
    if plan.scaling is not None:
        s = plan.scaling
        here = len(os.sched_getaffinity(0))
        when = "now" if plan.scaling_fresh else "earlier, cached"
        out.append(
            f"a core beside other busy cores (jobs side by side, a generation's workers) does "
            f"{s.efficiency:.2f} of a lone core's work per CPU-second (2 worker processes vs 1, "
            f"measured {when}; wall speed-up here {s.wall_speedup:.2f}x); a population job on "
            "k cores splits each generation over k workers. EXTRAPOLATED beyond this "
            f"machine's {here} cores: no network, scheduler or straggler costs."
        )
    return out


def _episode_note(plan: Plan) -> str:
    if plan.episode_frames:
        return f"episodes of {plan.episode_frames:,} frames (plan.eval_episode_frames)"
    return ("every episode runs to its cap (the env's time limit; Atari: "
            "eval.max_episode_frames), an upper bound; plan.eval_episode_frames=F sets a "
            "typical length")  # fmt: skip


def _load_note() -> str:
    load, cores = os.getloadavg()[0], len(os.sched_getaffinity(0))
    if load < 0.5 * cores:
        return ""
    return (f" This machine is busy now (load average {load:.1f} on {cores} cores): "
            "wall-clock here will be longer.")  # fmt: skip


def _rates(plan: Plan) -> list[str]:
    lines = []
    for key, (label, r) in plan.rates.items():
        warm = f", {r.warmup_fps:,.0f} before learning starts" if r.warmup_frames else ""
        where = "now" if key in plan.fresh else "cached"
        lines.append(f"  {label}: training {r.train_fps:,.0f}{warm}, evaluation "
                     f"{r.eval_fps:,.0f} ({where}, on {r.measured_on})")  # fmt: skip
    return lines


def _hours(core_seconds: float) -> str:
    hours = core_seconds / 3600
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.3g}"


def duration(seconds: float) -> str:
    """45 s, 3 min 12 s, 2 h 05 min, 3.2 days."""
    whole, minutes = round(seconds), round(seconds / 60)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{seconds / 86400:.1f} days"

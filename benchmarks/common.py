"""Shared bits of the benchmark scripts: machine description, tables, JSON output, timing."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.records import machine_info, now_iso, package_versions

OUT_DIR = Path(__file__).resolve().parent / "out"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true", help="a seconds-long run (smoke test)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repetitions per case")
    p.add_argument("--out", type=Path, default=None, help="JSON output path")
    return p


def best_of(fn: Callable[[], float], repeats: int) -> float:
    """Median of ``repeats`` calls of ``fn`` (each returns seconds or a rate)."""
    return statistics.median(fn() for _ in range(repeats))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:,.3g}" if isinstance(v, float) else str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(vals: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(columns), sep, *(line(r) for r in cells)])


def write(name: str, rows: Sequence[dict[str, Any]], out: Path | None, **extra: Any) -> Path:
    path = out or OUT_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    payload = {"benchmark": name, "when": now_iso(), "machine": info,
               "versions": package_versions(), "rows": list(rows), **extra}  # fmt: skip
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"machine: {info['cpu_model']}, {info['cpu_count']} cores; wrote {path}")
    return path

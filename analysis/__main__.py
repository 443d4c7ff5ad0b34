"""``bench-report results/<experiment> [more folders] [key=value ...]``.

Also ``python -m analysis``; ``main(argv)`` for tests.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from analysis.load import load_results
from analysis.pipeline import analyse
from analysis.report import terminal_summary, write_report
from analysis.validate import MixedProtocolError


def load_config(config: str | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Package defaults, then ``config`` (a YAML file), then ``key=value`` overrides."""
    with resources.files("analysis").joinpath("conf", "report.yaml").open() as f:
        cfg = OmegaConf.load(f)
    if config:
        cfg = OmegaConf.merge(cfg, OmegaConf.load(config))
    if overrides:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench-report", description=__doc__)
    p.add_argument("items", nargs="+", help="results folders, then optional key=value overrides")
    p.add_argument("--out", help="report folder (default: reports/<first folder name>)")
    p.add_argument("--config", help="YAML file merged over analysis/conf/report.yaml")
    p.add_argument(
        "--mix-protocols",
        action="store_true",
        help="pool runs under different evaluation protocols (refused otherwise)",
    )
    p.add_argument("--seed", type=int, help="bootstrap seed (config: seed)")
    args = p.parse_intermixed_args(argv)
    # A path that exists is a folder even if it contains '=' (seed=0); otherwise k=v is an override.
    args.paths = [i for i in args.items if Path(i).exists() or "=" not in i]
    args.overrides = [i for i in args.items if i not in args.paths]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    overrides = list(args.overrides)
    if args.mix_protocols:
        overrides.append("mix_protocols=true")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    cfg = load_config(args.config, overrides)
    results = load_results(args.paths)
    try:
        analysis = analyse(results, cfg)
    except MixedProtocolError as exc:
        print(f"bench-report: {exc}", file=sys.stderr)
        return 2
    first = Path(args.paths[0]).resolve()
    out = Path(args.out) if args.out else Path("reports") / first.name
    index = write_report(analysis, cfg, out, f"neuroevo-bench report: {', '.join(args.paths)}")
    print(terminal_summary(analysis))
    print(f"report: {index.resolve()}")
    return 0 if len(results.runs) else 1  # nothing found: still a report, but a failing exit


if __name__ == "__main__":
    sys.exit(main())

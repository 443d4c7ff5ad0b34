"""Every setting checked before any work: a config error is one line, not a run.

A bad value (a negative budget, an unknown device, text where a number belongs, an env id
gymnasium does not know, an unwritable results folder, a Ray address nobody answers at) is
reported as one line that names the setting, the value and what is accepted. The check runs
where the config is composed, as Hydra callbacks (:class:`ValidateConfig`), before Hydra creates
a run folder: a single run on ``on_run_start``, every job of a sweep on ``on_multirun_start``,
so a sweep with one bad job starts none. ``bench.run.main`` prints the line and exits 2.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import torch
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bench.envs import EnvSpec, EvalProtocol
from bench.interface import ConfigError, IncompatibleError
from bench.paper_scores import RULES
from bench.registry import algo_class, build, config_params

DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def _integer(minimum: int, *, nullable: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        return None if ok else f"an integer >= {minimum}" + (" or null" if nullable else "")

    return check


def _number(minimum: float, *, nullable: bool = False, strict: bool = True):
    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and (value > minimum if strict else value >= minimum)
        bound = f"{'>' if strict else '>='} {minimum:g}"
        return None if ok else f"a number {bound}" + (" or null" if nullable else "")

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _device(value: Any) -> str | None:
    if not isinstance(value, str) or not DEVICE.match(value):
        return "cpu, cuda or cuda:<index>"
    if value.startswith("cuda") and not torch.cuda.is_available():
        return "cpu (torch sees no CUDA device here)"
    return None


def _paper(value: Any) -> str | None:
    return None if value is None or value in RULES else f"null or one of {', '.join(RULES)}"


# setting -> check: None when the value is accepted, else what is accepted.
SETTINGS: dict[str, Callable[[Any], str | None]] = {
    "seed": _integer(0),
    "scale": _number(0),
    "device": _device,
    "torch_threads": _integer(0),
    "overwrite": _boolean,
    "fail_fast": _boolean,
    "paper_score": _paper,
    "budget.frames": _number(0),
    "budget.wall_seconds": _number(0, nullable=True),
    "budget.cpu_seconds": _number(0, nullable=True),
    "budget.eval_every_frames": _number(0, strict=False),
    "eval.episodes": _integer(1),
    "eval.seed": _integer(0),
    "eval.noop_max": _integer(0),
    "eval.max_episode_frames": _integer(1),
    "eval.sticky_actions": _number(0, strict=False),
    "eval.deterministic": _boolean,
    "checkpoint.every_frames": _number(0, nullable=True),
    "checkpoint.every_seconds": _number(0, nullable=True),
    "checkpoint.max_replay_buffer_mb": _number(0, strict=False),
    "checkpoint.keep": _boolean,
    "plan.run": _boolean,
    "plan.cores": _integer(1, nullable=True),
    "plan.recalibrate": _boolean,
    "plan.calibration_seconds": _number(0),
    "plan.eval_episode_frames": _integer(1, nullable=True),
}


def bad(setting: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"{setting}={_show(value)}: expected {accepted}")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_job(cfg: DictConfig, in_sweep: bool = False) -> None:
    """Raise a one-line :class:`ConfigError` for the first bad setting of one job."""
    for setting, check in SETTINGS.items():
        value = OmegaConf.select(cfg, setting, default=None)
        accepted = check(value)
        if accepted is not None:
            raise bad(setting, value, accepted)
    _check_results_dir(cfg.results_dir)
    _check_algo(_yaml(cfg.algo), _yaml(cfg.env), _yaml(cfg.eval), in_sweep)


def _yaml(node: DictConfig) -> str:
    return OmegaConf.to_yaml(node, resolve=True)


@cache
def _check_env(env_yaml: str, eval_yaml: str) -> EnvSpec:
    """The env builds (the id is registered, its kwargs are accepted); cached per sweep."""
    env, protocol = OmegaConf.create(env_yaml), OmegaConf.create(eval_yaml)
    try:
        EvalProtocol(**OmegaConf.to_container(protocol))
        spec = EnvSpec(**OmegaConf.to_container(env))
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from None
    try:
        spec.action_space  # noqa: B018 -- builds the env once
    except Exception as error:  # gymnasium's errors differ by cause; all are the user's value
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"env.id={spec.id!r}: cannot be made: {message}") from None
    return spec


@cache
def _check_algo(algo_yaml: str, env_yaml: str, eval_yaml: str, in_sweep: bool) -> None:
    """The hyperparameters build the algorithm, and it can act in the env; cached per sweep."""
    spec = _check_env(env_yaml, eval_yaml)
    algo = OmegaConf.create(algo_yaml)
    if algo.get("name") is None:
        raise ConfigError("algo.name is missing")
    algo_class(algo.name)
    params = config_params(algo, spec.family, spec.id)
    try:
        built = build(algo.name, params)
    except ConfigError as error:  # the constructor's own range checks name the bare knob
        text = str(error)
        raise ConfigError(text if text.startswith("algo.") else f"algo.params: {text}") from None
    try:
        built.check_compatible(spec)
    except IncompatibleError:
        if not in_sweep:
            raise  # in a sweep, an incompatible pair is recorded as skipped
    _check_ray(params)


def _check_ray(params: dict[str, Any]) -> None:
    address = params.get("ray_address")
    if params.get("backend") != "ray" or address in (None, "auto", "local"):
        return
    host, _, port = str(address).removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except (OSError, ValueError) as error:
        raise bad(
            "algo.params.ray_address", address,
            f"host:port of a running Ray cluster (`ray start --head`), 'auto', or null for a "
            f"local one; {error}",
        ) from None  # fmt: skip


def _check_results_dir(value: Any) -> None:
    path = Path(str(value)).expanduser().resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise bad("results_dir", value, f"a folder ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise bad("results_dir", value, f"a folder this user can write ({existing} is not)")


# -- where the config is composed -------------------------------------------------------------
class ValidateConfig(Callback):
    """Checks a run's config, or every job of a sweep, before Hydra makes any folder."""

    # Hydra turns a callback's exceptions into warnings, so a rejection exits from here.
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        job = _job(config)
        try:
            check_job(job)
        except USER_ERRORS as error:
            reject(error)
        _plan_if_asked(config, [job])

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        search_path = [
            o for o in config.hydra.overrides.hydra if str(o).startswith("hydra.searchpath")
        ]
        composer, checked, jobs = _Composer(search_path), set(), []
        for overrides in sweep_jobs(config):
            try:
                jobs.append(_check_sweep_job(overrides, composer, checked))
            except USER_ERRORS as error:
                reject(error, f" (in the job {' '.join(overrides)})")
        _plan_if_asked(config, jobs)


def _plan_if_asked(config: DictConfig, jobs: list[DictConfig]) -> None:
    """``plan=true``: print the checked jobs' plan and exit before any folder or job."""
    if OmegaConf.select(config, "plan.run", default=False):
        from bench.plan import plan_and_exit  # calibration imports SB3: only when planning

        plan_and_exit(config, jobs)


class _Composer:
    """Job configs of a sweep, composed per algorithm and per env rather than per pair: Hydra
    takes about half a second a composition and a paper's sweep has dozens of pairs. A job's
    config is its other settings' composition with the env node of its env's composition (the
    budget's per-env entries are interpolations, resolved against that node)."""

    def __init__(self, search_path: list[str]) -> None:
        self.search_path = search_path  # the command line's hydra.searchpath (user configs)
        self.by_rest: dict[tuple[str, ...], DictConfig] = {}
        self.env_nodes: dict[str, DictConfig] = {}

    def __call__(self, rest: tuple[str, ...], env: str | None) -> DictConfig:
        if rest not in self.by_rest:
            self.by_rest[rest] = self._compose(list(rest))
        cfg = self.by_rest[rest].copy()
        if env is not None:
            if env not in self.env_nodes:
                self.env_nodes[env] = self._compose([*rest, env]).env
            cfg.env = self.env_nodes[env]
        return cfg

    def _compose(self, overrides: list[str]) -> DictConfig:
        from hydra import compose

        return compose(config_name="bench", overrides=[*self.search_path, *overrides])


def _check_sweep_job(overrides: list[str], compose: _Composer, checked: set) -> DictConfig:
    """Each (settings, env) pair is checked once; each seed alone. Returns the job's config."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    seeds = [o for o in overrides if o.startswith("seed=")]
    envs = [o for o in overrides if o.startswith("env=")]
    rest = tuple(o for o in overrides if o not in seeds and o not in envs)
    env = envs[-1] if envs else None
    job = compose(rest, env)
    if (rest, env) not in checked:
        check_job(job, in_sweep=True)
        checked.add((rest, env))
    for seed in seeds:
        value = OverridesParser.create().parse_override(seed).value()
        accepted = SETTINGS["seed"](value)
        if accepted is not None:
            raise bad("seed", value, accepted)
        job.seed = value
    return job


def _job(config: DictConfig) -> DictConfig:
    return OmegaConf.masked_copy(config, [k for k in config if k != "hydra"])


def sweep_jobs(config: DictConfig) -> Iterator[list[str]]:
    """Each job's overrides, expanded as Hydra's basic sweeper expands them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    parsed = OverridesParser.create().parse_overrides(arguments)
    for batch in BasicSweeper.split_arguments(parsed, None):
        yield from batch


# -- what the user sees -----------------------------------------------------------------------
# What a user's input can get wrong: said in one line (bench.run.main), not as a stack.
USER_ERRORS = (ConfigError, IncompatibleError, HydraException, OmegaConfBaseException)
_DETAILS = ("full_key:", "object_type=", "reference_type=")  # OmegaConf's context lines


def reject(error: BaseException, where: str = "") -> NoReturn:
    """Say what was wrong in one line on stderr and exit with status 2 (a usage error)."""
    print(f"error: {one_line(error)}{where}", file=sys.stderr)
    sys.exit(2)


def one_line(error: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages folded into one line (a trailing
    "Available options in 'algo':" listing becomes a comma-separated list)."""
    text = str(error).split("Config search path:")[0]  # Hydra's search path: not the user's
    lines = [line.strip() for line in text.splitlines()]
    if error.__cause__ is not None:  # OmegaConf's reason behind Hydra's "Could not override"
        lines[1:1] = str(error.__cause__).splitlines()[:1]
    parts: list[str] = []
    listing = False
    for line in (x for x in lines if x and not x.startswith(_DETAILS)):
        if parts and parts[-1].endswith(":"):
            parts[-1] += " " + line
            listing = True
        elif listing:
            parts[-1] += ", " + line
        else:
            parts.append(line)
    return " ".join(parts) or type(error).__name__

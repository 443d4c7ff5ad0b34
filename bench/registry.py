"""Algorithm registry: a name in ``algo=<name>`` maps to one :class:`Algorithm` class.

Registering is one decorator in a module of :data:`ALGORITHM_PACKAGES`, which are searched on
first use, so a new module needs no import list. Everything that enumerates algorithms asks
here: the config tests, the contract test suite (tests/test_contract.py runs every registered
algorithm through the same checks), ``tools/zoo_to_configs.py`` (by :func:`names` of a kind).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bench.interface import Algorithm, ConfigError

ALGOS: dict[str, type[Algorithm]] = {}
#: packages whose modules register algorithms (every module in them is imported).
ALGORITHM_PACKAGES = ("bench.strategies", "bench.sb3")
A = TypeVar("A", bound=type[Algorithm])


def register(name: str) -> Callable[[A], A]:
    def decorate(cls: A) -> A:
        if name in ALGOS and ALGOS[name] is not cls:
            raise ValueError(f"algorithm name '{name}' registered twice")
        cls.name = name  # type: ignore[attr-defined]
        ALGOS[name] = cls
        return cls

    return decorate


def _load_all() -> None:
    for package_name in ALGORITHM_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{module.name}")


def names(base: type | None = None) -> list[str]:
    """Registered names, sorted; with ``base``, only algorithms that subclass it."""
    _load_all()
    return sorted(n for n, cls in ALGOS.items() if base is None or issubclass(cls, base))


def algo_class(name: str) -> type[Algorithm]:
    _load_all()
    if name not in ALGOS:
        raise ConfigError(f"unknown algorithm '{name}'; valid choices: {', '.join(sorted(ALGOS))}")
    return ALGOS[name]


def build(name: str, params: Mapping[str, Any]) -> Algorithm:
    """Instantiate ``name`` with keyword hyperparameters; unknown keywords are a ConfigError."""
    cls = algo_class(name)
    cls.check_hyperparameter_types(params)
    try:
        return cls(**params)
    except TypeError as error:
        raise ConfigError(f"bad hyperparameters for algorithm '{name}': {error}") from error


def config_params(algo: Any, family: str, env_id: str) -> dict[str, Any]:
    """The effective hyperparameters of an ``algo`` config node on an env (its ``tuned``
    values and non-null ``params``, merged by :func:`resolve_params`)."""
    from omegaconf import OmegaConf

    tuned = algo.get("tuned")  # an algorithm may ship no tuned values
    return resolve_params(
        OmegaConf.to_container(tuned, resolve=True) if tuned is not None else None,
        OmegaConf.to_container(algo.params, resolve=True),
        family,
        env_id,
    )


def resolve_params(
    tuned: Mapping[str, Mapping[str, Any]] | None,
    params: Mapping[str, Any] | None,
    family: str,
    env_id: str,
) -> dict[str, Any]:
    """Effective hyperparameters: tuned[family] < tuned[env_id] < non-null ``params``.

    ``params`` lists every knob with ``null`` meaning "tuned value, else the library default",
    so a plain command-line override (``algo.params.learning_rate=3e-4``) always wins.
    """
    tuned = tuned or {}
    merged: dict[str, Any] = {}
    for key in ("default", family, env_id):
        merged.update(tuned.get(key) or {})
    merged.update({k: v for k, v in (params or {}).items() if v is not None})
    return merged

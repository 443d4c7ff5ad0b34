"""Contract between the runner and every algorithm, gradient-based or gradient-free.

The runner owns the environments, the budget, the evaluation and the records; an algorithm
only trains. It receives a :class:`TrainContext` and returns when ``ctx.budget.exhausted()``
says so (or its own stopping rule fires). Everything an algorithm does to the outside world
goes through the context: charging frames, handing the current policy to evaluation,
logging per-generation rows, and checkpointing.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from bench.budget import Budget
    from bench.envs import EnvFactory, EnvSpec
    from bench.loggers import Loggers
    from bench.paper_scores import PaperScores
    from bench.recorder import Recorder
    from bench.records import Checkpoints


@runtime_checkable
class Policy(Protocol):
    """Anything that acts: structurally an SB3 ``PolicyPredictor``, so SB3 models qualify.

    ``observation`` carries a leading batch dimension (one row per env); the returned actions
    do too.
    """

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]: ...


REQUIRED = object()  # a constructor keyword without a default
_KIND_TEXT = {"bool": "true or false", "int": "an integer", "number": "a number"}


def _kind(value: Any) -> str | None:
    """``bool``, ``int`` or ``number`` for a default that asks for one; None otherwise."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "number" if isinstance(value, float) else None


def _fits(value: Any, kind: str) -> bool:
    """Whether a configured value can stand where a default of ``kind`` stands."""
    if isinstance(value, str):
        return False
    if kind == "bool":
        return isinstance(value, bool) or not isinstance(value, int | float)
    if isinstance(value, bool):
        return False
    if kind == "int" and isinstance(value, float):
        return value.is_integer()  # rl-zoo3 writes buffer sizes as 1e6
    return True


class IncompatibleError(ValueError):
    """An algorithm cannot act in an environment (e.g. DQN on continuous actions)."""


class ConfigError(ValueError):
    """A setting that makes no sense (T > N, sigma <= 0, ...), raised before any work."""


@dataclass
class TrainContext:
    """What the runner hands to :meth:`Algorithm.train`.

    Attributes:
        env: builds the run's environments; ``env.make(seed, train=True)`` for training.
        budget: frames / wall / CPU limits. Algorithms charge every training step with
            ``budget.charge(steps=..., episodes=...)`` and stop once ``budget.exhausted()``.
        seed: the run's seed; the only source of randomness.
        recorder: evaluation and logging. Call ``recorder.maybe_evaluate(policy)`` whenever
            frames were charged; it evaluates when an ``eval_every_frames`` point was crossed.
        checkpoints: ``checkpoints.save(state)`` / ``checkpoints.load()`` for resuming.
        device: torch device for gradient-free population inference ("cpu" or "cuda").
        paper: the paper's scoring rule to record (``paper_score=<rule>``), when this algorithm
            implements it (:attr:`Algorithm.paper_score_rules`); None otherwise.
        loggers: the run's TensorBoard / W&B backends (``logger=``); the recorder feeds them
            its rows, and SB3 runs give them SB3's own scalars (``bench.loggers.sb3_logger``).
    """

    env: EnvFactory
    budget: Budget
    seed: int
    recorder: Recorder
    checkpoints: Checkpoints
    device: str = "cpu"
    paper: PaperScores | None = None
    loggers: Loggers | None = None


@dataclass(frozen=True)
class Contract:
    """How the contract tests (tests/test_contract.py) exercise an algorithm, declared beside it.

    Attributes:
        params: small hyperparameters for the contract runs (a population of 10, say).
        frames: frames of a contract run on CartPole / Pendulum.
        solves: ``(env, frames, threshold)``: an evaluation reaches ``threshold`` on ``env``
            within ``frames`` frames with the shipped config (None: not claimed).
        solve_params: overrides for that run (only where the shipped config is too big for a
            test, e.g. OpenAI-ES's 100 MB noise table).
        bad_params: settings the constructor must refuse with a :class:`ConfigError`.
        exact_resume: a run resumed from a checkpoint ends exactly as an uninterrupted one
            (gradient-free methods save every RNG state; SB3 does not).
        backends: population evaluation backends whose runs must equal the ``vector`` one.
        backend_params: settings both runs of that check add (a setting that ties the run to
            one worker, as per-step observation folding does, is switched off there).
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    frames: int = 2_000
    solves: tuple[str, int, float] | None = None
    solve_params: Mapping[str, Any] = field(default_factory=dict)
    bad_params: tuple[Mapping[str, Any], ...] = ()
    exact_resume: bool = False
    backends: tuple[str, ...] = ()
    backend_params: Mapping[str, Any] = field(default_factory=dict)


class Algorithm(ABC):
    """One training method. Subclasses are registered in :mod:`bench.registry`.

    Hyperparameters are constructor keyword arguments (from ``algo.params`` in the config),
    stored under their own names; the constructor validates them and raises
    :class:`ConfigError` on nonsense.
    """

    #: "gradient" or "gradient_free": analysis colours and groups by it.
    kind: ClassVar[str]
    #: what the contract test suite runs it with (see :class:`Contract`).
    contract: ClassVar[Contract] = Contract()
    #: papers' scoring rules it records (bench/paper_scores.py), beside the harness's protocol.
    paper_score_rules: ClassVar[frozenset[str]] = frozenset()
    #: action space kinds this algorithm can act in: subset of {"discrete", "continuous"}.
    action_kinds: ClassVar[frozenset[str]] = frozenset({"discrete", "continuous"})
    #: observation kinds: subset of {"vector", "image"}.
    observation_kinds: ClassVar[frozenset[str]] = frozenset({"vector", "image"})

    def check_compatible(self, spec: EnvSpec) -> None:
        """Raise :class:`IncompatibleError` naming both parties if this pair cannot run."""
        name = type(self).registry_name()
        if spec.action_kind not in self.action_kinds:
            raise IncompatibleError(
                f"algorithm '{name}' cannot act in env '{spec.name}' ({spec.id}): it supports "
                f"{sorted(self.action_kinds)} actions, the env has {spec.action_kind} actions"
            )
        if spec.observation_kind not in self.observation_kinds:
            raise IncompatibleError(
                f"algorithm '{name}' cannot act in env '{spec.name}' ({spec.id}): it supports "
                f"{sorted(self.observation_kinds)} observations, the env gives "
                f"{spec.observation_kind} observations"
            )

    @classmethod
    def registry_name(cls) -> str:
        return getattr(cls, "name", cls.__name__)

    @abstractmethod
    def train(self, ctx: TrainContext) -> Policy:
        """Train until the budget is spent; return the final policy."""

    @classmethod
    def hyperparameter_defaults(cls) -> dict[str, Any]:
        """Constructor keywords and their defaults, following ``**kwargs`` up the class
        hierarchy: what ``bench/conf/algo/<name>.yaml`` lists under ``params``
        (tests/test_configs.py checks). A keyword without a default maps to ``REQUIRED``."""
        defaults: dict[str, Any] = {}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or klass is object:
                continue
            params = list(inspect.signature(init).parameters.values())[1:]
            for p in params:
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                    defaults.setdefault(p.name, REQUIRED if p.default is p.empty else p.default)
            if not any(p.kind is p.VAR_KEYWORD for p in params):
                break
        return defaults

    @classmethod
    def hyperparameter_names(cls) -> list[str]:
        return list(cls.hyperparameter_defaults())

    @classmethod
    def check_hyperparameter_types(cls, params: Mapping[str, Any]) -> None:
        """A value of the wrong kind (text where the default is a number, say) is a
        ConfigError that names the knob, before the constructor sees it."""
        defaults = cls.hyperparameter_defaults()
        for name, value in params.items():
            kind = _kind(defaults.get(name))
            if kind is None or value is None or cls.accepts_text(name, value):
                continue
            if not _fits(value, kind):
                raise ConfigError(
                    f"algo.params.{name}={value!r}: expected {_KIND_TEXT[kind]} "
                    f"(default {defaults[name]!r})"
                )

    @classmethod
    def accepts_text(cls, name: str, value: Any) -> bool:
        """Whether a text value stands for something else here (SB3: ``lin_<x>`` schedules)."""
        return False

    def hyperparameters(self) -> Mapping[str, Any]:
        """The effective hyperparameters, recorded with the run."""
        return {name: getattr(self, name) for name in self.hyperparameter_names()}

    def policy_size(self) -> int | None:
        """Number of trainable policy parameters, once known (recorded in the summary)."""
        return None

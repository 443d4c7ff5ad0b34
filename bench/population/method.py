"""The generation loop shared by gradient-free methods: ask -> evaluate -> tell, evosax style.

A method is two things, both in its module under ``bench/strategies/``: a :class:`Strategy`
(ask/tell over genomes; it knows nothing of envs, budgets, workers or records, so it can be
tested on a hand-written fitness) and a registered :class:`PopulationMethod` subclass whose
constructor takes the hyperparameters and whose :meth:`~PopulationMethod.make_strategy` builds
the strategy. This base does the rest: it builds the network for the env and the evaluator
(``vector`` / ``process`` / ``ray``), charges every training and validation episode to the
budget, logs one row per generation, hands the current best policy to evaluation,
checkpoints, and resumes so that an interrupted run ends exactly as an uninterrupted one with
the same seed: all randomness comes from one ``numpy.random.Generator`` whose state is
checkpointed, and every episode is reset with a seed drawn from it. A generation, once
started, is finished, so a run may overshoot its frame budget by up to one generation (the
papers count the same way). Optional running observation normalisation (Salimans et al. 2017,
arXiv 1703.03864; Wong et al. 2024, arXiv 2402.06912) is applied here, for every strategy.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from bench.envs import EnvSpec
from bench.interface import Algorithm, ConfigError, Contract, Policy, TrainContext
from bench.paper_scores import PaperScores
from bench.population.backends import BACKENDS, Evaluator, make_evaluator
from bench.population.genomes import GenomeBatch
from bench.population.networks import CNNS, NETWORKS, NetSpec, NetworkPolicy, PolicyNet
from bench.population.obs_norm import OPENAI_ES, NormRule, RunningObsNorm
from bench.population.rollout import PopulationResult, RolloutOptions, default_max_envs
from bench.population.strategy import Strategy

SEED_HIGH = 2**31 - 1  # episode reset seeds are drawn in [0, SEED_HIGH)


class LazyPolicy:
    """A genome that becomes a :class:`NetworkPolicy` on first use (materialising is not free)."""

    def __init__(self, make: Any) -> None:
        self._make, self._policy = make, None

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        if self._policy is None:
            self._policy = self._make()
        return self._policy.predict(observation, state, episode_start, deterministic)


class PopulationMethod(Algorithm):
    """Base of every population method (see module docstring).

    Args:
        network: ``linear`` | ``mlp`` | ``nature_cnn`` | ``large_cnn`` | ``small_cnn``.
        hidden_sizes: MLP widths.
        activation: MLP activation (``tanh`` | ``relu``).
        linear_bias, zero_init: linear policy options (Wong et al.: no bias, zero init).
        episodes_per_eval: training episodes per genome per generation.
        max_episode_steps: extra training episode cap in agent steps (Deep GA Atari: 5000).
        backend: ``vector`` | ``process`` | ``ray``; workers: process/ray worker count.
        max_envs: env slots per worker run in lock-step (None: ``default_max_envs``: 16-256
            for dense nets by size, 16 for CNNs, whose genomes take 4-16 MB each).
        ray_address: an existing Ray cluster (None: a local one).
        obs_norm: running observation normalisation.
        obs_norm_fold: when training rollouts fold observations into it: ``step`` (every time
            step, child by child: Wong et al.; needs one worker, since a worker's children then
            depend on each other) | ``generation`` (once per generation: any backend and worker
            count gives the same run); None: the method's ``obs_norm_rule``.
        allow_linear_on_pixels: permit a linear policy on image observations.
    """

    kind: ClassVar[str] = "gradient_free"
    contract: ClassVar[Contract] = Contract(exact_resume=True, backends=("process",))
    #: how ``obs_norm`` normalises (bench/population/obs_norm.py: the authors' rules).
    obs_norm_rule: ClassVar[NormRule] = OPENAI_ES
    #: initial weights of non-zero-init nets (bench/population/networks.py NetSpec.init).
    net_init: ClassVar[str] = "scaled_normal"

    def __init__(
        self,
        network: str = "mlp",
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "tanh",
        linear_bias: bool = False,
        zero_init: bool = True,
        episodes_per_eval: int = 1,
        max_episode_steps: int | None = None,
        backend: str = "vector",
        workers: int | None = None,
        max_envs: int | None = None,
        ray_address: str | None = None,
        obs_norm: bool = False,
        obs_norm_fold: str | None = None,
        allow_linear_on_pixels: bool = False,
    ) -> None:
        if network not in NETWORKS:
            raise ConfigError(f"network '{network}' not in {NETWORKS}")
        if backend not in BACKENDS:
            raise ConfigError(f"backend '{backend}' not in {BACKENDS}")
        if activation not in ("tanh", "relu"):
            raise ConfigError(f"activation must be tanh or relu, got {activation}")
        if int(episodes_per_eval) < 1:
            raise ConfigError(f"episodes_per_eval must be >= 1, got {episodes_per_eval}")
        if max_envs is not None and int(max_envs) < 1:
            raise ConfigError(f"max_envs must be >= 1 or null, got {max_envs}")
        if workers is not None and int(workers) < 1:
            raise ConfigError(f"workers must be >= 1 or null, got {workers}")
        self.network, self.hidden_sizes = network, tuple(int(h) for h in hidden_sizes)
        self.activation, self.linear_bias, self.zero_init = activation, linear_bias, zero_init
        self.episodes_per_eval, self.max_episode_steps = int(episodes_per_eval), max_episode_steps
        self.backend, self.workers, self.max_envs = backend, workers, max_envs
        self.ray_address, self.obs_norm = ray_address, bool(obs_norm)
        per_step = self._check_fold(obs_norm_fold, backend, workers)
        self.obs_norm_fold = "step" if per_step else "generation"  # recorded as it ran
        self.allow_linear_on_pixels = bool(allow_linear_on_pixels)
        self.generation = 0
        self.net_spec: NetSpec | None = None
        self.net: PolicyNet | None = None
        self.evaluator: Evaluator | None = None
        self.norm: RunningObsNorm | None = None
        self.strategy: Strategy | None = None
        self.ctx: TrainContext | None = None

    def _check_fold(self, fold: str | None, backend: str, workers: int | None) -> bool:
        if fold not in (None, "step", "generation"):
            raise ConfigError(f"obs_norm_fold must be step, generation or null, got {fold}")
        per_step = self.obs_norm_rule.per_step if fold is None else fold == "step"
        if per_step and self.obs_norm and backend != "vector" and workers != 1:
            raise ConfigError(
                f"obs_norm_fold=step folds observations in child by child, so the children "
                f"must share one worker: backend={backend} with workers={workers} would split "
                "them (use workers=1, backend=vector, or obs_norm_fold=generation)"
            )
        return per_step

    # -- what a method defines ----------------------------------------------------------------
    @abstractmethod
    def make_strategy(self, net: PolicyNet, rng: np.random.Generator) -> Strategy:
        """A fresh strategy for ``net`` (a resumed run then loads its saved state into it)."""

    def paper_tests(self, paper: PaperScores) -> None:
        """After a generation: the paper rule's tests, if it tests during the run."""

    def paper_final_test(self, paper: PaperScores) -> None:
        """After training: the paper rule's test, if it tests at the end."""

    def genomes_to_cache(self) -> int:
        """Seed-chain genomes each worker keeps between calls (the GA: its T + 1)."""
        return 32

    def training_action_noise(self) -> float:
        """Std of Gaussian noise added to continuous actions in training episodes (0: none)."""
        return 0.0

    def behaviour_for(self, spec: EnvSpec) -> str | None:
        """Key of the behaviour descriptor the evaluator records (novelty search), or None."""
        return None

    # -- services -------------------------------------------------------------------------------
    def evaluate(
        self, batch: GenomeBatch, episodes: int, rng: np.random.Generator
    ) -> PopulationResult:
        """Evaluate ``batch`` for ``episodes`` each with seeds from ``rng``; charge the budget."""
        assert self.evaluator is not None and self.ctx is not None
        seeds = rng.integers(0, SEED_HIGH, size=(len(batch), episodes))
        per_step = self.obs_norm_fold == "step"
        norm = self.norm.for_rollouts(per_step) if self.norm is not None else None
        result = self.evaluator.evaluate(batch, seeds, norm, collect_obs=self.norm is not None)
        self.ctx.budget.charge(
            steps=result.steps, episodes=result.episodes, cpu_seconds=result.cpu_seconds
        )
        self.ctx.recorder.log_train_episodes(result.returns.ravel().tolist())
        return result

    def make_policy(self, weights: np.ndarray) -> NetworkPolicy:
        assert self.net_spec is not None
        norm = self.norm.current() if self.norm is not None else None
        return NetworkPolicy(self.net_spec, weights, norm)

    def policy(self) -> Policy:
        """The strategy's current best as a lazily built policy."""
        strategy = self.strategy
        assert strategy is not None
        return LazyPolicy(lambda: self.make_policy(strategy.best()))

    # -- Algorithm ------------------------------------------------------------------------------
    def check_compatible(self, spec: EnvSpec) -> None:
        super().check_compatible(spec)
        image = spec.observation_kind == "image"
        if image and self.network == "linear" and not self.allow_linear_on_pixels:
            raise ConfigError(
                f"a linear policy on pixel observations ({spec.id}) is almost surely a mistake; "
                "set network=nature_cnn|large_cnn|small_cnn or allow_linear_on_pixels=true"
            )
        if not image and self.network in CNNS:
            raise ConfigError(
                f"network '{self.network}' needs image observations; {spec.id} has vectors"
            )

    def policy_size(self) -> int | None:
        return None if self.net is None else self.net.num_params

    def _build(self, ctx: TrainContext) -> None:
        spec = ctx.env.spec
        self.check_compatible(spec)
        self.net_spec = NetSpec.for_env(
            self.network, spec.observation_space, spec.action_space, spec.family,
            hidden=self.hidden_sizes, activation=self.activation, bias=self.linear_bias,
            zero_init=self.zero_init, init=self.net_init,
        )  # fmt: skip
        self.net = self.net_spec.build()
        self.norm = (
            RunningObsNorm(self.net_spec.obs_shape, self.obs_norm_rule) if self.obs_norm else None
        )
        if str(ctx.device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():  # fail here, not in every worker's first call
                raise ConfigError(f"device={ctx.device} but torch sees no CUDA device")
        slots = self.max_envs or default_max_envs(self.net.dense, self.net.num_params)
        every = None if ctx.recorder is None else ctx.recorder.log_every_seconds  # calibration
        options = RolloutOptions(
            int(slots), self.max_episode_steps, self.behaviour_for(spec), ctx.device,
            cache_genomes=self.genomes_to_cache(), action_noise=self.training_action_noise(),
            log_every_seconds=every,
        )  # fmt: skip
        self.evaluator = make_evaluator(
            self.backend, ctx.env, self.net_spec, options, self.workers, self.ray_address
        )
        self._restarts_logged = 0

    def train(self, ctx: TrainContext) -> Policy:
        self.ctx = ctx
        self._build(ctx)
        assert self.net is not None
        rng = np.random.default_rng(ctx.seed)
        self.strategy = self.make_strategy(self.net, rng)
        loaded = ctx.checkpoints.load()
        try:
            if loaded is None:
                ctx.recorder.maybe_evaluate(self.policy())  # the initial policy, at frame 0
            else:
                self._restore(loaded[0], rng)
            while ctx.budget.exhausted() is None:
                ctx.recorder.log_generation(self._generation(rng))
                if ctx.paper is not None:
                    self.paper_tests(ctx.paper)
                ctx.recorder.maybe_evaluate(self.policy())
                if ctx.checkpoints.due():
                    ctx.budget.pause()  # writing a checkpoint is not training
                    ctx.checkpoints.save(self._checkpoint_state(rng))
                    ctx.budget.resume()
            if ctx.paper is not None:
                self.paper_final_test(ctx.paper)
            return self.make_policy(self.strategy.best())
        finally:
            if self.evaluator is not None:
                self.evaluator.close()

    def _generation(self, rng: np.random.Generator) -> dict[str, Any]:
        """ask -> evaluate -> tell (-> validate), then fold in the observation statistics."""
        strategy, evaluator = self.strategy, self.evaluator
        assert strategy is not None and evaluator is not None
        batch = strategy.ask(rng)
        for name, vector in strategy.shared().items():
            evaluator.broadcast(name, vector.astype(np.float32))
        result = self.evaluate(batch, self.episodes_per_eval, rng)
        row = strategy.tell(batch, result, rng)
        follow_up = strategy.validation()
        if follow_up is not None:
            candidates, episodes = follow_up
            row.update(
                strategy.tell_validation(candidates, self.evaluate(candidates, episodes, rng))
            )
        if self.norm is not None:
            self.norm.update(result.obs_stats)
        self.generation += 1
        fitness = result.fitness
        restarts = evaluator.restarts - self._restarts_logged  # workers replaced this generation
        self._restarts_logged = evaluator.restarts
        return {
            "return_best": float(fitness.max()),
            "return_mean": float(fitness.mean()),
            "return_std": float(fitness.std()),
            "population": len(batch),
            "genome_batch_bytes": batch.nbytes(),
            "worker_restarts": restarts,
            **row,
        }

    def _checkpoint_state(self, rng: np.random.Generator) -> dict[str, Any]:
        assert self.strategy is not None
        return {
            "rng": rng.bit_generator.state,
            "generation": self.generation,
            "norm": self.norm.state_dict() if self.norm is not None else None,
            "strategy": self.strategy.state_dict(),
        }

    def _restore(self, state: Mapping[str, Any], rng: np.random.Generator) -> None:
        assert self.strategy is not None
        rng.bit_generator.state = state["rng"]
        self.generation = int(state["generation"])
        if self.norm is not None and state["norm"] is not None:
            self.norm.load_state_dict(state["norm"])
        self.strategy.load_state_dict(state["strategy"])

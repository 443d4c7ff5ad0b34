"""Running observation normalisation (Salimans et al. 2017, arXiv 1703.03864; Wong et al. 2024,
arXiv 2402.06912): workers collect :class:`ObsStats`, the generation loop folds them into a
:class:`RunningObsNorm`, and every policy acts on :func:`net_input` of its observations.

Folding: a rule's statistics are folded in once per generation (every episode of a generation
sees the same normalisation), or, where its authors' code does so (Wong et al.), at every time
step, child by child: :class:`FoldingObsNorm` normalises each row of a lock-step batch with the
statistics before it (the run's so far plus the earlier rows of the same step).

Order: observations are first put on the net's input scale (:func:`scale_obs`: Atari RAM bytes
to [-1, 1], pixels to [0, 1]), then normalised, and the statistics are those of the scaled
values, so a normalised +3 reaches the net as +3. (Normalising raw bytes and scaling after, as
this harness once did, turned +3 into about -0.98.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OBS_CLIP = 5.0  # as in OpenAI-ES: normalised inputs clipped to +-5 std
RAM_SCALE, PIXEL_SCALE = np.float32(127.5), np.float32(255.0)


def scale_obs(obs: np.ndarray, obs_scale: str) -> np.ndarray:
    """Raw observations on the net's input scale (float32): ``ram`` bytes / 127.5 - 1,
    ``pixels`` / 255, ``vector`` unchanged. The same float32 operations as
    :meth:`bench.population.networks.PolicyNet.preprocess` does on bytes."""
    if obs_scale == "ram":
        return np.asarray(obs, np.float32) / RAM_SCALE - np.float32(1.0)
    if obs_scale == "pixels":
        return np.asarray(obs, np.float32) / PIXEL_SCALE
    return np.asarray(obs, np.float32)


@dataclass(frozen=True)
class ObsNorm:
    """A normalisation to apply: ``(x - mean) / std``, clipped to +-``clip`` (None: no clip)."""

    mean: np.ndarray
    std: np.ndarray
    clip: float | None = OBS_CLIP

    def __call__(self, scaled: np.ndarray) -> np.ndarray:
        out = (scaled - self.mean) / self.std
        if self.clip is not None:
            out = np.clip(out, -self.clip, self.clip)
        return out.astype(np.float32)


def net_input(
    obs: np.ndarray,
    obs_scale: str,
    norm: ObsNorm | FoldingObsNorm | None,
    stats: ObsStats | None = None,
    seen: np.ndarray | list[bool] | None = None,
) -> np.ndarray:
    """What a policy net is fed for raw ``obs`` (one row per env).

    Without normalisation the raw rows are returned (bytes stay bytes: a quarter of the copy,
    and the net scales them itself). Otherwise the rows are scaled, normalised, and their
    statistics (rows ``seen``, default all) folded into ``stats``; the normalised float32 rows
    are returned (the net takes float input as already scaled). A :class:`FoldingObsNorm`
    normalises with ``stats`` as they stand before this step's rows are folded in.
    """
    if norm is None and stats is None:
        return obs
    scaled = scale_obs(obs, obs_scale)
    if isinstance(norm, FoldingObsNorm):
        if stats is None:
            raise ValueError("a FoldingObsNorm needs the call's statistics (collect_obs=True)")
        out = norm(scaled, stats, seen)
    else:
        out = norm(scaled) if norm is not None else obs
    if stats is not None:
        stats.add(scaled if seen is None else scaled[np.asarray(seen, dtype=bool)])
    return out


@dataclass
class ObsStats:
    """Sufficient statistics of observations seen: count, sum and sum of squares."""

    count: float
    total: np.ndarray
    total_sq: np.ndarray

    @classmethod
    def zeros(cls, shape: Sequence[int]) -> ObsStats:
        return cls(0.0, np.zeros(shape), np.zeros(shape))

    def add(self, rows: np.ndarray) -> None:
        """Fold in a batch of observations (one per row), in float64."""
        seen = np.asarray(rows, dtype=np.float64)
        self.count += len(seen)
        self.total += seen.sum(0)
        self.total_sq += (seen * seen).sum(0)

    def merge(self, other: ObsStats | None) -> ObsStats:
        if other is None:
            return self
        return ObsStats(
            self.count + other.count, self.total + other.total, self.total_sq + other.total_sq
        )


@dataclass(frozen=True)
class NormRule:
    """How a method's authors normalise, read in their code.

    Attributes:
        prior_count: pseudo-observations at zero the statistics start from (None: one per
            input dimension).
        prior_sq: their sum of squares, per dimension (with ``prior_count`` it sets the
            starting variance).
        var_floor: lower bound on every variance.
        zero_below_std: inputs whose std is below this are zeroed (their std taken as inf).
        clip: normalised values are clipped to +-clip (None: not clipped).
        ddof: the variance divides by ``count - ddof`` (0: population, 1: sample).
        unseen_std: the std of every input (mean 0) before any observation is folded in
            (None: the prior's). It decides what the first episodes act on.
        per_step: the authors fold observations in at every time step of the training
            rollouts, child by child (a :class:`FoldingObsNorm`), not once per generation.
    """

    prior_count: float | None
    prior_sq: float
    var_floor: float
    zero_below_std: float
    clip: float | None
    ddof: int = 0
    unseen_std: float | None = None
    per_step: bool = False

    def mean_std(
        self, count: np.ndarray | float, total: np.ndarray, total_sq: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std (float64) from statistics with more than the prior's count; ``count``
        broadcasts against ``total`` (one count per row of a batch of statistics)."""
        mean = total / count
        spread = np.maximum(total_sq - count * mean**2, 0.0)
        var = np.maximum(spread / (count - self.ddof), self.var_floor)
        std = np.sqrt(var)
        std[std < self.zero_below_std] = np.inf
        return mean, std


#: openai/evolution-strategies-starter: RunningStat starts at count 0.01, sumsq 0.01
#: (es_distributed/es.py:27-29, 141-144); std = sqrt(max(var, 1e-2)) (es.py:42); clip +-5
#: (policies.py:145).
OPENAI_ES = NormRule(prior_count=1e-2, prior_sq=1e-2, var_floor=1e-2, zero_below_std=0.0, clip=5.0)
#: ann-w/solving_drl_tasks_with_es_and_linear_policy_networks es/src/rl_es/objective.py:32-47:
#: Welford from a count of nb_inputs at mean 0, var = s / (k - 1); no clipping, no epsilon;
#: std < 1e-7 -> inf. Before its first observation the normaliser is mean 0, std 1
#: (objective.py:22-27): only the first child's first step acts on the scaled observations as
#: they are. (With the prior's std, every input was zeroed: all children of generation 0 played
#: the same NOOP game, measured on Atari RAM, a generation without signal.) The statistics are
#: updated during training rollouts at every time step, child by child (objective.py:227-235,
#: ``Objective.eval_parallel``: ``self.normalizer.observe(obs)`` after each child's action).
WONG_2024 = NormRule(
    prior_count=None, prior_sq=0.0, var_floor=0.0, zero_below_std=1e-7, clip=None, ddof=1,
    unseen_std=1.0, per_step=True,
)  # fmt: skip


@dataclass(frozen=True)
class FoldingObsNorm:
    """Per-step folding (:attr:`NormRule.per_step`): row ``j`` of a lock-step batch is
    normalised with ``base`` plus the call's statistics so far plus the rows ``seen`` before
    ``j`` in this step, as Wong et al.'s loop over children does. ``base`` is the run's
    statistics at the start of the call; the call's are folded into it at the generation's end,
    so the next call starts where this one stopped."""

    base: ObsStats
    rule: NormRule
    prior_count: float

    def __call__(
        self, scaled: np.ndarray, so_far: ObsStats, seen: np.ndarray | list[bool] | None
    ) -> np.ndarray:
        # Called once per lock-step: a few dozen numpy calls on (rows, inputs) arrays, each
        # prefix sum taken as an inclusive cumsum minus the row itself.
        n = len(scaled)
        rows = scaled.reshape(n, -1).astype(np.float64)
        if seen is None or all(seen):
            x, mask = rows, np.ones(n)
        else:
            mask = np.asarray(seen, dtype=np.float64)
            x = rows * mask[:, None]
        start = self.base.count + so_far.count
        count = (np.cumsum(mask) - mask + start)[:, None]
        total = np.cumsum(x, axis=0) - x + (self.base.total + so_far.total).reshape(1, -1)
        x_sq = x * x
        sq = self.base.total_sq + so_far.total_sq
        total_sq = np.cumsum(x_sq, axis=0) - x_sq + sq.reshape(1, -1)
        rule = self.rule
        if start == self.prior_count and rule.unseen_std is not None:  # the run's first step
            unseen = count[:, 0] == self.prior_count
            count[unseen] += 1.0  # rows before any observation: any valid count, replaced below
            mean, std = rule.mean_std(count, total, total_sq)
            mean[unseen], std[unseen] = 0.0, rule.unseen_std
        else:
            mean, std = rule.mean_std(count, total, total_sq)
        out = (rows - mean) / std
        if rule.clip is not None:
            out = np.clip(out, -rule.clip, rule.clip)
        return out.reshape(scaled.shape).astype(np.float32)


class RunningObsNorm:
    """Running mean / std of (scaled) observations from collected :class:`ObsStats`.

    The collected statistics are folded in at the end of each generation. Training rollouts
    apply :meth:`for_rollouts`: with a per-step rule they also fold in as they go, child by
    child, so the rows of one worker depend on each other (hence one worker; see
    ``PopulationMethod``); otherwise a generation's episodes all see the same normalisation and
    every backend and worker count gives the same run (OpenAI-ES's workers update from 1% of
    their rollouts; folding once per generation is this harness's choice).
    """

    def __init__(self, shape: Sequence[int], rule: NormRule = OPENAI_ES) -> None:
        count = float(np.prod(shape)) if rule.prior_count is None else rule.prior_count
        self.stats = ObsStats(count, np.zeros(shape), np.full(shape, rule.prior_sq))
        self.rule, self.prior_count = rule, count

    def update(self, stats: ObsStats | None) -> None:
        self.stats = self.stats.merge(stats)

    @property
    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        s, rule = self.stats, self.rule
        if rule.unseen_std is not None and s.count == self.prior_count:
            shape = s.total.shape
            return np.zeros(shape, np.float32), np.full(shape, rule.unseen_std, np.float32)
        mean, std = rule.mean_std(s.count, s.total, s.total_sq)
        return mean.astype(np.float32), std.astype(np.float32)

    def current(self) -> ObsNorm:
        """The normalisation as it stands, to hand to policies (tests, evaluations)."""
        return ObsNorm(*self.mean_std, self.rule.clip)

    def for_rollouts(self, per_step: bool | None = None) -> ObsNorm | FoldingObsNorm:
        """What training rollouts apply: :meth:`current`, or a :class:`FoldingObsNorm` from the
        statistics as they stand when folding per step (``per_step``; None: the rule's)."""
        if not (self.rule.per_step if per_step is None else per_step):
            return self.current()
        s = self.stats
        base = ObsStats(s.count, s.total.copy(), s.total_sq.copy())
        return FoldingObsNorm(base, self.rule, self.prior_count)

    def state_dict(self) -> dict[str, Any]:
        return {
            "count": self.stats.count,
            "total": self.stats.total,
            "total_sq": self.stats.total_sq,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.stats = ObsStats(state["count"], state["total"], state["total_sq"])

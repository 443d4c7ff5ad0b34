"""Genome encodings: compact descriptions of K policies that workers turn into weights.

Only compact genome descriptions cross a process boundary, as in the Deep GA and OpenAI-ES
(Such et al. 2017, arXiv 1712.06567; Salimans et al. 2017, arXiv 1703.03864): a worker turns a
:class:`GenomeBatch` into weights itself, one genome at a time, straight into the row of the
env slot that runs it. Three encodings:

- :class:`SeedChains`: Deep GA ``(init_seed, (seed, power), ...)``; parents are cached.
- :class:`DenseGenomes`: full vectors; they DO cross as-is (for CMA-ES on small linear nets).
- :class:`Perturbations`: ``mean + sign * sigma * noise[idx : idx + P]``; the mean is sent once
  per generation with ``Evaluator.broadcast``, the noise table is rebuilt from its seed.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bench.population.networks import PolicyNet

Chain = tuple  # (init_seed, (seed, power), (seed, power), ...)


@dataclass(frozen=True)
class NoiseTable:
    """A shared block of N(0, 1) float32 noise, rebuilt in each process from (size, seed)."""

    size: int = 25_000_000
    seed: int = 123

    def array(self) -> np.ndarray:
        key = (self.size, self.seed)
        if key not in _NOISE:
            _NOISE[key] = np.random.default_rng(self.seed).standard_normal(self.size, np.float32)
        return _NOISE[key]

    def get(self, index: int, dim: int) -> np.ndarray:
        return self.array()[index : index + dim]

    def sample_index(self, rng: np.random.Generator, dim: int, n: int) -> np.ndarray:
        return rng.integers(0, self.size - dim + 1, size=n, dtype=np.int64)


_NOISE: dict[tuple[int, int], np.ndarray] = {}


class GenomeStore:
    """Worker-local state used to materialise genomes: the net, broadcast vectors, caches.

    ``keep``: seed chains whose weights survive a call (the best by return; see SeedChains).
    What the last two calls kept is cached, so an elite-validation call in between does not
    evict the parents of the next generation.
    """

    def __init__(self, net: PolicyNet, keep: int = 32) -> None:
        self.net, self.keep = net, keep
        self.shared: dict[str, np.ndarray] = {}
        self.chains: dict[Chain, np.ndarray] = {}
        self.recent: dict[Chain, np.ndarray] = {}  # what the last call kept
        self._scratch = np.empty(0, np.float32)

    def scratch(self, size: int) -> np.ndarray:
        """A reused (size,) float32 buffer: a fresh 16 MB noise array per mutation of the Deep GA
        net costs page faults on every draw (~20% of a rebuild)."""
        if self._scratch.size != size:
            self._scratch = np.empty(size, np.float32)
        return self._scratch


class GenomeBatch(ABC):
    """K genomes in a compact form; ``materialise(i, store)`` -> (P,) float32 weights."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def select(self, index: np.ndarray) -> GenomeBatch:
        """The genomes at integer positions ``index``, in that order."""

    @abstractmethod
    def materialise(self, i: int, store: GenomeStore) -> np.ndarray: ...

    def end(self, store: GenomeStore, fitness: np.ndarray) -> None:  # noqa: B027  (optional)
        """Called after a call's episodes with the mean returns (e.g. to choose what to cache)."""

    @abstractmethod
    def nbytes(self) -> int:
        """Bytes that cross a process boundary for this batch (for the records)."""

    def assign(self, workers: int, owners: dict[Any, int]) -> list[np.ndarray]:
        """Positions for each worker: ``workers`` contiguous, balanced chunks by default."""
        bounds = np.linspace(0, len(self), workers + 1).round().astype(int)
        return [np.arange(a, b) for a, b in itertools.pairwise(bounds)]


@dataclass
class SeedChains(GenomeBatch):
    """Deep GA genomes: ``theta = init(seed0) + sum_i power_i * N(0, I; seed_i)`` in order.

    Rebuilding repeats the same float32 operations, so weights are bit-identical however much
    came from a cache. A worker caches the ancestors it builds during a call and, after it,
    keeps the ``store.keep`` best genomes by return (the GA's parents-to-be, when keep >= T);
    the process and Ray backends send children to the worker that holds their parent, so a
    child usually costs one noise draw.
    """

    chains: list[Chain]

    def __len__(self) -> int:
        return len(self.chains)

    def select(self, index: np.ndarray) -> SeedChains:
        return SeedChains([self.chains[i] for i in index])

    def nbytes(self) -> int:
        return sum(chain_nbytes(c) for c in self.chains)

    def materialise(self, i: int, store: GenomeStore) -> np.ndarray:
        return chain_params(self.chains[i], store)

    def end(self, store: GenomeStore, fitness: np.ndarray) -> None:
        best = [self.chains[i] for i in np.argsort(-fitness, kind="stable")[: store.keep]]
        kept = {c: chain_params(c, store) for c in dict.fromkeys(best)}
        store.chains = {**store.recent, **kept}  # ancestors built during the call are dropped
        store.recent = kept

    def assign(self, workers: int, owners: dict[Any, int]) -> list[np.ndarray]:
        """Each chain to the worker holding its parent (or itself), within balanced capacity."""
        capacity = -(-len(self) // workers)
        slots: list[list[int]] = [[] for _ in range(workers)]
        rest = []
        for i, chain in enumerate(self.chains):
            owner = owners.get(chain, owners.get(chain[:-1]))
            if owner is not None and owner < workers and len(slots[owner]) < capacity:
                slots[owner].append(i)
            else:
                rest.append(i)
        for i in rest:  # to the least loaded worker (first on ties): deterministic
            min(slots, key=len).append(i)
        return [np.asarray(s, dtype=np.int64) for s in slots]


def chain_nbytes(chain: Chain) -> int:
    return 8 + 12 * (len(chain) - 1)  # int64 init seed + (int64 seed, float32 power) each


def chain_params(chain: Chain, store: GenomeStore) -> np.ndarray:
    """Weights of one seed chain from its longest cached prefix; its parent is cached too
    (siblings share it; caching every ancestor of a long chain would cost L x P floats)."""
    start = len(chain)
    while start > 0 and chain[:start] not in store.chains:
        start -= 1
    if start == len(chain):
        return store.chains[chain].copy()
    if start == 0:
        theta, start = store.net.init_params(int(chain[0])), 1
    else:
        theta = store.chains[chain[:start]].copy()
    noise = store.scratch(theta.size)
    for j in range(start, len(chain)):
        if j == len(chain) - 1 and chain[:j] not in store.chains:  # not setdefault: it would
            store.chains[chain[:j]] = theta.copy()  # copy 16 MB even when the parent is cached
        seed, power = chain[j]
        # In place, the same float32 draws and products as ``theta += power * N(seed)``.
        np.random.default_rng(int(seed)).standard_normal(dtype=np.float32, out=noise)
        noise *= np.float32(power)
        theta += noise
    return theta


@dataclass
class DenseGenomes(GenomeBatch):
    """Full (K, P) float32 vectors; they cross process boundaries as they are."""

    params: np.ndarray

    def __len__(self) -> int:
        return len(self.params)

    def select(self, index: np.ndarray) -> DenseGenomes:
        return DenseGenomes(self.params[index])

    def nbytes(self) -> int:
        return int(self.params.nbytes)

    def materialise(self, i: int, store: GenomeStore) -> np.ndarray:
        return np.asarray(self.params[i], dtype=np.float32)


@dataclass
class Perturbations(GenomeBatch):
    """``shared[mean] + signs[i] * sigma * noise.get(indices[i], P)`` (sign 0: the mean)."""

    indices: np.ndarray
    signs: np.ndarray
    sigma: float
    noise: NoiseTable = field(default_factory=NoiseTable)
    mean: str = "mean"

    def __len__(self) -> int:
        return len(self.indices)

    def select(self, index: np.ndarray) -> Perturbations:
        return replace(self, indices=self.indices[index], signs=self.signs[index])

    def nbytes(self) -> int:
        return int(self.indices.nbytes + self.signs.nbytes) + 8

    def materialise(self, i: int, store: GenomeStore) -> np.ndarray:
        mean = store.shared[self.mean]
        scale = np.float32(self.signs[i] * self.sigma)
        return mean + scale * self.noise.get(int(self.indices[i]), mean.size)

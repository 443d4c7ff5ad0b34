"""Benchmark 5: the Deep GA seed-chain encoding, bytes per genome and the cost of rebuilding it.

The network is the Deep GA "LargeModel" (Such et al. 2017: 4,052,658 parameters with 18 actions;
Pong has 6 actions here, as the harness would build it). A genome after G generations is the
chain ``(init_seed, (seed_1, power_1), ..., (seed_G, power_G))``: ``8 + 12 G`` bytes (what
``SeedChains.nbytes`` charges), against ``4 P`` bytes of float32 weights.

Rebuild time of one child's weights (median of ``--repeats``), through the harness's own
``chain_params``:

- ``no_cache``: from scratch, an empty :class:`GenomeStore`: the init draw plus G noise draws;
- ``parent_cached``: the parent's weights are in the store (as a worker keeps the GA's parents
  between generations): a copy plus one noise draw, whatever G is.

Both rebuilds are checked to be bit-identical.

    python benchmarks/ga_encoding.py             # ~1 minute
    python benchmarks/ga_encoding.py --tiny      # seconds
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, table, write

from bench.population.genomes import GenomeStore, SeedChains, chain_nbytes, chain_params
from bench.population.networks import NetSpec

PIXELS = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)


def chain(generations: int) -> tuple:
    """A chain ``generations`` mutations deep (Deep GA mutation power 0.002)."""
    return (1, *((1000 + g, 0.002) for g in range(generations)))


def rebuild_seconds(store_factory, genome: tuple, repeats: int) -> tuple[float, np.ndarray]:
    times, theta = [], None
    for _ in range(repeats):
        store = store_factory()
        start = time.perf_counter()
        theta = chain_params(genome, store)
        times.append(time.perf_counter() - start)
    assert theta is not None
    return statistics.median(times), theta


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    repeats = 1 if args.tiny else args.repeats
    spec = NetSpec.for_env("large_cnn", PIXELS, gym.spaces.Discrete(6), "atari")
    net = spec.build()
    weight_bytes = 4 * net.num_params
    depths = (1, 4) if args.tiny else (1, 10, 50, 200)
    rows = []
    for g in (*depths, 1000):
        genome = chain(g)
        row = {"generations": g, "params": net.num_params, "genome_bytes": chain_nbytes(genome),
               "weight_bytes": weight_bytes,
               "weights_over_genome": weight_bytes / chain_nbytes(genome)}  # fmt: skip
        assert SeedChains([genome]).nbytes() == row["genome_bytes"]
        if g in depths:  # 1000 generations: bytes only (a from-scratch rebuild takes minutes)
            no_cache, full = rebuild_seconds(lambda: GenomeStore(net), genome, repeats)

            def with_parent(genome: tuple = genome) -> GenomeStore:
                store = GenomeStore(net)
                store.chains[genome[:-1]] = chain_params(genome[:-1], GenomeStore(net))
                return store

            cached, fast = rebuild_seconds(with_parent, genome, repeats)
            assert np.array_equal(full, fast), "cached rebuild differs"
            row.update(no_cache_s=no_cache, parent_cached_s=cached,
                       cache_speedup=no_cache / cached)  # fmt: skip
        rows.append(row)
        print(f"G={g}: {row['genome_bytes']} B vs {weight_bytes} B", flush=True)
    print(table(rows, ["generations", "genome_bytes", "weight_bytes", "weights_over_genome",
                       "no_cache_s", "parent_cached_s", "cache_speedup"]))  # fmt: skip
    write("ga_encoding", rows, args.out, network="large_cnn (Deep GA), Pong: 6 actions")


if __name__ == "__main__":
    main()

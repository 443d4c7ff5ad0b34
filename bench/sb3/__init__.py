"""The stable-baselines3 adapter (:mod:`bench.sb3.adapter`) and the algorithms it registers
(:mod:`bench.sb3.algorithms`)."""

"""Gradient-free strategies, one per module behind ask/tell; each module registers its method.

A new method is one module here (a :class:`~bench.population.strategy.Strategy` and a registered
:class:`~bench.population.method.PopulationMethod`) and ``bench/conf/algo/<name>.yaml``.
"""
